from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refundable.refunds"
    label = "refunds"

    def ready(self) -> None:
        from . import emails  # noqa: F401  (registers the e-mail context builders)
