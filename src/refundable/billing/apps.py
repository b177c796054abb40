from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "refundable.billing"
    label = "billing"

    def ready(self) -> None:
        from . import emails  # noqa: F401  (registers the e-mail context builders)
