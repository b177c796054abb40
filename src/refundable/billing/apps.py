from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "refundable.billing"
    label = "billing"
