"""Moving money exactly once: reserve, send, reconcile, settle; provider events; manual refunds.

The path of a refund (``docs/reliability.md`` has the argument in full):

1. ``refund_reserve`` — in the approving transaction, under the charge's row lock: the refund
   row is written with its id (the provider's idempotency key) and its amount is added to the
   charge's ``pending_amount`` (a database CHECK keeps refunded + pending ≤ captured).
2. ``refund_execute`` — marks the refund submitted and commits, *then* calls the provider,
   *then* records the answer in a second transaction. A lost answer makes it ``unknown``.
3. ``refunds_reconcile`` — for every refund submitted but unresolved, asks the provider
   (``refund_find``) and records what it says; only a refund the provider has never seen is
   sent again, with the same idempotency key.

Lock order everywhere: charge row, then refund row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..audit.models import AuditEvent
from ..audit.services import Actor, audit_record, snapshot
from ..billing.models import Charge
from ..notifications.services import email_enqueue
from .crash import crashpoint
from .models import Dispute, Refund
from .providers import provider_for_charge, provider_named
from .providers.base import (
    ProviderDeclined,
    ProviderError,
    ProviderRefund,
)
from .selectors import expected_arrival_window

S = Refund.Status
logger = logging.getLogger(__name__)
_FIELDS = ["status", "provider_refund_id", "submitted_at", "attempts", "settled_at",
           "failure_reason", "hold_reason", "manual_reference"]


class RefundError(Exception):
    """A money movement that is not allowed now (message for people)."""


def _emit(event_type: str, data: dict[str, Any], customer_id: int | None) -> None:
    from ..webhooks.services import webhook_event_emit

    webhook_event_emit(event_type=event_type, data=data, customer_id=customer_id)


def refund_data(refund: Refund) -> dict[str, Any]:
    """The refund as integrators see it (webhooks; ``docs/webhooks.md``)."""
    from ..webhooks.payloads import iso, money

    return {"object": "refund", "id": refund.id, "refund_request_id": refund.request_id,
            "charge_id": refund.charge_id, "customer_id": refund.customer_id_copy,
            "amount": money(refund.amount, refund.currency), "status": refund.status,
            "provider": refund.provider, "origin": refund.origin,
            "failure_reason": refund.failure_reason or None,
            "created_at": iso(refund.created_at), "settled_at": iso(refund.settled_at),
            "expected_by": refund.expected_by.isoformat() if refund.expected_by else None}


def _move(refund: Refund, target: str) -> None:
    if target != refund.status and target not in Refund.TRANSITIONS[refund.status]:
        raise RefundError(f"refund {refund.id} is {refund.status}; it cannot become {target}")
    refund.status = target


def _execute_later(refund_id: str) -> None:
    from .tasks import refund_execute_job

    transaction.on_commit(lambda: refund_execute_job.enqueue(refund_id=refund_id))


def refund_reserve(*, actor: Actor, charge: Charge, amount: int, request_id: int | None,
                   now: datetime | None = None) -> Refund:
    """Create the refund of ``amount`` (minor units) on ``charge`` and reserve it.

    Precondition: the caller holds ``charge`` locked (``select_for_update``) in its open
    transaction and has checked ``0 < amount <= charge.refundable_amount``; this re-checks and
    raises ``RefundError`` otherwise. The refund is sent by a job after the commit.
    """
    now = now or timezone.now()
    given = charge
    # Re-read under the lock (re-entrant in the caller's transaction): the caller's object may
    # have been loaded before the lock was taken.
    charge = Charge.objects.select_for_update().get(pk=given.pk)
    if not 0 < amount <= charge.refundable_amount:
        raise RefundError(f"the amount must be between 1 and {charge.refundable_amount} "
                          "(minor units): the captured amount less what is refunded or on "
                          "its way")
    if Dispute.objects.filter(charge=charge, status=Dispute.Status.LOST).exists():
        raise RefundError("this charge was charged back (a dispute was lost): the customer's "
                          "bank already returned the money")
    charge.pending_amount += amount
    charge.save(update_fields=["pending_amount"])
    given.pending_amount = charge.pending_amount
    provider = provider_for_charge(payment_method=charge.payment_method,
                                   provider=charge.provider)
    refund = Refund(request_id=request_id, charge=charge, customer_id_copy=charge.customer_id_copy,
                    amount=amount, currency=charge.currency, provider=provider, created_at=now)
    refund.expected_from, refund.expected_by = expected_arrival_window(refund=refund, start=now)
    refund.save(force_insert=True)
    audit_record(actor=actor, action="refund.create", obj=refund,
                 customer_id=charge.customer_id_copy, after=snapshot(refund, _FIELDS),
                 note=f"{amount} {charge.currency} via {provider}")
    _emit("refund.created", refund_data(refund), charge.customer_id_copy)
    if provider != "manual":
        _execute_later(refund.id)
    return refund


def _locked_refund(refund_id: str) -> Refund:
    return Refund.objects.select_for_update(of=("self",)).select_related("charge").get(
        pk=refund_id)


def refund_execute(*, actor: Actor, refund_id: str, now: datetime | None = None) -> Refund:
    """Send a reserved refund to its provider. Safe to call any number of times.

    Sends only a refund never submitted (a submitted one belongs to the reconciler), never a
    manual one (an agent sends it), never while a dispute on the charge is open (it waits, with
    ``hold_reason``). Commits ``submitted_at`` before the call, records the answer after it.
    Raises ``Refund.DoesNotExist`` for an unknown id.
    """
    now = now or timezone.now()
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        if refund.status != S.PENDING or refund.submitted_at is not None:
            return refund
        if refund.provider == "manual":
            return refund
        if Dispute.objects.filter(charge_id=refund.charge_id, status__in=Dispute.OPEN).exists():
            if refund.hold_reason != "dispute_open":
                before = snapshot(refund, _FIELDS)
                refund.hold_reason = "dispute_open"
                refund.save(update_fields=["hold_reason"])
                audit_record(actor=actor, action="refund.hold", obj=refund,
                             customer_id=refund.customer_id_copy, before=before,
                             after=snapshot(refund, _FIELDS),
                             note="a dispute is open on the charge")
            return refund
        before = snapshot(refund, _FIELDS)
        if refund.attempts == 0:  # the provider's clock starts when the money leaves
            refund.expected_from, refund.expected_by = expected_arrival_window(
                refund=refund, start=now)
        refund.hold_reason = ""
        refund.submitted_at = now
        refund.attempts += 1
        refund.save(update_fields=["hold_reason", "submitted_at", "attempts", "expected_from",
                                   "expected_by"])
        audit_record(actor=actor, action="refund.submit", obj=refund,
                     customer_id=refund.customer_id_copy, before=before,
                     after=snapshot(refund, _FIELDS), note=f"attempt {refund.attempts}")
    return _send(actor=actor, refund=refund, now=now)


def _send(*, actor: Actor, refund: Refund, now: datetime) -> Refund:
    crashpoint("before_provider_call", refund.id)
    try:
        view = provider_named(refund.provider).refund_create(
            refund_id=refund.id, charge_reference=refund.charge.reference,
            amount=refund.amount, currency=refund.currency,
            metadata={"refund_request": str(refund.request_id or "")})
    except ProviderDeclined as exc:
        return refund_finish(actor=actor, refund_id=refund.id, status=S.FAILED,
                              reason=f"{exc.code}: {exc}"[:200], now=now)
    except ProviderError as exc:  # unavailable, misconfigured: the outcome is unknown
        return _refund_unknown(actor=actor, refund_id=refund.id, reason=str(exc)[:200])
    crashpoint("after_provider_call", refund.id)
    result = refund_answer_record(actor=actor, refund_id=refund.id, view=view, now=now,
                           crash_points=True)
    crashpoint("after_commit", refund.id)
    return result


def _refund_unknown(*, actor: Actor, refund_id: str, reason: str) -> Refund:
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        if refund.status not in Refund.OPEN:
            return refund
        before = snapshot(refund, _FIELDS)
        _move(refund, S.UNKNOWN)
        refund.failure_reason = reason
        refund.save(update_fields=["status", "failure_reason"])
        audit_record(actor=actor, action="refund.unknown", obj=refund,
                     customer_id=refund.customer_id_copy, before=before,
                     after=snapshot(refund, _FIELDS), note=reason)
        _emit("refund.unknown", refund_data(refund), refund.customer_id_copy)
    return refund


def refund_answer_record(*, actor: Actor, refund_id: str, view: ProviderRefund, now: datetime,
                         crash_points: bool = False) -> Refund:
    """Record what the provider says about one of our refunds (idempotent: a finished refund
    stays as it is). Locks the refund (and the charge when the refund finishes). An answer
    for another amount than ours is recorded and put before an agent (it should never happen:
    the provider refunds exactly what we asked under our id)."""
    ours = Refund.objects.get(pk=refund_id)
    if view.amount != ours.amount and not AuditEvent.objects.filter(
            action="refund.amount_mismatch", object_id=refund_id).exists():
        with transaction.atomic():
            _lock_request_then_charge(refund_id)
            note = f"amount mismatch: the provider says {view.amount}, we asked {ours.amount}"
            audit_record(actor=actor, action="refund.amount_mismatch", obj=ours,
                         customer_id=ours.customer_id_copy, note=note)
            if ours.request_id is not None:
                _request_escalate(ours, f"the refund {ours.id}: {note}")
    if view.status in (S.SUCCEEDED, S.FAILED, S.CANCELED):
        return refund_finish(actor=actor, refund_id=refund_id, status=view.status,
                              reason=view.failure_reason, now=now,
                              provider_refund_id=view.provider_refund_id,
                              crash_points=crash_points)
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        if refund.status in Refund.OPEN:
            before = snapshot(refund, _FIELDS)
            _move(refund, S.PENDING)
            refund.provider_refund_id = view.provider_refund_id or refund.provider_refund_id
            refund.failure_reason = ""
            refund.save(update_fields=["status", "provider_refund_id", "failure_reason"])
            if before != snapshot(refund, _FIELDS):
                audit_record(actor=actor, action="refund.accepted", obj=refund,
                             customer_id=refund.customer_id_copy, before=before,
                             after=snapshot(refund, _FIELDS))
        if crash_points:
            crashpoint("before_commit", refund_id)
    return refund


def _lock_request_then_charge(refund_id: str) -> tuple[int | None, Charge]:
    """Take the locks of a refund's money in the house order — its request, then its charge
    (the refund row is locked by the caller next) — the order approval and retry use too, so
    that two of them never wait on each other."""
    request_id, charge_id = Refund.objects.values_list("request_id", "charge_id").get(
        pk=refund_id)
    if request_id is not None:
        from ..refunds.models import RefundRequest

        RefundRequest.objects.select_for_update().filter(pk=request_id).exists()
    return request_id, Charge.objects.select_for_update().get(pk=charge_id)


def charge_lock_with_requests(charge_id: int) -> Charge:
    """Lock a charge for work that may touch several of its requests (disputes, refunds made
    elsewhere): its requests first, by id, then the charge — the house order."""
    from ..refunds.models import RefundRequest

    list(RefundRequest.objects.select_for_update().filter(charge_id=charge_id).order_by("pk")
         .values_list("pk", flat=True))
    return Charge.objects.select_for_update().get(pk=charge_id)


def refund_finish(*, actor: Actor, refund_id: str, status: str, reason: str, now: datetime,
                  provider_refund_id: str = "", unsent_only: bool = False,
                  crash_points: bool = False) -> Refund:
    """Move a refund to succeeded, failed or canceled and settle the charge's books.

    An open refund: succeeded moves its amount from pending to refunded; failed and canceled
    release it. A succeeded refund may still fail (the bank returned it): the amount leaves
    refunded. Any other finished refund is returned unchanged (a late or repeated answer).
    ``unsent_only`` (cancelling what was never sent) raises ``RefundError`` when the refund was
    submitted to a provider meanwhile — checked under the lock. Locks the request, the charge,
    then the refund.
    """
    with transaction.atomic():
        _request_id, charge = _lock_request_then_charge(refund_id)
        refund = _locked_refund(refund_id)
        if unsent_only and refund.submitted_at is not None and refund.provider != "manual":
            raise RefundError(f"refund {refund.id} was sent to {refund.provider}; it may have "
                              "gone through, so it cannot be canceled here")
        returned = refund.status == S.SUCCEEDED and status == S.FAILED
        if refund.status not in Refund.OPEN and not returned:
            return refund  # already finished: a late or repeated answer changes nothing
        before = snapshot(refund, _FIELDS)
        _move(refund, status)
        refund.provider_refund_id = provider_refund_id or refund.provider_refund_id
        refund.failure_reason = reason if status != S.SUCCEEDED else ""
        refund.settled_at = now
        refund.save(update_fields=["status", "provider_refund_id", "failure_reason",
                                   "settled_at"])
        if returned:
            charge.refunded_amount -= refund.amount
        else:
            charge.pending_amount -= refund.amount
            if status == S.SUCCEEDED:
                charge.refunded_amount += refund.amount
        charge.save(update_fields=["pending_amount", "refunded_amount"])
        audit_record(actor=actor, action="refund.returned" if returned else f"refund.{status}",
                     obj=refund, customer_id=refund.customer_id_copy, before=before,
                     after=snapshot(refund, _FIELDS), note=reason)
        _emit(f"refund.{status}", refund_data(refund), refund.customer_id_copy)
        if status != S.SUCCEEDED and refund.request_id is not None:
            what = "came back (the bank returned it)" if returned else status
            _request_escalate(refund, f"the refund {refund.id} {what}: {reason}")
        if crash_points:
            crashpoint("before_commit", refund_id)
    return refund


def _request_escalate(refund: Refund, note: str) -> None:
    from ..refunds.services import refund_request_money_attention

    assert refund.request_id is not None
    refund_request_money_attention(actor=Actor.system("payments"),
                                   request_id=refund.request_id, note=note)


def refunds_reconcile(*, actor: Actor, now: datetime | None = None,
                      grace_seconds: int | None = None, limit: int = 500) -> dict[str, int]:
    """Resolve refunds left ``pending`` or ``unknown`` by asking their provider.

    A refund never submitted (its job was lost) is executed. A submitted one older than the
    grace period is looked up: the provider's answer is recorded; when the provider has never
    seen it, it is sent again with the same idempotency key. The least recently checked come
    first (so long-pending refunds never starve newer ones); one refund's failure is logged and
    counted, never stops the pass. Returns counts by what happened.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.REFUNDABLE_RECONCILE_GRACE_SECONDS
                      if grace_seconds is None else grace_seconds)
    counts = {"executed": 0, "resolved": 0, "still_pending": 0, "resent": 0, "unreachable": 0,
              "errors": 0}
    due = (Refund.objects.filter(status__in=Refund.OPEN).exclude(provider="manual")
           .filter(Q(submitted_at__isnull=True, created_at__lte=now - grace)
                   | Q(submitted_at__lte=now - grace))
           .order_by(F("last_checked_at").asc(nulls_first=True), "created_at")
           .values_list("id", flat=True)[:limit])
    for refund_id in list(due):
        Refund.objects.filter(pk=refund_id).update(last_checked_at=now)
        try:
            outcome = _reconcile_one(actor=actor, refund_id=refund_id, now=now)
        except Exception:  # one bad row must not stop the others: logged, retried next pass
            logger.exception("reconciling refund %s failed", refund_id)
            outcome = "errors"
        counts[outcome] += 1
    return counts


def _reconcile_one(*, actor: Actor, refund_id: str, now: datetime) -> str:
    refund = Refund.objects.select_related("charge").get(pk=refund_id)
    if refund.submitted_at is None:
        refund_execute(actor=actor, refund_id=refund_id, now=now)
        return "executed"
    try:
        view = provider_named(refund.provider).refund_find(
            refund_id=refund.id, provider_refund_id=refund.provider_refund_id or "",
            charge_reference=refund.charge.reference)
    except ProviderError:
        return "unreachable"
    if view is None:
        _refund_resend(actor=actor, refund_id=refund_id, now=now)
        return "resent"
    result = refund_answer_record(actor=actor, refund_id=refund_id, view=view, now=now)
    return "resolved" if result.status not in Refund.OPEN else "still_pending"


def _refund_resend(*, actor: Actor, refund_id: str, now: datetime) -> Refund:
    """The provider has never seen this refund: send it again (same key, so even a first call
    still in flight cannot make it twice)."""
    with transaction.atomic():
        refund = _locked_refund(refund_id)
        if refund.status not in Refund.OPEN:
            return refund
        if Dispute.objects.filter(charge_id=refund.charge_id, status__in=Dispute.OPEN).exists():
            return refund  # no refund while a dispute is open; the next pass after it closes
        before = snapshot(refund, _FIELDS)
        _move(refund, S.PENDING)
        refund.submitted_at = now
        refund.attempts += 1
        refund.save(update_fields=["status", "submitted_at", "attempts"])
        audit_record(actor=actor, action="refund.resubmit", obj=refund,
                     customer_id=refund.customer_id_copy, before=before,
                     after=snapshot(refund, _FIELDS),
                     note="the provider has no record of it: sent again with the same key")
    return _send(actor=actor, refund=refund, now=now)


def refund_mark_sent(*, actor: Actor, refund_id: str, reference: str,
                     now: datetime | None = None) -> Refund:
    """An agent made a manual refund (PayPal, bank transfer) and records its reference: the
    refund succeeds, in one transaction. Raises ``RefundError`` unless it is a manual refund
    still open."""
    reference = reference.strip()
    if not reference:
        raise RefundError("the reference of the transfer is required")
    with transaction.atomic():
        _lock_request_then_charge(refund_id)
        refund = _locked_refund(refund_id)
        if refund.provider != "manual":
            raise RefundError(f"refund {refund.id} goes through {refund.provider}; only manual "
                              "refunds are marked as sent by hand")
        if refund.status not in Refund.OPEN:
            raise RefundError(f"refund {refund.id} is already {refund.status}")
        refund.manual_reference = reference[:100]
        refund.save(update_fields=["manual_reference"])
        done = refund_finish(actor=actor, refund_id=refund_id, status=S.SUCCEEDED, reason="",
                             now=now or timezone.now(),
                             provider_refund_id=f"manual:{reference[:90]}")
        if done.status != S.SUCCEEDED:
            raise RefundError(f"refund {refund.id} is {done.status}: not recorded as sent")
        return done


def refund_cancel(*, actor: Actor, refund_id: str, reason: str,
                  now: datetime | None = None) -> Refund:
    """Cancel a refund that was never sent (a submitted one may have gone through: only the
    reconciler may close it). Releases its reservation on the charge."""
    if not reason.strip():
        raise RefundError("a reason is required")
    refund = refund_finish(actor=actor, refund_id=refund_id, status=S.CANCELED,
                           reason=reason, now=now or timezone.now(), unsent_only=True)
    if refund.status != S.CANCELED:
        raise RefundError(f"refund {refund.id} is already {refund.status}")
    return refund


def refunds_overdue_escalate(*, actor: Actor, now: datetime | None = None) -> int:
    """Escalate every refund still on its way after its latest expected day (once each): the
    request returns to the desk at the top, and the customer is told what happens next —
    before they need to call their bank (seed 000). Returns how many were escalated."""
    from ..refunds.services import refund_request_money_attention
    from .selectors import refunds_overdue

    now = now or timezone.now()
    count = 0
    for refund_id in list(refunds_overdue(today=timezone.localtime(now).date())
                          .values_list("id", flat=True)[:500]):
        with transaction.atomic():
            _lock_request_then_charge(refund_id)
            refund = Refund.objects.select_for_update(of=("self",)).select_related(
                "request__customer").get(pk=refund_id)
            if refund.overdue_escalated_at is not None or refund.status not in Refund.OPEN:
                continue
            refund.overdue_escalated_at = now
            refund.save(update_fields=["overdue_escalated_at"])
            audit_record(actor=actor, action="refund.overdue", obj=refund,
                         customer_id=refund.customer_id_copy,
                         note=f"expected by {refund.expected_by}")
            assert refund.request is not None
            refund_request_money_attention(
                actor=actor, request_id=refund.request_id or 0, now=now,
                note=f"refund {refund.id} is overdue (expected by {refund.expected_by})")
            customer = refund.request.customer
            email_enqueue(template="refund_overdue", to=customer.email,
                          language=customer.locale, context={"refund_id": refund.id})
            count += 1
    return count


def refund_retry(*, actor: Actor, request_id: int, now: datetime | None = None) -> Refund:
    """An agent sends an approved request's refund again after the last one failed or was
    canceled: a new refund (new id) for the approved amount."""
    from ..refunds.models import RefundRequest

    now = now or timezone.now()
    with transaction.atomic():
        request = RefundRequest.objects.select_for_update().get(pk=request_id)
        if request.status != RefundRequest.Status.APPROVED or not request.approved_amount:
            raise RefundError(f"refund request #{request.pk} is {request.status}: only an "
                              "approved request's refund can be sent again")
        charge = Charge.objects.select_for_update().get(pk=request.charge_id)
        if Refund.objects.filter(request=request).exclude(
                status__in=[S.FAILED, S.CANCELED]).exists():
            raise RefundError(f"refund request #{request.pk} already has a refund that is on "
                              "its way or arrived")
        refund = refund_reserve(actor=actor, charge=charge, amount=request.approved_amount,
                                request_id=request.pk, now=now)
        request.money_attention = ""
        request.save(update_fields=["money_attention"])
    return refund


def money_batch_run(*, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """One pass of the periodic money work (see ``tasks.money_batch``)."""
    from .provider_events import sandbox_webhooks_deliver
    from .providers.sandbox import SandboxProvider

    now = now or timezone.now()
    settled = SandboxProvider().settle_due(now=now)
    delivered = sandbox_webhooks_deliver(now=now)
    reconciled = refunds_reconcile(actor=actor, now=now)
    overdue = refunds_overdue_escalate(actor=actor, now=now)
    return {"sandbox_settled": settled, "sandbox_webhooks": delivered, **reconciled,
            "overdue_escalated": overdue}
