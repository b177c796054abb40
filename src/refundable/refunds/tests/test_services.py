"""Refund request services against a real database, deciding with the real policies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.refunds.models import Decision, RefundRequest
from refundable.refunds.selectors import refund_preview
from refundable.refunds.services import (
    RefundRequestError,
    refund_request_approve,
    refund_request_create,
    refund_request_deny,
)
from refundable.testing.factories import NOW, ChargeFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def create(charge: Charge, reason: str = "dissatisfied", days: int = 0) -> RefundRequest:
    return refund_request_create(
        actor=Actor("customer", str(charge.order.customer_id)),
        customer_id=charge.order.customer_id, charge_id=charge.pk, reason=reason,
        description="not what I expected", now=NOW + timedelta(days=days))


def test_within_the_guarantee_small_refund_is_approved_and_frozen() -> None:
    """« éligible à un remboursement ... dans les 60 jours qui suivent la date d'achat »."""
    charge = ChargeFactory.create()  # annual plan, bought 10 days before NOW, French consumer
    request = create(charge, days=20)  # day 30
    assert request.status == "approved" and request.approved_amount == 8999
    decision = Decision.objects.get(request=request)
    assert decision.policy == "annual-60-day-guarantee@1"
    assert decision.rule == "money-back-60-days" and decision.amount == 8999
    assert decision.facts["country"] == "FR" and decision.payload["explanation"]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["refund_request.create", "refund_request.decide", "refund.create"]


def test_preview_equals_the_decision_recorded() -> None:
    charge = ChargeFactory.create()
    preview = refund_preview(charge=charge, requested_at=NOW + timedelta(days=5),
                             reason="dissatisfied")
    request = create(charge, days=5)
    recorded = Decision.objects.get(request=request)
    assert (preview.outcome, preview.amount, preview.rule) == (
        recorded.outcome, recorded.amount, recorded.rule)


def test_guarantee_over_is_denied_and_an_agent_can_override_with_a_reason() -> None:
    charge = ChargeFactory.create()
    request = create(charge, days=70)
    assert request.status == "denied"
    agent = Actor("agent", "ana")
    with pytest.raises(RefundRequestError, match="cannot become approved"):
        refund_request_approve(actor=agent, request_id=request.pk, amount=5000,
                               reason="goodwill")


def test_review_then_agent_approves_partial_amount_within_refundable() -> None:
    charge = ChargeFactory.create()
    request = create(charge, reason="duplicate_charge", days=30)
    assert request.status == "in_review" and request.sla_due_at is not None
    agent = Actor("agent", "ana")
    with pytest.raises(RefundRequestError, match="between 1 and 8999"):
        refund_request_approve(actor=agent, request_id=request.pk, amount=9000, reason="dup")
    with pytest.raises(RefundRequestError, match="reason is required"):
        refund_request_approve(actor=agent, request_id=request.pk, amount=100, reason=" ")
    approved = refund_request_approve(actor=agent, request_id=request.pk, amount=4500,
                                      reason="charged twice, half refunded")
    assert approved.status == "approved" and approved.approved_amount == 4500
    last = Decision.objects.filter(request=request).last()
    assert last is not None and last.decided_by == "agent:ana"
    assert last.override_reason == "charged twice, half refunded"


def test_deny_by_agent_records_the_reason() -> None:
    charge = ChargeFactory.create()
    request = create(charge, reason="wrongful_charge", days=30)
    denied = refund_request_deny(actor=Actor("agent", "ana"), request_id=request.pk,
                                 reason="the charge is correct")
    assert denied.status == "denied"
    event = AuditEvent.objects.get(action="refund_request.deny")
    assert event.note == "the charge is correct" and event.actor == "agent:ana"


def test_another_customers_charge_is_not_found() -> None:
    charge = ChargeFactory.create()
    stranger = CustomerFactory.create(email="stranger@example.test", user=None)
    with pytest.raises(Exception) as error:
        refund_request_create(actor=Actor("customer", str(stranger.pk)),
                              customer_id=stranger.pk, charge_id=charge.pk,
                              reason="dissatisfied", now=NOW)
    assert type(error.value).__name__ == "DoesNotExist"
    assert not RefundRequest.objects.exists()


def test_an_approved_refund_counts_as_pending_for_the_next_request() -> None:
    """Refundable = captured − refunded − pending: a second request on a charge whose first
    refund is approved (not yet executed) cannot be owed the whole amount again."""
    charge = ChargeFactory.create()
    first = create(charge, days=5)
    assert first.status == "approved" and first.approved_amount == 8999
    second = refund_request_create(
        actor=Actor("customer", str(charge.order.customer_id)),
        customer_id=charge.order.customer_id, charge_id=charge.pk, reason="duplicate_charge",
        now=NOW + timedelta(days=6))
    decision = Decision.objects.filter(request=second).first()
    assert decision is not None and decision.facts["already_refunded"] == 8999
    with pytest.raises(RefundRequestError, match="between 1 and 0"):
        refund_request_approve(actor=Actor("agent", "ana"), request_id=second.pk, amount=1,
                               reason="again")
