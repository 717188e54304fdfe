from django.contrib import admin
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from notifications.metrics import metrics_view


def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the notifier's database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return JsonResponse({"status": "unavailable", "database": str(exc).strip()[:200]}, status=503)
    return JsonResponse({"status": "ready", "database": "ok"})


# each service's admin says which service it is (both run side by side under `make run`)
admin.site.site_header = "Notifier administration"
admin.site.site_title = "Notifier admin"
admin.site.index_title = "Inbox, notifications, deliveries and webhook endpoints"
admin.site.enable_nav_sidebar = False  # its lists are wide: every column an operator needs, on one line

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("notifications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics_view),
]

handler400 = "codegen_api.errors.json_bad_request"
handler404 = "codegen_api.errors.json_not_found"
handler500 = "codegen_api.errors.json_server_error"
