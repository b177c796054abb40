from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "refundable.customers"
    label = "customers"
