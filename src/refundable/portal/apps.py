from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refundable.portal"
    label = "portal"

    def ready(self) -> None:
        from . import emails  # noqa: F401  (registers the e-mail context builders)
