from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    name = "refundable.api"
    label = "api"

    def ready(self) -> None:
        from ..refunds.models import Decision
        from .rendering import decision_forget

        # Decisions are never edited, but tests roll back and reuse ids: a decision written
        # in this process must not be answered from the rendered-decision cache.
        post_save.connect(decision_forget, sender=Decision, dispatch_uid="api.decision_forget")
        post_delete.connect(decision_forget, sender=Decision,
                            dispatch_uid="api.decision_forget_deleted")
