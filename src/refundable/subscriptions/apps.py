from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "refundable.subscriptions"
    label = "subscriptions"
