from django.contrib import admin
from django.urls import include, path
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from outbox import api as outbox_api
from projects_service.health import healthz, readyz

# each service's admin says which service it is (both run side by side under `make run`)
admin.site.site_header = "Projects administration"
admin.site.site_title = "Projects admin"
admin.site.index_title = "Projects, generated projects and the outbox"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/outbox/", outbox_api.OutboxList.as_view(), name="outbox-list"),
    path("api/v1/outbox/stats/", outbox_api.OutboxStats.as_view(), name="outbox-stats"),
    path("api/v1/outbox/replay/", outbox_api.OutboxReplayView.as_view(), name="outbox-replay"),
    path("api/v1/outbox/<uuid:event_id>/", outbox_api.OutboxDetail.as_view(), name="outbox-detail"),
    path("api/v1/", include("projects.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", ExportToDjangoView, name="metrics"),
]

handler400 = "codegen_api.errors.json_bad_request"
handler404 = "codegen_api.errors.json_not_found"
handler500 = "codegen_api.errors.json_server_error"
