from django.urls import path
from rest_framework.routers import SimpleRouter

from projects.api import views

router = SimpleRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("generated-projects", views.GeneratedProjectViewSet, basename="generated-project")
router.register("exports", views.RepositoryExportViewSet, basename="export")

urlpatterns = [
    path(
        "generated-projects/<int:generated_project_id>/files/",
        views.ProjectFileListView.as_view(),
        name="project-file-list",
    ),
    path(
        "generated-projects/<int:generated_project_id>/files/<int:pk>/",
        views.ProjectFileDetailView.as_view(),
        name="project-file-detail",
    ),
    *router.urls,
]
