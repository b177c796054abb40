"""E-mail: rendered from templates in the recipient's language and sent by a job on commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def email_enqueue(*, template: str, to: str, language: str, context: dict[str, Any]) -> None:
    """Queue an e-mail; the job renders and sends it once the transaction commits.

    ``context`` holds ids and plain values only (the job reloads what it needs).
    """
    from .tasks import send_email

    transaction.on_commit(lambda: send_email.enqueue(template=template, to=to,
                                                     language=language, context=context))
