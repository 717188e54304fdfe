"""What both services' HTTP APIs share: the JSON error, strict pagination and the OpenAPI schema's error
responses (Django REST framework and drf-spectacular; the ``api`` extra)."""
