from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "refundable.catalog"
    label = "catalog"
