"""Webhook pages of the desk, at /desk/webhooks/ (staff only; endpoint changes for operators)."""

from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("endpoints/new/", views.endpoint_new, name="endpoint_new"),
    path("endpoints/<int:endpoint_id>/", views.endpoint_detail, name="endpoint"),
    path("endpoints/<int:endpoint_id>/active/", views.endpoint_active, name="endpoint_active"),
    path("endpoints/<int:endpoint_id>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:delivery_id>/", views.delivery, name="delivery"),
    path("deliveries/<int:delivery_id>/retry/", views.delivery_retry, name="delivery_retry"),
]
