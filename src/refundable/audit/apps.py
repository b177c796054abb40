from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "refundable.audit"
    label = "audit"
