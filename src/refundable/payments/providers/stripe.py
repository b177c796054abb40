"""The Stripe adapter: refunds through Stripe's Refunds API, webhooks from Stripe's endpoints.

Built on the official ``stripe`` SDK (``StripeClient``, API version pinned by the SDK). What it
adds is the translation to the provider-neutral contract of ``base``:

- our refund id is the ``Idempotency-Key`` of the create call *and* the ``refundable_refund_id``
  metadata of the refund, so a lost answer can be found again (``refund_find``) after Stripe's
  idempotency window (24 hours) has passed;
- Stripe's errors become ``ProviderDeclined`` (Stripe answered and refused: card and
  invalid-request errors), ``ProviderUnavailable`` (no usable answer: connection lost, timeout,
  rate limit, 5xx, idempotency conflict) or a plain ``ProviderError`` (our configuration: the
  API key is wrong or lacks a permission). Messages never contain the key.
- webhooks are checked with the SDK's signature check (``Stripe-Signature``, 300 s tolerance) and
  decoded to ``ProviderEvent``s; event types we do not use give ``[]``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import stripe
from django.utils.translation import gettext as _

from .base import (
    DisputeStatus,
    ProviderDeclined,
    ProviderDispute,
    ProviderError,
    ProviderEvent,
    ProviderRefund,
    ProviderUnavailable,
    RefundStatus,
    WebhookSignatureError,
)

if TYPE_CHECKING:
    from stripe.params import RefundCreateParams, RefundListParams

logger = logging.getLogger(__name__)

METADATA_KEY: Final = "refundable_refund_id"
WEBHOOK_TOLERANCE_SECONDS: Final = 300
# Stripe accepts idempotency keys of up to 255 characters.
_REFUND_ID_MAX = 255
# Charge objects are ch_… (cards) or py_… (other payment methods); PaymentIntents pi_….
_CHARGE_ID = re.compile(r"^(?:ch|py)_[A-Za-z0-9]+$")
_PAYMENT_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9]+$")

_REFUND_STATUSES: Final[Mapping[str, RefundStatus]] = {
    # requires_action: the customer must do something (e.g. give bank details) before money
    # moves; for us it is still in flight.
    "requires_action": "pending",
    "pending": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}
_DISPUTE_STATUSES: Final[Mapping[str, DisputeStatus]] = {
    "warning_needs_response": "needs_response",
    "needs_response": "needs_response",
    "appeal_needs_response": "needs_response",
    "warning_under_review": "under_review",
    "under_review": "under_review",
    "appeal_under_review": "under_review",
    "won": "won",
    # An inquiry closed without becoming a chargeback, or a chargeback stopped before it was
    # filed (dispute prevention): no funds are withdrawn, so for us the merchant kept them.
    "warning_closed": "won",
    "prevented": "won",
    "lost": "lost",
}
_REFUND_EVENTS: Final = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
_DISPUTE_EVENTS: Final = frozenset({
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"})


class _Malformed(Exception):
    """A Stripe object without the fields we need (message names the field)."""


class StripeProvider:
    """Refunds and webhooks through one Stripe account.

    ``api_key`` is a secret (``sk_…``) or restricted (``rk_…``) key with write access to
    refunds and read access to charges; ``webhook_secret`` the endpoint's signing secret
    (``whsec_…``). ``http_client`` replaces the SDK's HTTP client (tests replay recorded
    responses through it); otherwise requests go through ``stripe.RequestsClient`` with
    ``timeout`` seconds. ``max_network_retries`` is 0 by default: an unanswered create becomes
    ``ProviderUnavailable`` at once and the reconciler resolves it with ``refund_find``; when
    raised, the SDK retries with the same idempotency key, so a retry never refunds twice.
    """

    name = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str,
                 http_client: stripe.HTTPClient | None = None, timeout: float = 30.0,
                 max_network_retries: int = 0) -> None:
        api_key = (api_key or "").strip()
        if not api_key:
            raise ProviderError(_("Stripe is not configured: the API key "
                                  "(REFUNDABLE_STRIPE_API_KEY) is empty."))
        if api_key.startswith("pk_"):
            raise ProviderError(_("The Stripe API key (REFUNDABLE_STRIPE_API_KEY) is a "
                                  "publishable key; refunds need a secret key (sk_…) or a "
                                  "restricted key (rk_…)."))
        self._webhook_secret = (webhook_secret or "").strip()
        self._client = stripe.StripeClient(
            api_key,
            http_client=http_client or stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,
        )

    # -- refunds ------------------------------------------------------------------------------

    def refund_create(self, *, refund_id: str, charge_reference: str, amount: int,
                      currency: str, metadata: Mapping[str, str]) -> ProviderRefund:
        """Refund ``amount`` (minor unit of the charge's currency) of a Charge (``ch_…``,
        ``py_…``) or PaymentIntent (``pi_…``), with ``refund_id`` as idempotency key and in the
        metadata next to ``metadata``. Bad input is declined before any call to Stripe.

        ``currency`` is not sent: Stripe refunds in the currency of the charge, and the result
        carries the currency Stripe reports (upper-case).
        """
        field = _reference_field(charge_reference)
        if field is None:
            raise ProviderDeclined(
                _("“%(reference)s” is not a Stripe charge (ch_…, py_…) or payment intent "
                  "(pi_…).") % {"reference": charge_reference},
                code="invalid_charge_reference")
        if not refund_id or len(refund_id) > _REFUND_ID_MAX:
            raise ProviderDeclined(
                _("The refund id must have 1 to %(max)d characters.") % {"max": _REFUND_ID_MAX},
                code="invalid_refund_id")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ProviderDeclined(
                _("The amount to refund must be a positive whole number of the currency's "
                  "minor unit, not %(amount)r.") % {"amount": amount},
                code="invalid_amount")
        params: RefundCreateParams = {
            "amount": amount,
            # Ours last: a caller's key of the same name cannot hide the refund from refund_find.
            "metadata": {**metadata, METADATA_KEY: refund_id},
        }
        if field == "charge":
            params["charge"] = charge_reference
        else:
            params["payment_intent"] = charge_reference
        try:
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": refund_id})
        except stripe.StripeError as exc:
            raise _translated(exc, creating=True) from exc
        return _refund_answer(refund.to_dict(), charge_reference)

    def refund_find(self, *, refund_id: str, provider_refund_id: str,
                    charge_reference: str) -> ProviderRefund | None:
        """Stripe's refund ``provider_refund_id`` when given (None when Stripe does not know
        it), else the refund of the charge whose metadata carries ``refund_id`` (every page of
        the charge's refunds is read); None when there is none."""
        if provider_refund_id:
            try:
                refund = self._client.v1.refunds.retrieve(provider_refund_id)
            except stripe.InvalidRequestError as exc:
                if exc.http_status == 404:
                    return None
                raise _translated(exc, creating=False) from exc
            except stripe.StripeError as exc:
                raise _translated(exc, creating=False) from exc
            return _refund_answer(refund.to_dict(), charge_reference)

        field = _reference_field(charge_reference)
        if field is None:
            raise ProviderError(
                _("“%(reference)s” is not a Stripe charge (ch_…, py_…) or payment intent "
                  "(pi_…).") % {"reference": charge_reference})
        params: RefundListParams = {"limit": 100}
        if field == "charge":
            params["charge"] = charge_reference
        else:
            params["payment_intent"] = charge_reference
        try:
            for refund in self._client.v1.refunds.list(params=params).auto_paging_iter():
                found = refund.to_dict()
                if (found.get("metadata") or {}).get(METADATA_KEY) == refund_id:
                    return _refund_answer(found, charge_reference)
        except stripe.InvalidRequestError as exc:
            # No such charge in this account: no refund of it can exist either.
            if exc.http_status == 404:
                return None
            raise _translated(exc, creating=False) from exc
        except stripe.StripeError as exc:
            raise _translated(exc, creating=False) from exc
        return None

    # -- webhooks -----------------------------------------------------------------------------

    def webhook_parse(self, *, payload: bytes, headers: Mapping[str, str]
                      ) -> list[ProviderEvent]:
        """Check the ``Stripe-Signature`` header (HMAC-SHA256 with the endpoint secret, at most
        300 s old) and decode the event.

        Refund events (``refund.created|updated|failed``, ``charge.refund.updated``) give one
        ``refund.updated`` event; ``charge.refunded`` gives one per refund it embeds (older API
        versions only; event id ``evt_…:re_…``); dispute events (``charge.dispute.*``) give one
        ``dispute.updated``; other types give ``[]``. ``WebhookSignatureError`` for a bad or
        stale signature, a body that is not a Stripe event, or an event missing a field.
        """
        if not self._webhook_secret:
            raise ProviderError(_("Stripe webhooks are not configured: the signing secret "
                                  "(REFUNDABLE_STRIPE_WEBHOOK_SECRET) is empty."))
        # The refusals below go back to Stripe in the 400 answer and to the logs, not to people
        # at a desk: English, like Stripe's own messages.
        signature = _header(headers, "stripe-signature")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise WebhookSignatureError(f"Stripe webhook refused: {exc.user_message}") from exc
        except UnicodeDecodeError as exc:
            raise WebhookSignatureError("Stripe webhook refused: the body is not UTF-8") from exc
        try:
            event = json.loads(payload)
        except ValueError as exc:
            raise WebhookSignatureError(
                f"Stripe webhook refused: the body is not JSON ({exc})") from exc
        try:
            return _events(event)
        except _Malformed as exc:
            raise WebhookSignatureError(f"Stripe webhook refused: {exc}") from exc


# -- helpers ---------------------------------------------------------------------------------

def _reference_field(charge_reference: str) -> str | None:
    """The create/list parameter naming this reference, or None when it is not Stripe's."""
    if not isinstance(charge_reference, str):
        return None
    if _CHARGE_ID.match(charge_reference):
        return "charge"
    if _PAYMENT_INTENT_ID.match(charge_reference):
        return "payment_intent"
    return None


def _translated(exc: stripe.StripeError, *, creating: bool) -> ProviderError:
    """Our error for one of the SDK's (see the module doc); ``creating`` for refund_create,
    whose refusals are declines, where a lookup's are plain errors."""
    request = f" (Stripe request {exc.request_id})" if exc.request_id else ""
    if isinstance(exc, stripe.AuthenticationError):
        return ProviderError(
            _("Stripe refused the API key (REFUNDABLE_STRIPE_API_KEY): it is unknown, revoked "
              "or of another account.") + request)
    if isinstance(exc, stripe.PermissionError):
        return ProviderError(
            _("The Stripe API key (REFUNDABLE_STRIPE_API_KEY) lacks a permission: a restricted "
              "key needs write access to refunds and read access to charges.") + request)
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError):
        code = exc.code or "declined"
        values = {"code": code, "message": exc.user_message or ""}
        if creating:
            return ProviderDeclined(
                _("Stripe declined the refund (%(code)s): %(message)s") % values + request,
                code=code)
        return ProviderError(
            _("Stripe refused the refund lookup (%(code)s): %(message)s") % values + request)
    # Connection lost, timeout, rate limit, 5xx, 409 (the same idempotency key in flight) and
    # idempotency errors: Stripe may hold a refund under this id, or not.
    status = f", HTTP {exc.http_status}" if exc.http_status else ""
    logger.warning("Stripe gave no usable answer (%s%s): %s", type(exc).__name__, status,
                   exc.user_message)
    return ProviderUnavailable(
        _("Stripe gave no usable answer (%(error)s%(status)s); the outcome is unknown until "
          "reconciled.") % {"error": type(exc).__name__, "status": status} + request)


def _refund_answer(data: Mapping[str, Any], charge_reference: str) -> ProviderRefund:
    """An API answer as ours; an unreadable one leaves the outcome unknown."""
    try:
        return _refund(data, charge_reference=charge_reference)
    except _Malformed as exc:
        raise ProviderUnavailable(
            _("Stripe's answer could not be read (%(problem)s); the outcome is unknown until "
              "reconciled.") % {"problem": exc}) from exc


def _refund(data: Mapping[str, Any], *, charge_reference: str = "") -> ProviderRefund:
    """A Stripe Refund object as ours. ``charge_reference`` is the caller's when known (it may
    be a payment intent); otherwise the refund's charge, or its payment intent."""
    provider_refund_id = _required_text(data, "id", "refund")
    status_text = data.get("status")
    status = _REFUND_STATUSES.get(status_text) if isinstance(status_text, str) else None
    if status is None:
        # A status Stripe added later (or none yet): still in flight for us, so the reconciler
        # keeps asking instead of closing the refund on a guess.
        logger.warning("Stripe refund %s has status %r; kept as pending", provider_refund_id,
                       status_text)
        status = "pending"
    metadata = data.get("metadata")
    ours = metadata.get(METADATA_KEY, "") if isinstance(metadata, Mapping) else ""
    return ProviderRefund(
        provider_refund_id=provider_refund_id,
        charge_reference=(charge_reference or _object_id(data.get("charge"))
                          or _object_id(data.get("payment_intent"))),
        amount=_required_amount(data, "refund"),
        currency=_required_text(data, "currency", "refund").upper(),
        status=status,
        refund_id=ours if isinstance(ours, str) else "",
        failure_reason=data.get("failure_reason") or "",
        created_at=_timestamp(data.get("created")),
    )


def _dispute(data: Mapping[str, Any]) -> ProviderDispute:
    """A Stripe Dispute object as ours."""
    dispute_id = _required_text(data, "id", "dispute")
    status_text = _required_text(data, "status", "dispute")
    status = _DISPUTE_STATUSES.get(status_text)
    if status is None:
        raise _Malformed(f"dispute {dispute_id} has an unknown status {status_text!r}")
    details = data.get("evidence_details")
    due_by = details.get("due_by") if isinstance(details, Mapping) else None
    return ProviderDispute(
        provider_dispute_id=dispute_id,
        charge_reference=(_object_id(data.get("charge"))
                          or _object_id(data.get("payment_intent"))),
        amount=_required_amount(data, "dispute"),
        currency=_required_text(data, "currency", "dispute").upper(),
        reason=data.get("reason") or "",
        status=status,
        # 0 (or null) when the card network allows no response.
        evidence_due_by=_timestamp(due_by) if due_by else None,
    )


def _events(event: Any) -> list[ProviderEvent]:
    """The ProviderEvents of one decoded Stripe event (see ``webhook_parse``)."""
    if not isinstance(event, dict) or event.get("object") != "event":
        raise _Malformed("the body is not a Stripe event (snapshot payload)")
    event_id = _required_text(event, "id", "event")
    event_type = _required_text(event, "type", "event")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise _Malformed(f"event {event_id} has no data.object")
    if event_type in _REFUND_EVENTS:
        return [ProviderEvent(event_id=event_id, kind="refund.updated",
                              refund=_refund(obj), raw=event)]
    if event_type in _DISPUTE_EVENTS:
        return [ProviderEvent(event_id=event_id, kind="dispute.updated",
                              dispute=_dispute(obj), raw=event)]
    if event_type == "charge.refunded":
        # Charges embedded their refunds until API version 2022-11-15; later payloads have
        # none here and the refunds come as refund.* events instead.
        refunds = obj.get("refunds")
        listed = refunds.get("data") if isinstance(refunds, Mapping) else None
        if not isinstance(listed, list):
            return []
        charge_id = _object_id(obj.get("id"))
        events: list[ProviderEvent] = []
        for item in listed:
            if not isinstance(item, Mapping):
                raise _Malformed(f"event {event_id} lists a refund that is not an object")
            refund = _refund(item, charge_reference=_object_id(item.get("charge")) or charge_id)
            events.append(ProviderEvent(event_id=f"{event_id}:{refund.provider_refund_id}",
                                        kind="refund.updated", refund=refund, raw=event))
        return events
    return []


def _header(headers: Mapping[str, str], name: str) -> str:
    """The header ``name`` (lower-case), whatever the case of the keys given."""
    if name in headers:
        return headers[name]
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _object_id(value: Any) -> str:
    """The id of an expandable field: the string itself, or the ``id`` of the expanded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return ""


def _required_text(data: Mapping[str, Any], field: str, what: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{what} without {field}")
    return value


def _required_amount(data: Mapping[str, Any], what: str) -> int:
    value = data.get("amount")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Malformed(f"{what} without a whole, non-negative amount")
    return value


def _timestamp(value: Any) -> datetime | None:
    """Stripe's Unix time as an aware UTC datetime (None when absent)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, tz=UTC)
