from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refundable.refunds"
    label = "refunds"
