from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "refundable.api"
    label = "api"
