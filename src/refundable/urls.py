"""URL map: the customer portal at /, the desk at /desk/, the API at /api/v1/."""

from django.contrib import admin
from django.urls import include, path

from refundable.payments.views import provider_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("desk/money/", include("refundable.payments.urls")),
    path("desk/webhooks/", include("refundable.webhooks.urls")),
    path("desk/", include("refundable.desk.urls")),
    path("webhooks/<slug:provider>/", provider_webhook, name="provider_webhook"),
    path("api/v1/", include("refundable.api.urls")),
    path("", include("refundable.portal.urls")),
]
