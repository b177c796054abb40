"""Rendering and sending e-mails. Templates live in ``templates/emails/<name>/`` as
``subject.<lang>.txt``, ``body.<lang>.txt`` and ``body.<lang>.html`` (French and English)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

ContextBuilder = Callable[[dict[str, Any]], dict[str, Any]]
_BUILDERS: dict[str, ContextBuilder] = {}


def context_builder(name: str) -> Callable[[ContextBuilder], ContextBuilder]:
    """Register how the job turns the queued ids into a template context."""
    def register(function: ContextBuilder) -> ContextBuilder:
        _BUILDERS[name] = function
        return function

    return register


def email_render(*, template: str, language: str, context: dict[str, Any]) \
        -> tuple[str, str, str]:
    """(subject, text body, HTML body) in ``language`` ("fr" or "en")."""
    language = language if language in ("fr", "en") else "en"
    builder = _BUILDERS.get(template)
    full = {**context, **(builder(context) if builder else {}), "language": language}
    with translation.override(language):
        base = f"emails/{template}/"
        subject = render_to_string(f"{base}subject.{language}.txt", full).strip()
        text = render_to_string(f"{base}body.{language}.txt", full)
        html = render_to_string(f"{base}body.{language}.html", full)
    return " ".join(subject.split()), text, html


def email_send_now(*, template: str, to: str, language: str, context: dict[str, Any]) -> None:
    """Render and send through the configured SMTP server (called by the job)."""
    subject, text, html = email_render(template=template, language=language, context=context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


@context_builder("cancellation_confirmed")
@context_builder("cancellation_undone")
def _subscription_context(context: dict[str, Any]) -> dict[str, Any]:
    from ..subscriptions.models import Subscription

    subscription = Subscription.objects.select_related("customer", "plan__product").get(
        pk=context["subscription_id"])
    return {"subscription": subscription, "customer": subscription.customer}
