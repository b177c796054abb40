"""Provider webhooks in: verified, each event applied once (by its id), to our refunds, to
refunds made outside Refundable, and to disputes."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from .models import ProviderEventRecord, Refund
from .providers import provider_named
from .providers.base import ProviderDispute, ProviderRefund
from .selectors import charge_by_reference
from .services import (
    _FIELDS,
    RefundError,
    S,
    charge_lock_with_requests,
    refund_answer_record,
    refund_finish,
)


def provider_event_receive(*, provider_name: str, payload: bytes, headers: dict[str, str],
                           now: datetime | None = None) -> list[str]:
    """Verify a provider's webhook and apply each event once (by event id).

    Raises ``WebhookSignatureError`` (→ HTTP 400) when it does not verify, ``ProviderError``
    for an unknown provider. Returns one line per event saying what happened.
    """
    now = now or timezone.now()
    provider = provider_named(provider_name)
    events = provider.webhook_parse(payload=payload, headers=headers)
    outcomes: list[str] = []
    actor = Actor.system(f"webhook:{provider_name}")
    for event in events:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = ProviderEventRecord.objects.create(
                        provider=provider_name, event_id=event.event_id, kind=event.kind,
                        received_at=now)
            except IntegrityError:
                outcomes.append(f"{event.event_id}: already received")
                continue
            if event.refund is not None:
                outcome = _refund_event(actor, provider_name, event.refund, now)
            elif event.dispute is not None:
                outcome = _dispute_event(actor, provider_name, event.dispute, now)
            else:
                outcome = "ignored"
            record.outcome = outcome[:200]
            record.save(update_fields=["outcome"])
            outcomes.append(f"{event.event_id}: {outcome}")
    return outcomes


def _refund_event(actor: Actor, provider_name: str, view: ProviderRefund, now: datetime) -> str:
    ours = None
    if view.refund_id:
        ours = Refund.objects.filter(pk=view.refund_id).first()
    if ours is None and view.provider_refund_id:
        ours = Refund.objects.filter(provider=provider_name,
                                     provider_refund_id=view.provider_refund_id).first()
    if ours is not None:
        result = refund_answer_record(actor=actor, refund_id=ours.id, view=view, now=now)
        return f"refund {result.id} is {result.status}"
    return _refund_external(actor, provider_name, view, now)


def _refund_external(actor: Actor, provider_name: str, view: ProviderRefund,
                     now: datetime) -> str:
    """A refund made outside Refundable (the provider's dashboard): recorded once."""
    charge = charge_by_reference(view.charge_reference)
    if charge is None:
        return f"no charge {view.charge_reference}: ignored"
    charge = charge_lock_with_requests(charge.pk)
    refund = Refund(charge=charge, customer_id_copy=charge.customer_id_copy,
                    amount=view.amount, currency=view.currency, provider=provider_name,
                    provider_refund_id=view.provider_refund_id, status=S.PENDING,
                    origin=Refund.Origin.EXTERNAL, created_at=now, submitted_at=now)
    # The money left the charge outside our control: unsent refunds of ours that no longer
    # fit would be declined by the provider, so they are canceled now and their requests
    # escalated.
    taking = view.status in (S.PENDING, S.SUCCEEDED)  # a failed one took nothing
    skipped: set[str] = set()
    while taking and charge.refundable_amount < view.amount:
        unsent = (Refund.objects.filter(charge=charge, status=S.PENDING, submitted_at=None)
                  .exclude(pk__in=skipped).order_by("-created_at").first())
        if unsent is None:
            break
        try:
            refund_finish(actor=actor, refund_id=unsent.id, status=S.CANCELED, now=now,
                          reason="a refund made outside Refundable took the remaining amount",
                          unsent_only=True)
        except RefundError:
            skipped.add(unsent.id)  # sent meanwhile: the reconciler settles it
        charge.refresh_from_db()
    if not taking:
        refund.status = view.status
        refund.settled_at = now
        refund.save(force_insert=True)
        audit_record(actor=actor, action="refund.external", obj=refund,
                     customer_id=charge.customer_id_copy, after=snapshot(refund, _FIELDS),
                     note=f"made outside Refundable, {view.status}: nothing left the charge")
        return f"external refund {refund.id} recorded ({view.status})"
    if charge.refundable_amount < view.amount:
        audit_record(actor=actor, action="refund.external_conflict", obj=charge,
                     customer_id=charge.customer_id_copy,
                     note=f"{view.provider_refund_id}: {view.amount} does not fit")
        return f"external refund {view.provider_refund_id} does not fit the charge: escalated"
    refund.save(force_insert=True)
    charge.pending_amount += refund.amount
    charge.save(update_fields=["pending_amount"])
    audit_record(actor=actor, action="refund.external", obj=refund,
                 customer_id=charge.customer_id_copy, after=snapshot(refund, _FIELDS),
                 note="made outside Refundable")
    result = refund_answer_record(actor=actor, refund_id=refund.id, view=view, now=now)
    return f"external refund {result.id} recorded ({result.status})"


def _dispute_event(actor: Actor, provider_name: str, view: ProviderDispute,
                   now: datetime) -> str:
    from .disputes import dispute_apply

    return dispute_apply(actor=actor, provider_name=provider_name, view=view, now=now)





def sandbox_webhooks_deliver(*, now: datetime | None = None) -> int:
    """Deliver the sandbox's due webhook events to ourselves, through the same verification
    and idempotency path as a real provider's (``provider_event_receive``)."""
    from .providers.sandbox import SIGNATURE_HEADER, sandbox_event_delivered, sandbox_events_due

    delivered = 0
    for row_id, body, signature in sandbox_events_due(now=now):
        provider_event_receive(provider_name="sandbox", payload=body,
                               headers={SIGNATURE_HEADER: signature}, now=now)
        sandbox_event_delivered(row_id=row_id, now=now)
        delivered += 1
    return delivered
