from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "refundable.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import emails  # noqa: F401  (registers the e-mail context builder)
