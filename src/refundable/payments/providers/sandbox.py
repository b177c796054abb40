"""The sandbox provider: the embedded default, a pretend payment processor with real books.

It keeps each charge's balance in its own tables (``SandboxCharge``, ``SandboxRefund``), so
tests and the crash test can compare what *it* paid out with what Refundable recorded. It
settles a refund ``settle_seconds`` after accepting it, and it can be told to misbehave
(``SandboxFault``: decline, time out before or after doing the refund, fail at settlement,
send a webhook twice or late).

Each call runs in its own transaction: what the sandbox did stays done even when the caller's
process dies before recording the answer — exactly the case the reconciler exists for. The
sandbox learns a charge's captured amount from the charge row the first time it sees the
reference (a real provider captured it; the sandbox pretends it did).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import SandboxCharge, SandboxEvent, SandboxFault, SandboxRefund
from .base import (
    ProviderDeclined,
    ProviderDispute,
    ProviderEvent,
    ProviderRefund,
    ProviderUnavailable,
    RefundStatus,
    WebhookSignatureError,
)

SIGNATURE_HEADER = "sandbox-signature"


def _signing_key() -> bytes:
    return hashlib.sha256(b"refundable-sandbox-webhooks:" + settings.SECRET_KEY.encode()).digest()


def sandbox_sign(payload: bytes) -> str:
    return hmac.new(_signing_key(), payload, hashlib.sha256).hexdigest()


def _view(refund: SandboxRefund) -> ProviderRefund:
    status: RefundStatus = refund.status  # type: ignore[assignment]
    return ProviderRefund(
        provider_refund_id=refund.id, charge_reference=refund.charge.reference,
        amount=refund.amount, currency=refund.currency, status=status,
        refund_id=str(refund.metadata.get("refundable_refund_id", "")),
        failure_reason=refund.failure_reason, created_at=refund.created_at)


def _refund_payload(refund: SandboxRefund) -> dict[str, Any]:
    return {"id": refund.id, "charge": refund.charge.reference, "amount": refund.amount,
            "currency": refund.currency, "status": refund.status,
            "failure_reason": refund.failure_reason, "metadata": refund.metadata}


class SandboxProvider:
    name = "sandbox"

    def __init__(self, *, settle_seconds: int | None = None) -> None:
        self.settle_seconds = (settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS
                               if settle_seconds is None else settle_seconds)

    # -- faults ---------------------------------------------------------------------------
    @staticmethod
    def _take_fault(charge_reference: str) -> SandboxFault | None:
        with transaction.atomic():
            fault = (SandboxFault.objects.select_for_update()
                     .filter(remaining__gt=0, charge_reference__in=["", charge_reference])
                     .order_by("id").first())
            if fault is None:
                return None
            fault.remaining -= 1
            fault.save(update_fields=["remaining"])
            return fault

    # -- the provider interface -----------------------------------------------------------
    def refund_create(self, *, refund_id: str, charge_reference: str, amount: int,
                      currency: str, metadata: Mapping[str, str]) -> ProviderRefund:
        with transaction.atomic():
            replay = SandboxRefund.objects.select_related("charge").filter(
                idempotency_key=refund_id).first()
        if replay is not None:  # the same key again: the first answer, nothing moves
            return _view(replay)
        fault = self._take_fault(charge_reference)
        kind = fault.kind if fault else ""
        if kind == "timeout_before":
            raise ProviderUnavailable("sandbox: the request timed out (it never arrived)")
        now = timezone.now()
        with transaction.atomic():
            charge = self._charge_locked(charge_reference)
            # Under the charge lock: a concurrent call with the same key waits, then replays.
            replay = SandboxRefund.objects.filter(idempotency_key=refund_id).first()
            if replay is not None:
                return _view(replay)
            if kind == "decline":
                raise ProviderDeclined("sandbox: declined as instructed", code="declined")
            if currency != charge.currency:
                raise ProviderDeclined(f"sandbox: the charge is in {charge.currency}, not "
                                       f"{currency}", code="currency_mismatch")
            if not 0 < amount <= charge.amount - charge.refunded:
                raise ProviderDeclined(
                    f"sandbox: {amount} is more than the {charge.amount - charge.refunded} "
                    "left on the charge", code="amount_too_large")
            charge.refunded += amount
            charge.save(update_fields=["refunded"])
            meta = {**metadata, "refundable_refund_id": refund_id}
            if kind == "fail_later":
                meta["sandbox_fail_later"] = "1"
            if kind in ("webhook_twice", "webhook_late"):
                meta["sandbox_webhook"] = f"{kind}:{fault.delay_seconds if fault else 0}"
            refund = SandboxRefund.objects.create(
                id="sbre_" + secrets.token_hex(10), idempotency_key=refund_id, charge=charge,
                amount=amount, currency=currency, status="pending", metadata=meta,
                created_at=now, settle_at=now + timedelta(seconds=self.settle_seconds))
            self._settle_if_due(refund, now)
        if kind == "timeout_after":
            raise ProviderUnavailable("sandbox: the refund was made but the answer was lost")
        return _view(refund)

    def refund_find(self, *, refund_id: str, provider_refund_id: str,
                    charge_reference: str) -> ProviderRefund | None:
        now = timezone.now()
        with transaction.atomic():
            query = SandboxRefund.objects.select_for_update().select_related("charge")
            refund = (query.filter(id=provider_refund_id).first() if provider_refund_id
                      else query.filter(idempotency_key=refund_id).first())
            if refund is None:
                return None
            self._settle_if_due(refund, now)
            return _view(refund)

    def webhook_parse(self, *, payload: bytes, headers: Mapping[str, str]
                      ) -> list[ProviderEvent]:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(signature, sandbox_sign(payload)):
            raise WebhookSignatureError("sandbox webhook: bad signature")
        try:
            event = json.loads(payload)
            kind = event["type"]
            obj = event["data"]
            if kind == "refund.updated":
                refund = ProviderRefund(
                    provider_refund_id=obj["id"], charge_reference=obj["charge"],
                    amount=int(obj["amount"]), currency=obj["currency"],
                    status=obj["status"], refund_id=obj.get("metadata", {}).get(
                        "refundable_refund_id", ""),
                    failure_reason=obj.get("failure_reason", ""))
                return [ProviderEvent(event_id=event["id"], kind="refund.updated",
                                      refund=refund, raw=event)]
            if kind == "dispute.updated":
                due = obj.get("evidence_due_by")
                dispute = ProviderDispute(
                    provider_dispute_id=obj["id"], charge_reference=obj["charge"],
                    amount=int(obj["amount"]), currency=obj["currency"],
                    reason=obj["reason"], status=obj["status"],
                    evidence_due_by=datetime.fromisoformat(due) if due else None)
                return [ProviderEvent(event_id=event["id"], kind="dispute.updated",
                                      dispute=dispute, raw=event)]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookSignatureError(f"sandbox webhook: malformed payload ({exc})") from exc
        return []

    # -- the sandbox's own machinery --------------------------------------------------------
    @staticmethod
    def _charge_locked(reference: str) -> SandboxCharge:
        charge = SandboxCharge.objects.select_for_update().filter(reference=reference).first()
        if charge is not None:
            return charge
        from ...billing.models import Charge

        ours = (Charge.objects.filter(provider_reference=reference).first()
                or (Charge.objects.filter(pk=int(reference.removeprefix("sb_ch_"))).first()
                    if reference.startswith("sb_ch_") and reference[6:].isdigit() else None))
        if ours is None:
            raise ProviderDeclined(f"sandbox: no charge {reference}", code="no_such_charge")
        SandboxCharge.objects.get_or_create(
            reference=reference, defaults={"amount": ours.amount, "currency": ours.currency})
        return SandboxCharge.objects.select_for_update().get(reference=reference)

    def _settle_if_due(self, refund: SandboxRefund, now: datetime) -> None:
        """Settle a pending refund whose time has come (caller holds its transaction)."""
        if refund.status != "pending" or refund.settle_at > now:
            return
        if refund.metadata.get("sandbox_fail_later"):
            refund.status = "failed"
            refund.failure_reason = "sandbox: the bank returned the refund"
            charge = SandboxCharge.objects.select_for_update().get(pk=refund.charge_id)
            charge.refunded -= refund.amount
            charge.save(update_fields=["refunded"])
        else:
            refund.status = "succeeded"
        refund.save(update_fields=["status", "failure_reason"])
        self._event_queue("refund.updated", _refund_payload(refund),
                          refund.metadata.get("sandbox_webhook", ""), now)

    @staticmethod
    def _event_queue(kind: str, data: dict[str, Any], behaviour: str, now: datetime) -> None:
        event_id = "sbevt_" + secrets.token_hex(10)
        payload = {"id": event_id, "type": kind, "created": int(now.timestamp()), "data": data}
        how, _, delay = behaviour.partition(":")
        deliver_after = now + timedelta(seconds=int(delay or 0) if how == "webhook_late"
                                        else 0)
        copies = 2 if how == "webhook_twice" else 1
        for _ in range(copies):
            SandboxEvent.objects.create(event_id=event_id, payload=payload,
                                        deliver_after=deliver_after)

    def settle_due(self, *, now: datetime | None = None) -> int:
        """Settle every pending refund whose delay has passed (the worker's batch)."""
        now = now or timezone.now()
        settled = 0
        due = list(SandboxRefund.objects.filter(status="pending", settle_at__lte=now)
                   .values_list("id", flat=True)[:500])
        for refund_id in due:
            with transaction.atomic():
                refund = SandboxRefund.objects.select_for_update().select_related(
                    "charge").get(id=refund_id)
                if refund.status == "pending":
                    self._settle_if_due(refund, now)
                    settled += 1
        return settled

    def dispute_open(self, *, charge_reference: str, amount: int, currency: str,
                     reason: str = "product_not_received", evidence_days: int = 7,
                     now: datetime | None = None) -> str:
        """Pretend the customer's bank opened a chargeback; returns the dispute id."""
        now = now or timezone.now()
        dispute_id = "sbdp_" + secrets.token_hex(8)
        with transaction.atomic():
            self._event_queue("dispute.updated", {
                "id": dispute_id, "charge": charge_reference, "amount": amount,
                "currency": currency, "reason": reason, "status": "needs_response",
                "evidence_due_by": (now + timedelta(days=evidence_days)).isoformat()}, "", now)
        return dispute_id

    def dispute_close(self, *, dispute_id: str, charge_reference: str, amount: int,
                      currency: str, reason: str, won: bool,
                      now: datetime | None = None) -> None:
        """Pretend the bank decided the chargeback (the sandbox's refund books do not move:
        a chargeback is not a refund)."""
        now = now or timezone.now()
        with transaction.atomic():
            self._event_queue("dispute.updated", {
                "id": dispute_id, "charge": charge_reference, "amount": amount,
                "currency": currency, "reason": reason, "status": "won" if won else "lost",
                "evidence_due_by": None}, "", now)


def sandbox_fault_add(*, kind: str, count: int = 1, charge_reference: str = "",
                      delay_seconds: int = 0) -> SandboxFault:
    """Make the sandbox's next ``count`` matching calls misbehave (``SandboxFault.KINDS``)."""
    if kind not in SandboxFault.KINDS:
        raise ValueError(f"unknown fault {kind!r}: one of {', '.join(SandboxFault.KINDS)}")
    return SandboxFault.objects.create(kind=kind, remaining=count,
                                       charge_reference=charge_reference,
                                       delay_seconds=delay_seconds)


def sandbox_events_due(*, now: datetime | None = None) -> list[tuple[int, bytes, str]]:
    """Events ready to deliver: (row id, body, signature)."""
    now = now or timezone.now()
    rows = SandboxEvent.objects.filter(delivered_at__isnull=True,
                                       deliver_after__lte=now).order_by("id")[:500]
    out = []
    for row in rows:
        body = json.dumps(row.payload, sort_keys=True).encode()
        out.append((row.pk, body, sandbox_sign(body)))
    return out


def sandbox_event_delivered(*, row_id: int, now: datetime | None = None) -> None:
    SandboxEvent.objects.filter(pk=row_id).update(delivered_at=now or timezone.now())
