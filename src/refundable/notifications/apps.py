from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "refundable.notifications"
    label = "notifications"
