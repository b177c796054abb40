"""The desk through real URLs with the test client: who gets in, the queue's order and
filters, approve / partial / deny / ask for information on a request, replies, notes, macros,
assignment and status on a ticket, and the audit trail of each."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.desk.business_hours import PARIS
from refundable.desk.models import Macro, Team, Ticket
from refundable.desk.selectors import desk_queue
from refundable.desk.services import ticket_create
from refundable.refunds.models import Decision, RefundRequest
from refundable.testing.factories import NOW, ChargeFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import text_of

from .helpers import agent, customer, iptv_charge, request_for, team

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing() -> Team:
    return team("billing")


@pytest.fixture
def ana(billing: Team) -> User:
    return agent("ana", teams=(billing,))


@pytest.fixture
def desk(client: Client, ana: User) -> Client:
    client.force_login(ana)
    return client


def review_request(reason: str = "duplicate_charge") -> RefundRequest:
    """Seed 003's annual plan: a duplicate charge goes to an agent."""
    charge = ChargeFactory.create()
    request = request_for(charge, reason, at=NOW + timedelta(days=30))
    assert request.status == "in_review"
    return request


def new_ticket(**kwargs: Any) -> Ticket:
    values: dict[str, Any] = {"category": "billing", "subject": "Charged twice",
                              "body": "Two charges on my statement.", "now": NOW}
    values.update(kwargs)
    return ticket_create(actor=Actor.system("test"), **values)


def queue_order(html: str) -> list[tuple[str, int]]:
    return [(kind, int(pk)) for kind, pk in
            re.findall(r'class="queue-item" data-kind="(\w+)" data-id="(\d+)"', html)]


# --- Who gets in ------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_desk_sign_in(client: Client) -> None:
    response = client.get("/desk/")
    assert response.status_code == 302
    assert response["Location"] == "/desk/login/?next=/desk/"


def test_customers_and_other_users_are_refused(client: Client, billing: Team) -> None:
    request = review_request()
    ticket = new_ticket(customer_id=request.customer_id)
    owner = request.customer.user
    assert owner is not None
    superuser = User.objects.create_superuser("root", "root@example.test", "pw-1234567")
    for user in (owner, superuser):  # a StaffProfile, not is_staff/is_superuser, opens the desk
        client.force_login(user)
        for url in ("/desk/", f"/desk/requests/{request.pk}/", f"/desk/tickets/{ticket.pk}/",
                    "/desk/tickets/new/"):
            assert client.get(url).status_code == 403, url
        response = client.post(f"/desk/requests/{request.pk}/approve/",
                               {"amount": "89.99", "reason": "me"})
        assert response.status_code == 403
        assert client.post(f"/desk/tickets/{ticket.pk}/note/",
                           {"body": "hi"}).status_code == 403
    assert RefundRequest.objects.get(pk=request.pk).status == "in_review"
    assert not ticket.messages.filter(internal=True).exists()


def test_sign_in_with_a_password_leads_to_the_queue(client: Client, ana: User) -> None:
    page = client.get("/desk/login/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    wrong = client.post("/desk/login/", {"username": "ana", "password": "nope"})
    assert wrong.status_code == 200 and "Wrong user name or password" in wrong.content.decode()
    response = client.post("/desk/login/", {"username": "ana",
                                            "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200
    client.post("/desk/logout/")
    assert client.get("/desk/").status_code == 302


def test_password_guessing_is_rate_limited(client: Client, ana: User) -> None:
    for _ in range(10):
        client.post("/desk/login/", {"username": "ana", "password": "guess"})
    response = client.post("/desk/login/", {"username": "ana",
                                            "password": "correct horse battery"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_unknown_ids_are_404(desk: Client) -> None:
    assert desk.get("/desk/requests/999/").status_code == 404
    assert desk.get("/desk/tickets/999/").status_code == 404
    assert desk.post("/desk/requests/999/deny/", {"reason": "x"}).status_code == 404
    assert desk.post("/desk/tickets/999/reply/", {"body": "x"}).status_code == 404
    assert desk.get("/desk/attachments/999/").status_code == 404


def test_the_desk_speaks_french(desk: Client) -> None:
    page = desk.get("/desk/", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200 and '<html lang="fr">' in page.content.decode()


# --- The queue --------------------------------------------------------------------------------

def test_the_queue_is_ordered_by_sla_due_time_overdue_first(desk: Client, ana: User,
                                                            billing: Team) -> None:
    tech = team("technical")
    request = review_request()  # due by the desk's last business instant before day 14
    no_deadline = new_ticket(subject="No deadline")
    Ticket.objects.filter(pk=no_deadline.pk).update(first_response_due_at=None,
                                                    resolution_due_at=None)
    soon = new_ticket(subject="Due soon", category="technical")
    overdue = new_ticket(subject="Overdue", now=datetime(2026, 1, 5, 10, tzinfo=PARIS))
    solved = new_ticket(subject="Solved already")
    Ticket.objects.filter(pk=solved.pk).update(status="solved")
    response = desk.get("/desk/")
    assert response.status_code == 200
    html = response.content.decode()
    assert queue_order(html) == [("ticket", overdue.pk), ("ticket", soon.pk),
                                 ("request", request.pk), ("ticket", no_deadline.pk)]
    assert "overdue" in html and "Due soon" in html and "Solved already" not in html

    technical = queue_order(desk.get("/desk/", {"category": "technical"}).content.decode())
    assert technical == [("ticket", soon.pk)]
    by_team = queue_order(desk.get("/desk/", {"team": tech.pk}).content.decode())
    assert by_team == [("ticket", soon.pk)]
    refunds_only = queue_order(desk.get("/desk/", {"kind": "request"}).content.decode())
    assert refunds_only == [("request", request.pk)]
    in_review = queue_order(desk.get("/desk/", {"status": "in_review"}).content.decode())
    assert in_review == [("request", request.pk)]
    first_two = desk_queue(now=NOW, limit=2)  # ordered and cut in the database, then merged
    assert [(item.kind, item.pk) for item in first_two] == [("ticket", overdue.pk),
                                                             ("ticket", soon.pk)]

    desk.post(f"/desk/tickets/{soon.pk}/assign/", {"team": tech.pk, "assignee": ""})
    desk.post(f"/desk/requests/{request.pk}/assign/", {"team": billing.pk, "assignee": ana.pk})
    mine = queue_order(desk.get("/desk/", {"assignee": "me"}).content.decode())
    assert mine == [("request", request.pk)]
    nobody = queue_order(desk.get("/desk/", {"assignee": "none"}).content.decode())
    assert ("request", request.pk) not in nobody and ("ticket", soon.pk) in nobody


# --- A refund request -------------------------------------------------------------------------

def test_the_request_page_shows_the_customer_and_the_policys_explained_decision(
        desk: Client) -> None:
    request = review_request()
    page = desk.get(f"/desk/requests/{request.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    charge = request.charge
    subscription = charge.order.subscription
    assert subscription is not None
    for expected in (request.customer.name, request.customer.email, subscription.reference,
                     charge.order.order_number, charge.order.invoice_number,
                     "annual-60-day-guarantee@1", "Explanation: every rule tried"):
        assert expected in html, expected
    decision = Decision.objects.get(request=request)
    assert decision.payload["explanation"]
    first_rule = decision.payload["explanation"][0]
    assert first_rule["rule"] in html
    # The customer is French: the message they were given, in French.
    assert decision.payload["messages"]["fr"][:40] in html.replace("&#x27;", "'")
    assert "Approve the refund" in html and "Deny the refund" in html
    assert "refund_request.create" in html and "refund_request.decide" in html  # audit trail


def test_approve_in_full_through_the_desk(desk: Client) -> None:
    request = review_request()
    response = desk.post(f"/desk/requests/{request.pk}/approve/",
                         {"amount": "89.99", "reason": "Charged twice: confirmed."})
    assert response.status_code == 302
    assert response["Location"] == f"/desk/requests/{request.pk}/"
    request.refresh_from_db()
    assert (request.status, request.approved_amount) == ("approved", 8999)
    event = AuditEvent.objects.get(action="refund_request.approve")
    assert event.actor == "agent:ana" and event.actor_user is not None
    page = desk.get(response["Location"]).content.decode()
    assert "Refund approved." in page and "Approve the refund" not in page


def test_a_partial_amount_is_an_override_with_its_reason(desk: Client) -> None:
    request = review_request()
    desk.post(f"/desk/requests/{request.pk}/approve/",
              {"amount": "45.00", "reason": "Half: one charge was used."})
    request.refresh_from_db()
    assert (request.status, request.approved_amount) == ("approved", 4500)
    last = Decision.objects.filter(request=request).order_by("id").last()
    assert last is not None and last.decided_by == "agent:ana" and last.amount == 4500
    assert last.override_reason == "Half: one charge was used."
    note = AuditEvent.objects.get(action="refund_request.approve").note
    assert note == "override: Half: one charge was used."
    assert "override" in desk.get(f"/desk/requests/{request.pk}/").content.decode()


def test_approval_needs_a_reason_and_an_amount_within_the_refundable(desk: Client) -> None:
    request = review_request()
    url = f"/desk/requests/{request.pk}/approve/"
    no_reason = desk.post(url, {"amount": "89.99", "reason": ""})
    assert no_reason.status_code == 400 and "This field is required" in no_reason.content.decode()
    too_much = desk.post(url, {"amount": "90.00", "reason": "goodwill"})
    assert too_much.status_code == 409
    assert "between 1 and 8999" in too_much.content.decode()
    fraction = desk.post(url, {"amount": "10.005", "reason": "goodwill"})
    assert fraction.status_code == 400 and "at most 2 decimals" in fraction.content.decode()
    request.refresh_from_db()
    assert request.status == "in_review"
    assert not AuditEvent.objects.filter(action="refund_request.approve").exists()


def test_deny_with_a_reason(desk: Client) -> None:
    request = review_request(reason="wrongful_charge")
    assert desk.post(f"/desk/requests/{request.pk}/deny/", {"reason": ""}).status_code == 400
    response = desk.post(f"/desk/requests/{request.pk}/deny/",
                         {"reason": "The charge matches the renewal you agreed to."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "denied"
    assert request.resolution_note == "The charge matches the renewal you agreed to."
    again = desk.post(f"/desk/requests/{request.pk}/deny/", {"reason": "twice"})
    assert again.status_code == 409 and "cannot become denied" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_ask_for_information_mails_the_question(desk: Client, smtp: Any) -> None:
    request = review_request()
    question = "Could you send the bank statement showing both charges?"
    response = desk.post(f"/desk/requests/{request.pk}/ask-info/", {"question": question})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "info_requested"
    event = AuditEvent.objects.get(action="refund_request.ask_info")
    assert event.note == question and event.actor == "agent:ana"
    run_queued_jobs()
    mails = [m for m in smtp.messages if question in text_of(m)]
    assert len(mails) == 1 and mails[0]["To"] == request.customer.email


def test_assign_a_request(desk: Client, ana: User, billing: Team) -> None:
    request = review_request()
    other = team("technical")
    bad = desk.post(f"/desk/requests/{request.pk}/assign/",
                    {"team": other.pk, "assignee": ana.pk})
    assert bad.status_code == 409 and "not a member of the team" in bad.content.decode()
    desk.post(f"/desk/requests/{request.pk}/assign/", {"team": billing.pk, "assignee": ana.pk})
    request.refresh_from_db()
    assert (request.team_id, request.assignee_id) == (billing.pk, ana.pk)
    assert AuditEvent.objects.filter(action="refund_request.assign").count() == 1


# --- A ticket ---------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_reply_note_macro_assign_and_status_on_a_ticket(desk: Client, smtp: Any, ana: User,
                                                        billing: Team) -> None:
    owner = customer("claire@example.test", locale="fr")
    ticket = new_ticket(customer_id=owner.pk)
    Macro.objects.create(name="Refund on its way", body_en="Your refund is on its way.",
                         body_fr="Bonjour {customer_name}, votre remboursement est en route.")
    macro = Macro.objects.get()
    page = desk.get(f"/desk/tickets/{ticket.pk}/", {"macro": macro.pk}).content.decode()
    assert "Bonjour Claire, votre remboursement est en route." in page  # filled, not sent

    response = desk.post(f"/desk/tickets/{ticket.pk}/note/",
                         {"body": "Second charge is a bank retry, see statement."})
    assert response.status_code == 302
    response = desk.post(f"/desk/tickets/{ticket.pk}/reply/",
                         {"body": "Bonjour Claire, votre remboursement est en route."})
    assert response.status_code == 302
    run_queued_jobs()
    mails = [m for m in smtp.messages if m["To"] == "claire@example.test"]
    assert len(mails) == 1 and "votre remboursement est en route" in text_of(mails[0])
    assert not any("bank retry" in text_of(m) for m in smtp.messages)

    page = desk.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "Internal note" in page and "bank retry" in page
    for action in ("ticket.create", "ticket.note_add", "ticket.reply"):
        assert action in page  # the audit trail

    desk.post(f"/desk/tickets/{ticket.pk}/assign/", {"team": billing.pk, "assignee": ana.pk})
    desk.post(f"/desk/tickets/{ticket.pk}/status/", {"status": "solved"})
    ticket.refresh_from_db()
    assert (ticket.assignee_id, ticket.status) == (ana.pk, "solved")
    assert ticket.first_responded_at is not None
    refused = desk.post(f"/desk/tickets/{ticket.pk}/status/", {"status": "pending"})
    assert refused.status_code == 400
    assert desk.post(f"/desk/tickets/{ticket.pk}/reply/", {"body": ""}).status_code == 400


def test_log_a_phone_call_as_a_new_ticket(desk: Client, billing: Team) -> None:
    owner = customer("claire@example.test")
    form = desk.get("/desk/tickets/new/")
    assert form.status_code == 200
    unknown = desk.post("/desk/tickets/new/", {
        "category": "billing", "channel": "phone", "customer_email": "nobody@example.test",
        "subject": "Called about a charge", "body": "", "priority": "2"})
    assert unknown.status_code == 400 and "No customer has this e-mail" in unknown.content.decode()
    response = desk.post("/desk/tickets/new/", {
        "category": "billing", "channel": "phone", "customer_email": "CLAIRE@example.test",
        "subject": "Called about a charge", "body": "Says she was charged twice.",
        "priority": "1"})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/desk/tickets/{ticket.pk}/"
    assert (ticket.customer_id, ticket.channel, ticket.priority, ticket.team_id) == (
        owner.pk, "phone", 1, billing.pk)
    assert AuditEvent.objects.get(action="ticket.create").actor == "agent:ana"


def test_the_troubleshooting_ticket_offers_to_resolve_the_request(desk: Client) -> None:
    team("technical")
    owner = customer("sam@example.test", locale="en")
    owner.country = "US"
    owner.save()
    request = request_for(iptv_charge(owner=owner), "technical_issue")
    ticket = Ticket.objects.get(refund_request=request)
    page = desk.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "closes refund request" in page
    request_page = desk.get(f"/desk/requests/{request.pk}/").content.decode()
    assert "The problem is resolved: close the request" in request_page
    response = desk.post(f"/desk/requests/{request.pk}/troubleshooting-resolved/",
                         {"note": "Router restarted."})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.troubleshooting_state) == ("closed", "resolved")
    assert Ticket.objects.get(pk=ticket.pk).status == "solved"
