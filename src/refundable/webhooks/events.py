"""The registry of webhook event types: the one place that lists what integrators can receive.

Add a type here (name and a one-line description for the desk and the docs) before any code
emits it; ``webhook_event_emit`` refuses types that are not listed. Subscriptions name exact
types, a family with a wildcard (``refund.*``) or everything (``*``).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

EVENT_TYPES: dict[str, Promise] = {
    "refund_request.created": _("A customer asked for a refund"),
    "refund_request.decided": _("The refund policy decided a refund request"),
    "refund_request.approved": _("A refund request was approved"),
    "refund_request.denied": _("A refund request was denied"),
    "refund_request.closed": _("A refund request was closed"),
    "refund.created": _("A refund was created for execution"),
    "refund.succeeded": _("The provider confirmed a refund"),
    "refund.failed": _("The provider refused a refund"),
    "refund.canceled": _("A refund was canceled before execution"),
    "refund.unknown": _("A refund's outcome is unknown until reconciliation"),
    "refund.updated": _("A refund changed otherwise"),
    "subscription.canceled": _("A subscription was canceled (now or at the term end)"),
    "subscription.cancellation_undone": _("A cancellation scheduled for the term end was undone"),
    "subscription.auto_renewal_changed": _("Auto-renewal was turned on or off"),
    "dispute.created": _("A customer opened a dispute (chargeback)"),
    "dispute.updated": _("A dispute changed"),
    "dispute.closed": _("A dispute was closed"),
}

WILDCARD = "*"


def families() -> list[str]:
    """``["dispute", "refund", …]``: the part before the dot of every known type."""
    return sorted({name.split(".", 1)[0] for name in EVENT_TYPES})


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid subscription (None when it is): ``*``, ``family.*`` of
    a known family, or a known type."""
    if pattern == WILDCARD or pattern in EVENT_TYPES:
        return None
    if pattern.endswith(".*") and pattern[:-2] in families():
        return None
    known = ", ".join([WILDCARD, *(f"{f}.*" for f in families())])
    return (f"unknown event type {pattern!r}: use a known type (such as refund.succeeded) or "
            f"one of {known}")


def pattern_matches(pattern: str, event_type: str) -> bool:
    """Whether a subscription ``pattern`` covers ``event_type`` (exact, family or ``*``)."""
    if pattern in (WILDCARD, event_type):
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def subscribes(patterns: list[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


def pattern_choices() -> list[tuple[str, str]]:
    """Every pattern an operator can tick: everything, each family, each type."""
    choices: list[tuple[str, str]] = [(WILDCARD, str(_("All events (*)")))]
    choices += [(f"{f}.*", f"{f}.*") for f in families()]
    choices += [(name, f"{name} — {description}") for name, description in EVENT_TYPES.items()]
    return choices
