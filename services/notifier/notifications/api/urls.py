from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter()
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("held", views.HeldMessageViewSet, basename="held")
router.register("gaps", views.GapViewSet, basename="gap")
urlpatterns = router.urls
