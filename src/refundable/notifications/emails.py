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
HeadersBuilder = Callable[[dict[str, Any]], dict[str, str]]
_BUILDERS: dict[str, ContextBuilder] = {}
_HEADERS: dict[str, HeadersBuilder] = {}


def context_builder(name: str) -> Callable[[ContextBuilder], ContextBuilder]:
    """Register how the job turns the queued ids into a template context."""
    def register(function: ContextBuilder) -> ContextBuilder:
        _BUILDERS[name] = function
        return function

    return register


def headers_builder(name: str) -> Callable[[HeadersBuilder], HeadersBuilder]:
    """Register the extra headers of a template's e-mails (Reply-To, Message-ID,
    In-Reply-To…), computed by the job from the full template context."""
    def register(function: HeadersBuilder) -> HeadersBuilder:
        _HEADERS[name] = function
        return function

    return register


def _full_context(template: str, language: str, context: dict[str, Any]) -> dict[str, Any]:
    builder = _BUILDERS.get(template)
    return {**context, **(builder(context) if builder else {}), "language": language}


def _language(language: str) -> str:
    return language if language in ("fr", "en") else "en"


def email_render(*, template: str, language: str, context: dict[str, Any]) \
        -> tuple[str, str, str]:
    """(subject, text body, HTML body) in ``language`` ("fr" or "en")."""
    language = _language(language)
    return _render(template, language, _full_context(template, language, context))


def _render(template: str, language: str, full: dict[str, Any]) -> tuple[str, str, str]:
    with translation.override(language):
        base = f"emails/{template}/"
        subject = render_to_string(f"{base}subject.{language}.txt", full).strip()
        text = render_to_string(f"{base}body.{language}.txt", full)
        html = render_to_string(f"{base}body.{language}.html", full)
    return " ".join(subject.split()), text, html


def email_message(*, template: str, to: str, language: str,
                  context: dict[str, Any]) -> EmailMultiAlternatives:
    """The e-mail as it will be sent: rendered in ``language``, with the template's extra
    headers (see ``headers_builder``)."""
    language = _language(language)
    full = _full_context(template, language, context)
    subject, text, html = _render(template, language, full)
    headers_of = _HEADERS.get(template)
    headers = headers_of(full) if headers_of else {}
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to],
                                     headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def email_send_now(*, template: str, to: str, language: str, context: dict[str, Any]) -> None:
    """Render and send through the configured SMTP server (called by the job)."""
    email_message(template=template, to=to, language=language, context=context).send()


@context_builder("cancellation_confirmed")
@context_builder("cancellation_undone")
def _subscription_context(context: dict[str, Any]) -> dict[str, Any]:
    from ..subscriptions.models import Subscription

    subscription = Subscription.objects.select_related("customer", "plan__product").get(
        pk=context["subscription_id"])
    return {"subscription": subscription, "customer": subscription.customer}
