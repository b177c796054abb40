"""Jobs run by the worker (``refundable worker``)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from .emails import email_send_now


@task()
def send_email(*, template: str, to: str, language: str, context: dict[str, Any]) -> None:
    email_send_now(template=template, to=to, language=language, context=context)
