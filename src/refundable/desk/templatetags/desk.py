"""Template filters of the desk: money in the page's language, labels of codes."""

from __future__ import annotations

from django import template
from django.utils import translation

from ...policy.money import format_money
from ..labels import label as label_of

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    """``{{ charge.amount|money:charge.currency }}`` → €89.99 / 89,99 €."""
    if amount is None:
        return ""
    language = (translation.get_language() or "en")[:2]
    return format_money(int(amount), currency, "fr" if language == "fr" else "en")


@register.filter
def label(code: str | None) -> str:
    return label_of(code)


@register.filter
def message_in(payload: dict[str, object], language: str) -> str:
    """The decision's customer message in ``language`` (the one frozen with it otherwise)."""
    messages = payload.get("messages")
    if isinstance(messages, dict) and isinstance(messages.get(language), str):
        return str(messages[language])
    return str(payload.get("message") or "")


@register.simple_tag
def inbound_to_review() -> int:
    """How many received e-mails wait for an agent (for the desk's menu)."""
    from ..selectors import inbound_to_review_count

    return inbound_to_review_count()
