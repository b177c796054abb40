from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refundable.portal"
    label = "portal"
