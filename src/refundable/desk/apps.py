from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "refundable.desk"
    label = "desk"
