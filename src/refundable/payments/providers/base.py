"""The interface every payment provider implements (sandbox, Stripe, manual).

A provider moves money; Refundable decides and records. The contract:

- ``refund_create`` is called *outside* any database transaction of ours, with our refund id as
  the idempotency key: calling it twice with the same ``refund_id`` must never refund twice
  (the provider answers the first refund again).
- It raises ``ProviderDeclined`` when the provider answered and refused (nothing moved), and
  ``ProviderUnavailable`` when the answer was lost (timeout, connection reset, 5xx): the refund
  may or may not exist, so the caller records ``unknown`` and never retries blindly.
- ``refund_find`` asks the provider what became of one of our refunds (by its provider id when
  we know it, else by our id in the refund's metadata). ``None`` means the provider has no such
  refund: the call never arrived, and sending it again is safe.
- ``webhook_parse`` verifies a webhook's signature and turns it into provider-neutral events;
  ``WebhookSignatureError`` when the signature or the payload is wrong.

Amounts are integers in the currency's minor unit, currencies ISO 4217 upper-case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

RefundStatus = Literal["pending", "succeeded", "failed", "canceled"]
DisputeStatus = Literal["needs_response", "under_review", "won", "lost"]
EventKind = Literal["refund.updated", "dispute.updated"]


class ProviderError(Exception):
    """Base of the errors a provider raises (message for people, no secrets)."""


class ProviderDeclined(ProviderError):
    """The provider answered and refused the refund: nothing moved."""

    def __init__(self, message: str, code: str = "declined") -> None:
        super().__init__(message)
        self.code = code


class ProviderUnavailable(ProviderError):
    """No usable answer (timeout, connection lost, server error): the outcome is unknown."""


class WebhookSignatureError(ProviderError):
    """A webhook whose signature, timestamp or payload does not check out."""


@dataclass(frozen=True)
class ProviderRefund:
    """The provider's view of one refund."""

    provider_refund_id: str
    charge_reference: str
    amount: int
    currency: str
    status: RefundStatus
    refund_id: str = ""  # ours, from the metadata; "" for a refund made outside Refundable
    failure_reason: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class ProviderDispute:
    """The provider's view of one dispute (chargeback)."""

    provider_dispute_id: str
    charge_reference: str
    amount: int
    currency: str
    reason: str
    status: DisputeStatus
    evidence_due_by: datetime | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """One verified webhook event, provider-neutral. ``event_id`` is unique per provider and
    makes processing idempotent."""

    event_id: str
    kind: EventKind
    refund: ProviderRefund | None = None
    dispute: ProviderDispute | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def refund_create(self, *, refund_id: str, charge_reference: str, amount: int,
                      currency: str, metadata: Mapping[str, str]) -> ProviderRefund:
        """Refund ``amount`` of the charge to its original payment method (see module doc)."""
        ...

    def refund_find(self, *, refund_id: str, provider_refund_id: str,
                    charge_reference: str) -> ProviderRefund | None:
        """What became of our refund ``refund_id``; None if the provider never saw it."""
        ...

    def webhook_parse(self, *, payload: bytes, headers: Mapping[str, str]
                      ) -> list[ProviderEvent]:
        """Verify and decode a webhook (``headers`` keys lower-case)."""
        ...
