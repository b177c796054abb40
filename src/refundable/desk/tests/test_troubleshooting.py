"""Seed 004, troubleshooting first: the request opens a technical ticket and a 48-hour clock;
when the clock ends with the problem unresolved the policy decides again (as of the original
request time); when support solves the problem the request closes. Time is frozen and moved
with time-machine; the clock is a real delayed job run by the worker's batch mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from refundable.audit.models import AuditEvent
from refundable.desk.models import Ticket
from refundable.desk.services import ticket_status_set
from refundable.refunds.models import Decision, RefundRequest
from refundable.refunds.services import (
    RefundRequestError,
    refund_request_troubleshooting_resolve,
)
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .helpers import actor_of, agent, customer, iptv_charge, request_for, team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk_teams() -> None:
    team("billing")
    team("technical")
    team("special", confidential=True)


def troubleshooting_request(hours_since_purchase: int = 5) -> RefundRequest:
    # A US customer: no statutory withdrawal right, so the merchant policy speaks first.
    owner = customer("sam@example.test", locale="en")
    owner.country = "US"
    owner.save()
    charge = iptv_charge(owner=owner, captured_at=NOW - timedelta(hours=hours_since_purchase))
    request = request_for(charge, "technical_issue", at=NOW)
    assert request.status == "troubleshooting"
    return request


def test_the_request_opens_a_technical_ticket_and_a_48_hour_clock(
        time_machine: Any, desk_teams: None) -> None:
    time_machine.move_to(NOW, tick=False)
    request = troubleshooting_request()
    assert request.troubleshooting_state == "in_progress"
    assert request.troubleshooting_started_at == NOW
    assert request.sla_due_at == NOW + timedelta(hours=48)
    assert request.team is not None and request.team.code == "technical"
    ticket = Ticket.objects.get(refund_request=request)
    assert (ticket.category, ticket.status, ticket.customer_id) == (
        "technical", "new", request.customer_id)
    assert ticket.team is not None and ticket.team.code == "technical"
    assert ticket.created_at == NOW
    # The desk's SLA stays on business hours: the clock ends Tuesday 11:00 in Paris (open).
    assert ticket.resolution_due_at == request.sla_due_at
    assert ticket.messages.get().body == "It does not work at all."
    decision = Decision.objects.get(request=request)
    assert decision.outcome == "troubleshoot_first"
    assert decision.payload["retry_after"] == (NOW + timedelta(hours=48)).isoformat()


def test_still_unresolved_when_the_clock_ends_the_policy_grants_the_full_refund(
        time_machine: Any, desk_teams: None, smtp: Any) -> None:
    time_machine.move_to(NOW, tick=False)
    request = troubleshooting_request(hours_since_purchase=5)
    run_queued_jobs()
    assert RefundRequest.objects.get(pk=request.pk).status == "troubleshooting"

    time_machine.shift(timedelta(hours=47, minutes=59))
    run_queued_jobs()  # one minute early: the job is not due yet
    assert RefundRequest.objects.get(pk=request.pk).status == "troubleshooting"

    time_machine.shift(timedelta(minutes=2))
    run_queued_jobs()
    request.refresh_from_db()
    assert (request.status, request.approved_amount) == ("approved", 1499)
    assert request.troubleshooting_state == "unresolved"
    first, second = Decision.objects.filter(request=request).order_by("id")
    assert first.outcome == "troubleshoot_first"
    # Decided again as of the original request (5 h after the purchase, inside 72 h), not as
    # of now (53 h after): the customer keeps the full refund the policy promised.
    assert second.decided_by == "engine" and second.rule == "full-refund-within-72-hours"
    assert second.facts["troubleshooting"] == "unresolved"
    assert second.facts["requested_at"] == NOW.isoformat()
    assert (second.outcome, second.amount) == ("refund", 1499)
    actions = list(AuditEvent.objects.filter(object_type="refunds.refundrequest")
                   .values_list("action", "actor"))
    assert ("refund_request.troubleshooting_unresolved", "system:troubleshooting-clock") in actions
    assert actions[-1] == ("refund_request.decide", "system:policy-engine")
    ticket = Ticket.objects.get(refund_request=request)
    assert ticket.status == "solved"
    note = ticket.messages.get(internal=True)
    assert "unresolved" in note.body and "approved" in note.body

    decided = [m for m in smtp.messages if m["To"] == "sam@example.test"
               and str(m["Subject"]).endswith(": approved")]
    assert len(decided) == 1 and "€14.99" in text_of(decided[0])  # told of the new decision

    time_machine.shift(timedelta(hours=1))
    run_queued_jobs()  # nothing left to do, and nothing decided twice
    assert Decision.objects.filter(request=request).count() == 2


def test_after_72_hours_the_new_decision_goes_to_review_above_the_auto_approve_limit(
        time_machine: Any, desk_teams: None, settings: Any) -> None:
    settings.REFUNDABLE_AUTO_APPROVE_LIMIT = 1000
    time_machine.move_to(NOW, tick=False)
    request = troubleshooting_request(hours_since_purchase=96)
    time_machine.shift(timedelta(hours=48, seconds=1))
    run_queued_jobs()
    request.refresh_from_db()
    assert request.status == "in_review" and request.approved_amount is None
    last = Decision.objects.filter(request=request).order_by("id").last()
    assert last is not None and last.rule == "partial-refund-by-usage"
    assert request.sla_due_at is not None and request.sla_due_at > NOW + timedelta(hours=48)
    assert request.team is not None and request.team.code == "billing"  # a refund to review


def test_an_agent_resolving_the_problem_closes_the_request_and_stops_the_clock(
        time_machine: Any, desk_teams: None) -> None:
    time_machine.move_to(NOW, tick=False)
    request = troubleshooting_request()
    ana = agent("ana", teams=(team("technical"),))
    time_machine.shift(timedelta(hours=20))
    closed = refund_request_troubleshooting_resolve(
        actor=actor_of(ana), request_id=request.pk, note="Reinstalled the app; channels play.")
    assert (closed.status, closed.troubleshooting_state) == ("closed", "resolved")
    assert closed.resolution_note == "Reinstalled the app; channels play."
    ticket = Ticket.objects.get(refund_request=request)
    assert ticket.status == "solved" and ticket.solved_at == NOW + timedelta(hours=20)
    with pytest.raises(RefundRequestError, match="not in troubleshooting"):
        refund_request_troubleshooting_resolve(actor=actor_of(ana), request_id=request.pk)

    time_machine.shift(timedelta(hours=30))
    run_queued_jobs()  # the clock's job finds the request closed and does nothing
    request.refresh_from_db()
    assert request.status == "closed"
    assert Decision.objects.filter(request=request).count() == 1


def test_solving_the_technical_ticket_is_resolving_the_problem(
        time_machine: Any, desk_teams: None) -> None:
    time_machine.move_to(NOW, tick=False)
    request = troubleshooting_request()
    ticket = Ticket.objects.get(refund_request=request)
    ana = agent("ana", teams=(team("technical"),))
    ticket_status_set(actor=actor_of(ana), ticket_id=ticket.pk, status="solved")
    request.refresh_from_db()
    assert (request.status, request.troubleshooting_state) == ("closed", "resolved")
    event = AuditEvent.objects.get(action="refund_request.troubleshooting_resolve")
    assert event.actor == "agent:ana" and f"#{ticket.pk}" in event.note
