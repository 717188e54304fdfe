from django.urls import path
from rest_framework.routers import SimpleRouter

from notifications.api import endpoints, operations, views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("webhook-endpoints", endpoints.WebhookEndpointViewSet, basename="webhook-endpoint")
urlpatterns = [
    path("held/", views.HeldMessageList.as_view(), name="held-list"),
    path("held/replay/", operations.HeldReplayView.as_view(), name="held-replay"),
    path("held/summary/", views.HeldSummary.as_view(), name="held-summary"),
    path("held/<str:id>/", views.HeldMessageDetail.as_view(), name="held-detail"),
    path("deliveries/retry/", operations.DeliveryRetryView.as_view(), name="deliveries-retry"),
    path("gaps/", views.GapList.as_view(), name="gap-list"),
    *router.urls,
]
