from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "refundable.desk"
    label = "desk"

    def ready(self) -> None:
        from . import emails  # noqa: F401  (registers the e-mail context builders)
