"""Disputes (chargebacks): recorded from the provider's events, holding refunds while open,
closing the charge's refund requests when lost; and the evidence pack an agent sends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from ..billing.models import Charge
from .models import Dispute, Refund
from .providers.base import ProviderDispute
from .selectors import charge_by_reference

_FIELDS = ["status", "amount", "reason", "evidence_due_by", "closed_at", "evidence_sent_at"]


class DisputeError(Exception):
    """A dispute change that is not allowed (message for people)."""


def dispute_data(dispute: Dispute) -> dict[str, Any]:
    """The dispute as integrators see it (webhooks; ``docs/webhooks.md``)."""
    from ..webhooks.payloads import iso, money

    return {"object": "dispute", "id": dispute.pk,
            "provider_dispute_id": dispute.provider_dispute_id, "charge_id": dispute.charge_id,
            "refund_request_id": dispute.request_id, "customer_id": dispute.customer_id_copy,
            "amount": money(dispute.amount, dispute.currency), "reason": dispute.reason,
            "status": dispute.status, "evidence_due_by": iso(dispute.evidence_due_by),
            "closed_at": iso(dispute.closed_at)}


def dispute_apply(*, actor: Actor, provider_name: str, view: ProviderDispute,
                  now: datetime) -> str:
    """Record what the provider says about a dispute (called once per webhook event, inside
    its transaction). Opening one holds the charge's unsent refunds; losing one cancels them
    and closes the charge's refund requests; winning one lets held refunds go."""
    from .services import _emit, charge_lock_with_requests

    charge = charge_by_reference(view.charge_reference)
    if charge is None:
        return f"no charge {view.charge_reference}: ignored"
    charge = charge_lock_with_requests(charge.pk)
    dispute = (Dispute.objects.select_for_update()
               .filter(provider=provider_name, provider_dispute_id=view.provider_dispute_id)
               .first())
    if dispute is None:
        latest_request = charge.refund_requests.order_by("-created_at", "-id").first()
        dispute = Dispute.objects.create(
            charge=charge, request=latest_request, customer_id_copy=charge.customer_id_copy,
            provider=provider_name, provider_dispute_id=view.provider_dispute_id,
            reason=view.reason[:60], amount=view.amount, currency=view.currency,
            status=view.status, evidence_due_by=view.evidence_due_by, opened_at=now,
            closed_at=None if view.status in Dispute.OPEN else now)
        audit_record(actor=actor, action="dispute.create", obj=dispute,
                     customer_id=charge.customer_id_copy, after=snapshot(dispute, _FIELDS))
        _emit("dispute.created", dispute_data(dispute), charge.customer_id_copy)
    else:
        if view.status != dispute.status and view.status not in Dispute.TRANSITIONS[
                dispute.status]:
            return f"dispute {dispute.pk} is {dispute.status}; {view.status} ignored"
        before = snapshot(dispute, _FIELDS)
        dispute.status = view.status
        dispute.amount = view.amount
        dispute.evidence_due_by = view.evidence_due_by or dispute.evidence_due_by
        if view.status not in Dispute.OPEN:
            dispute.closed_at = dispute.closed_at or now
        dispute.save()
        audit_record(actor=actor, action="dispute.update", obj=dispute,
                     customer_id=charge.customer_id_copy, before=before,
                     after=snapshot(dispute, _FIELDS))
        _emit("dispute.closed" if view.status not in Dispute.OPEN else "dispute.updated",
              dispute_data(dispute), charge.customer_id_copy)
    if dispute.status == Dispute.Status.LOST:
        _dispute_lost(actor, dispute, now)
    elif dispute.status == Dispute.Status.WON:
        _held_refunds_release(charge)
    return f"dispute {dispute.pk} is {dispute.status}"


def _dispute_lost(actor: Actor, dispute: Dispute, now: datetime) -> None:
    """The bank returned the money to the customer: nothing more is owed on this charge."""
    from ..refunds.models import RefundRequest
    from ..refunds.services import refund_request_close
    from .services import RefundError, refund_finish

    for refund in Refund.objects.filter(charge_id=dispute.charge_id, status=Refund.S.PENDING,
                                        submitted_at__isnull=True):
        # One sent meanwhile stays: the reconciler records what the provider did with it.
        with contextlib.suppress(RefundError):
            refund_finish(actor=actor, refund_id=refund.id, status=Refund.S.CANCELED, now=now,
                          reason="the dispute was lost: the bank returned the money",
                          unsent_only=True)
    closing = RefundRequest.objects.filter(charge_id=dispute.charge_id).exclude(
        status__in=[RefundRequest.Status.CLOSED, RefundRequest.Status.REDIRECTED])
    for request in closing:
        if RefundRequest.Status.CLOSED in RefundRequest.TRANSITIONS[request.status]:
            refund_request_close(actor=actor, request_id=request.pk,
                                 reason=f"dispute {dispute.provider_dispute_id} lost: the "
                                        "customer's bank returned the money")


def _held_refunds_release(charge: Charge) -> None:
    from .services import _execute_later

    for refund in Refund.objects.filter(charge=charge, status=Refund.S.PENDING,
                                        hold_reason="dispute_open"):
        _execute_later(refund.id)


def dispute_evidence_mark_sent(*, actor: Actor, dispute_id: int,
                               now: datetime | None = None) -> Dispute:
    """An agent sent the evidence pack to the provider (recorded, with the time)."""
    now = now or timezone.now()
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if not dispute.is_open:
            raise DisputeError(f"dispute {dispute.pk} is {dispute.status}: it is decided")
        before = snapshot(dispute, _FIELDS)
        dispute.evidence_sent_at = now
        dispute.save(update_fields=["evidence_sent_at"])
        audit_record(actor=actor, action="dispute.evidence_sent", obj=dispute,
                     customer_id=dispute.customer_id_copy, before=before,
                     after=snapshot(dispute, _FIELDS))
    return dispute


@dataclass(frozen=True)
class EvidencePack:
    """What an agent sends the provider to contest a chargeback."""

    dispute: Dispute
    charge: Charge
    requests: list[Any]  # refund requests on the charge, with their frozen decisions
    refunds: list[Refund]
    communications: list[dict[str, Any]]  # e-mails sent and ticket messages, oldest first
    cancellation: list[dict[str, Any]]  # the subscription's cancellation audit events


def dispute_evidence_pack(*, dispute_id: int) -> EvidencePack:
    """Gather the evidence: the request(s), each frozen decision with its policy id@version,
    the communications with the customer and the cancellation record."""
    from django_tasks_db.models import DBTaskResult

    from ..audit.models import AuditEvent
    from ..desk.models import TicketMessage
    from ..notifications.tasks import send_email
    from ..refunds.models import RefundRequest

    dispute = Dispute.objects.select_related("charge__order__customer",
                                             "charge__order__subscription").get(pk=dispute_id)
    charge = dispute.charge
    customer = charge.order.customer
    requests = list(RefundRequest.objects.filter(charge=charge)
                    .prefetch_related("decisions").order_by("created_at"))
    # The e-mails we sent are the e-mail jobs addressed to the customer (kept by the queue).
    communications: list[dict[str, Any]] = [
        {"at": job.enqueued_at, "kind": "email", "subject": job.args_kwargs["kwargs"]["template"],
         "status": job.status}
        for job in DBTaskResult.objects.filter(task_path=send_email.module_path,
                                               args_kwargs__kwargs__to=customer.email)
        .order_by("enqueued_at")]
    communications += [
        {"at": message.created_at, "kind": "ticket", "subject": message.ticket.subject,
         "author": message.author, "body": message.body}
        for message in TicketMessage.objects.filter(ticket__customer=customer, internal=False)
        .select_related("ticket").order_by("created_at")]
    communications.sort(key=lambda item: item["at"])
    subscription = charge.order.subscription
    cancellation = [
        {"at": event.created_at, "action": event.action, "actor": event.actor,
         "after": event.after}
        for event in AuditEvent.objects.filter(
            object_type="subscriptions.subscription",
            object_id=str(subscription.pk) if subscription else "-",
            action__startswith="subscription.").order_by("created_at")]
    return EvidencePack(dispute=dispute, charge=charge, requests=requests,
                        refunds=list(Refund.objects.filter(charge=charge)),
                        communications=communications, cancellation=cancellation)
