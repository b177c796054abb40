"""Desk services against a real database: tickets with SLA timers on business hours, replies
e-mailed through a real SMTP server in the customer's language, internal notes never mailed,
assignment, status transitions, macros and SLA escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.desk.business_hours import PARIS
from refundable.desk.models import Macro, Ticket
from refundable.desk.services import (
    DeskError,
    macro_apply,
    sla_escalate_overdue,
    ticket_assign,
    ticket_create,
    ticket_note_add,
    ticket_reply,
    ticket_status_set,
)
from refundable.desk.tasks import sla_escalate, sla_escalation_schedule
from refundable.refunds.models import RefundRequest
from refundable.testing.factories import NOW
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .helpers import actor_of, agent, customer, membership_charge, request_for, team

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime(2026, 3, 2, 10, tzinfo=PARIS)


def new_ticket(**kwargs: Any) -> Ticket:
    values: dict[str, Any] = {"category": "billing", "subject": "Charged twice",
                              "body": "I was charged twice this month.", "now": MONDAY_10}
    values.update(kwargs)
    return ticket_create(actor=Actor.system("test"), **values)


def test_a_ticket_is_routed_and_gets_its_sla_timers_on_business_hours() -> None:
    team("billing")
    tech = team("technical")
    owner = customer()
    ticket = new_ticket(category="technical", channel="phone", customer_id=owner.pk)
    assert ticket.team == tech and ticket.status == "new" and ticket.priority == 2
    # Priority 2: first answer within 8 business hours; technical: solved within 2 days.
    assert ticket.first_response_due_at == datetime(2026, 3, 2, 18, tzinfo=PARIS)
    assert ticket.resolution_due_at == datetime(2026, 3, 4, 20, tzinfo=PARIS)
    message = ticket.messages.get()
    assert (message.internal, message.author) == (False, owner.name)
    event = AuditEvent.objects.get(action="ticket.create")
    assert event.object_id == str(ticket.pk) and event.customer_id == owner.pk
    friday_evening = new_ticket(priority=1, now=datetime(2026, 3, 6, 19, 30, tzinfo=PARIS))
    assert friday_evening.first_response_due_at == datetime(2026, 3, 9, 10, 30, tzinfo=PARIS)


def test_a_ticket_about_a_request_is_due_with_the_request_on_business_hours() -> None:
    special = team("special", confidential=True)
    charge = membership_charge()
    request = request_for(charge, "special_circumstances", documents=["death_certificate"])
    # The policy answers within 14 days (Sunday 15 March 11:00 in Paris); the desk works
    # on business hours, so the review is due by the Friday before, at closing time.
    assert request.status == "in_review"
    assert request.sla_due_at == datetime(2026, 3, 13, 20, tzinfo=PARIS)
    assert request.team == special
    ticket = new_ticket(category="refund", refund_request_id=request.pk, now=NOW)
    assert ticket.customer_id == request.customer_id and ticket.team == special
    assert ticket.resolution_due_at == request.sla_due_at
    other = customer("other@example.test")
    with pytest.raises(DeskError, match="another customer"):
        new_ticket(refund_request_id=request.pk, customer_id=other.pk)


def test_bad_tickets_are_refused() -> None:
    with pytest.raises(DeskError, match="category"):
        new_ticket(category="nonsense")
    with pytest.raises(DeskError, match="channel"):
        new_ticket(channel="fax")
    with pytest.raises(DeskError, match="subject"):
        new_ticket(subject="  ")
    with pytest.raises(DeskError, match="priority"):
        new_ticket(priority=9)
    assert not Ticket.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_reply_is_mailed_in_the_customers_language_and_an_internal_note_never(
        smtp: Any) -> None:
    owner = customer("claire@example.test", locale="fr")
    ana = agent("ana")
    ticket = new_ticket(customer_id=owner.pk)
    note = ticket_note_add(actor=actor_of(ana), ticket_id=ticket.pk,
                           body="Customer sounded upset; check the bank statement first.")
    assert note.internal is True
    reply = ticket_reply(actor=actor_of(ana), ticket_id=ticket.pk, now=MONDAY_10 + timedelta(
        hours=1), body="Bonjour, nous avons bien vu le double prélèvement.")
    assert reply.internal is False and reply.author == "Ana"
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.first_responded_at == MONDAY_10 + timedelta(hours=1)
    run_queued_jobs()
    mails = [m for m in smtp.messages if f"[#{ticket.pk}]" in str(m["Subject"])]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == "claire@example.test"
    assert mail["Subject"] == f"Re : Charged twice [#{ticket.pk}]"
    body = text_of(mail)
    assert "Bonjour Claire" in body and "double prélèvement" in body and "service client" in body
    assert not any("upset" in text_of(m) for m in smtp.messages)
    actions = list(AuditEvent.objects.filter(object_type="desk.ticket")
                   .values_list("action", flat=True))
    assert actions == ["ticket.create", "ticket.note_add", "ticket.reply"]


@pytest.mark.django_db(transaction=True)
def test_a_reply_to_an_english_customer_is_in_english(smtp: Any) -> None:
    owner = customer("sam@example.test", locale="en")
    ticket = new_ticket(customer_id=owner.pk, subject="Can't sign in")
    ticket_reply(actor=actor_of(agent("ana")), ticket_id=ticket.pk, body="Try the reset link.")
    run_queued_jobs()
    mail = next(m for m in smtp.messages if m["To"] == "sam@example.test")
    assert mail["Subject"] == f"Re: Can't sign in [#{ticket.pk}]"
    assert "Hello Sam" in text_of(mail) and "customer support" in text_of(mail)


def test_no_reply_without_a_customer_nor_on_a_closed_ticket() -> None:
    ana = actor_of(agent("ana"))
    orphan = new_ticket()
    with pytest.raises(DeskError, match="no customer"):
        ticket_reply(actor=ana, ticket_id=orphan.pk, body="Hello")
    with pytest.raises(DeskError, match="empty"):
        ticket_reply(actor=ana, ticket_id=orphan.pk, body=" ")
    with pytest.raises(DeskError, match="empty"):
        ticket_note_add(actor=ana, ticket_id=orphan.pk, body="")
    owner = customer()
    ticket = new_ticket(customer_id=owner.pk)
    ticket_status_set(actor=ana, ticket_id=ticket.pk, status="closed")
    with pytest.raises(DeskError, match="closed"):
        ticket_reply(actor=ana, ticket_id=ticket.pk, body="Hello")


def test_assignment_to_a_team_and_an_agent_of_that_team() -> None:
    billing, tech = team("billing"), team("technical")
    ana = agent("ana", teams=(billing,))
    ticket = new_ticket()
    assert ticket.team == billing
    ticket = ticket_assign(actor=actor_of(ana), ticket_id=ticket.pk, team_id=billing.pk,
                           assignee_id=ana.pk)
    assert (ticket.team_id, ticket.assignee_id) == (billing.pk, ana.pk)
    with pytest.raises(DeskError, match="not a member"):
        ticket_assign(actor=actor_of(ana), ticket_id=ticket.pk, team_id=tech.pk,
                      assignee_id=ana.pk)
    stranger = customer().user
    assert stranger is not None
    with pytest.raises(DeskError, match="agents and operators"):
        ticket_assign(actor=actor_of(ana), ticket_id=ticket.pk, team_id=None,
                      assignee_id=stranger.pk)
    ticket_assign(actor=actor_of(ana), ticket_id=ticket.pk, team_id=tech.pk, assignee_id=None)
    ticket_assign(actor=actor_of(ana), ticket_id=ticket.pk, team_id=tech.pk, assignee_id=None)
    events = AuditEvent.objects.filter(action="ticket.assign")
    assert events.count() == 2  # the repeated assignment changed nothing and is not recorded
    last = events.last()
    assert last is not None and last.after is not None
    assert last.after["team_id"] == tech.pk and last.after["assignee_id"] is None


def test_status_follows_the_transition_table() -> None:
    ana = actor_of(agent("ana"))
    ticket = new_ticket()
    ticket = ticket_status_set(actor=ana, ticket_id=ticket.pk, status="pending",
                               now=MONDAY_10)
    ticket = ticket_status_set(actor=ana, ticket_id=ticket.pk, status="solved",
                               now=MONDAY_10 + timedelta(hours=2))
    assert ticket.solved_at == MONDAY_10 + timedelta(hours=2)
    with pytest.raises(DeskError, match="cannot become pending"):
        ticket_status_set(actor=ana, ticket_id=ticket.pk, status="pending")
    ticket = ticket_status_set(actor=ana, ticket_id=ticket.pk, status="open")
    assert ticket.solved_at is None
    with pytest.raises(DeskError, match="cannot become closed"):
        ticket_status_set(actor=ana, ticket_id=ticket.pk, status="closed")
    event = AuditEvent.objects.filter(action="ticket.status").first()
    assert event is not None and event.before is not None and event.after is not None
    assert (event.before["status"], event.after["status"]) == ("new", "pending")


def test_a_macro_fills_the_reply_in_the_customers_language() -> None:
    macro = Macro.objects.create(
        name="Refund on its way",
        body_en="Hello {customer_name}, your refund (ticket {ticket_id}) is on its way. "
                "{agent_name}",
        body_fr="Bonjour {customer_name}, votre remboursement (ticket {ticket_id}) est en route. "
                "{agent_name} {unknown}")
    ana = actor_of(agent("ana"))
    french = new_ticket(customer_id=customer("claire@example.test", locale="fr").pk)
    english = new_ticket(customer_id=customer("sam@example.test", locale="en").pk)
    assert macro_apply(actor=ana, ticket_id=french.pk, macro_id=macro.pk) == (
        f"Bonjour Claire, votre remboursement (ticket {french.pk}) est en route. Ana {{unknown}}")
    assert macro_apply(actor=ana, ticket_id=english.pk, macro_id=macro.pk) == (
        f"Hello Sam, your refund (ticket {english.pk}) is on its way. Ana")
    assert not french.messages.filter(body__contains="remboursement").exists()  # nothing sent


def test_escalation_marks_overdue_work_priority_1_once() -> None:
    team("billing")
    owner = customer()
    late = new_ticket(customer_id=owner.pk, now=MONDAY_10)   # first answer due 18:00
    answered = new_ticket(customer_id=owner.pk, now=MONDAY_10)
    ticket_reply(actor=Actor.system("test"), ticket_id=answered.pk, body="On it.",
                 now=MONDAY_10)
    waiting = new_ticket(customer_id=owner.pk, now=MONDAY_10)
    ticket_status_set(actor=Actor.system("test"), ticket_id=waiting.pk, status="pending")
    request = request_for(membership_charge(owner=owner), "wrongful_charge", at=NOW)
    assert request.status == "in_review" and request.sla_due_at is not None

    evening = datetime(2026, 3, 2, 18, 30, tzinfo=PARIS)
    assert sla_escalate_overdue(actor=Actor.system("sla"), now=evening) == {
        "tickets": 1, "requests": 0}
    late.refresh_from_db()
    assert (late.priority, late.escalated_at) == (1, evening)
    assert Ticket.objects.get(pk=answered.pk).priority == 2  # answered: resolution not due yet
    assert Ticket.objects.get(pk=waiting.pk).priority == 2   # waiting on the customer

    after_review = request.sla_due_at + timedelta(minutes=1)
    # The answered ticket's resolution (10 business days: Monday 16 March) is not due yet.
    assert sla_escalate_overdue(actor=Actor.system("sla"), now=after_review) == {
        "tickets": 0, "requests": 1}
    request.refresh_from_db()
    assert (request.priority, request.escalated_at) == (1, after_review)
    assert sla_escalate_overdue(actor=Actor.system("sla"), now=after_review) == {
        "tickets": 0, "requests": 0}
    escalated = AuditEvent.objects.filter(action="sla.escalated")
    assert sorted(escalated.values_list("object_type", flat=True)) == [
        "desk.ticket", "refunds.refundrequest"]
    assert all(event.actor == "system:sla" for event in escalated)


@pytest.mark.django_db(transaction=True)
def test_the_escalation_job_runs_in_the_worker(time_machine: Any) -> None:
    time_machine.move_to(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)  # 10:00 Paris
    ticket = new_ticket(now=None)
    time_machine.shift(timedelta(hours=9))  # 19:00 Paris: the first answer was due at 18:00
    sla_escalate.enqueue()
    run_queued_jobs()
    ticket.refresh_from_db()
    assert ticket.priority == 1
    assert AuditEvent.objects.filter(action="sla.escalated", object_id=str(ticket.pk)).exists()
    assert RefundRequest.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_escalation_batch_keeps_itself_scheduled(time_machine: Any) -> None:
    time_machine.move_to(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)  # 10:00 Paris
    assert sla_escalation_schedule(every_minutes=5) is True
    assert sla_escalation_schedule(every_minutes=5) is False  # one chain only
    ticket = new_ticket(now=None)
    run_queued_jobs()  # runs now, nothing is late yet; the next run waits 5 minutes
    assert Ticket.objects.get(pk=ticket.pk).priority == 2
    time_machine.shift(timedelta(hours=8, minutes=3))  # 18:03: the first answer was due 18:00
    run_queued_jobs()
    assert Ticket.objects.get(pk=ticket.pk).priority == 1
    assert sla_escalation_schedule() is False  # the chain goes on
