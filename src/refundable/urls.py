"""URL map: the customer portal at /, the desk at /desk/, the API at /api/v1/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("desk/", include("refundable.desk.urls")),
    path("api/v1/", include("refundable.api.urls")),
    path("", include("refundable.portal.urls")),
]
