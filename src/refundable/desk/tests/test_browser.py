"""The desk in a real browser (Playwright driving Debian's Chromium) against the live server:
an agent approves a request that went to review, and the customer sees it in the timeline."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from playwright.sync_api import expect

from refundable.audit.services import Actor
from refundable.billing.models import Charge
from refundable.customers.demo import CUSTOMER_EMAIL, DEMO_PASSWORDS, demo_load
from refundable.customers.models import Customer
from refundable.payments.models import Refund
from refundable.portal.templatetags.portal_tags import money
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import refund_request_create
from refundable.testing.browser import Browsers, customer_sign_in
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import Mailbox, text_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_approves_a_reviewed_request_and_the_customer_sees_it(
        browsers: Browsers, smtp: Mailbox) -> None:
    demo_load()
    run_queued_jobs()  # the demo's own e-mails, to the test outbox: the SMTP server stays empty
    customer = Customer.objects.get(email=CUSTOMER_EMAIL)
    charge = Charge.objects.get(order__subscription__customer=customer,
                                order__subscription__plan__code="antivirus-annual")
    # "I was charged twice" on an annual plan: the policy sends it to a person.
    refund = refund_request_create(
        actor=Actor("customer", str(customer.pk)), customer_id=customer.pk,
        charge_id=charge.pk, reason="duplicate_charge", description="Prélevé deux fois.",
        channel="web")
    assert refund.status == RefundRequest.Status.IN_REVIEW

    desk = browsers.page(locale="en-GB")
    desk.goto("/desk/login/")
    desk.get_by_label("User name").fill("agent")
    desk.get_by_label("Password").fill(DEMO_PASSWORDS["agent"])
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.locator("h1")).to_contain_text("Queue")
    row = desk.locator(f"tr.queue-item[data-kind=request][data-id='{refund.pk}']")
    row.get_by_role("link", name=f"Request #{refund.pk}").click()

    expect(desk).to_have_url(re.compile(rf"/desk/requests/{refund.pk}/$"))
    expect(desk.locator("h1")).to_contain_text(f"Refund request #{refund.pk}")
    amount = desk.get_by_label(re.compile(r"Amount to refund"))
    expect(amount).to_have_value("89.99")  # the charge in full, suggested
    desk.locator("#approve-reason").fill("Confirmed with the bank: charged twice on the day.")
    desk.get_by_role("button", name="Approve the refund").click()

    expect(desk.get_by_text("Refund approved.")).to_be_visible()
    refund.refresh_from_db()
    assert refund.status == RefundRequest.Status.APPROVED
    assert refund.approved_amount == charge.amount

    # The customer, in a browser of their own, signs in and reads the status page.
    page = browsers.page(locale="fr-FR")
    customer_sign_in(page, CUSTOMER_EMAIL, DEMO_PASSWORDS["customer"])
    page.locator(f"a[href='/refunds/{refund.pk}/']").click()
    expect(page).to_have_url(re.compile(rf"/refunds/{refund.pk}/$"))
    with translation.override("fr"):
        approved = gettext("Our team approved a refund of %(amount)s.") % {
            "amount": money(charge.amount, charge.currency)}
        received = gettext("We received your request.")
    entries = page.locator("ol.timeline > li")
    expect(entries.first).to_contain_text(received)
    expect(entries.last).to_contain_text(approved)
    expect(entries.last).to_contain_text("Confirmed with the bank: charged twice on the day.")

    # The decision reaches the customer by e-mail too (after "we received your request").
    run_queued_jobs()
    subjects = {str(m["Subject"]).strip(): m for m in smtp.messages if m["To"] == CUSTOMER_EMAIL}
    decided = subjects[f"Votre demande de remboursement n° {refund.pk} : acceptée"]
    assert "Notre réponse : Confirmed with the bank" in text_of(decided)

    # The worker sent the refund to the sandbox provider: the customer's page shows it on its
    # way, with the latest day it should arrive (business days of France).
    sent = Refund.objects.get(request=refund)
    assert sent.status == "pending" and sent.submitted_at is not None
    assert sent.expected_by is not None
    page.reload()
    with translation.override("fr"):
        on_its_way = gettext("We sent %(amount)s back to your original means of payment.") % {
            "amount": money(charge.amount, charge.currency)}
        latest_day = date_format(sent.expected_by, "DATE_FORMAT")
    expect(page.locator("ol.timeline > li").last).to_contain_text(on_its_way)
    expect(page.locator("main")).to_contain_text(latest_day)
