"""The portal in a real browser (Playwright driving Debian's Chromium) against the live server,
on the demo business: the customer cancels in three clicks or fewer, asks for a refund and sees
the policy's answer before submitting; anyone cancels a contract without an account — also
with JavaScript off, by keyboard only.

The live server writes to the test database; the test then runs the queued jobs the way the
worker does and reads what reached the real SMTP server.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from playwright.sync_api import Locator, Page, expect

from refundable.billing.models import Charge
from refundable.customers.demo import CUSTOMER_EMAIL, DEMO_PASSWORDS, demo_load
from refundable.customers.models import Customer
from refundable.portal.models import PublicRequest
from refundable.portal.templatetags.portal_tags import money
from refundable.refunds.models import RefundRequest
from refundable.subscriptions.models import Subscription
from refundable.testing.browser import Browsers, customer_sign_in
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import Mailbox, text_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fr(message: str) -> str:
    """The French text the demo customer (locale fr) reads for an English message id."""
    with translation.override("fr"):
        return gettext(message)


def paris(value: datetime | None, format_name: str, language: str) -> str:
    """A date as the templates print it (Paris time, the language's format)."""
    assert value is not None
    with translation.override(language):
        return date_format(timezone.localtime(value), format_name)


def mail_to(smtp: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if m["To"] == address]


def subject(message: EmailMessage) -> str:
    # A long encoded subject is folded after "Subject:"; parsed back, it starts with a space.
    return str(message["Subject"]).strip()


def claire() -> Customer:
    return Customer.objects.get(email=CUSTOMER_EMAIL)


def annual_subscription(customer: Customer) -> Subscription:
    return Subscription.objects.select_related("plan").get(customer=customer,
                                                            plan__code="antivirus-annual")


@pytest.fixture
def demo() -> None:
    """The demo business of ``make demo``. The e-mails its requests queued go out now (to
    Django's test outbox), so that the SMTP server later receives only what the test causes."""
    demo_load()
    run_queued_jobs()


def test_demo_customer_cancels_in_three_clicks_and_gets_the_email(
        browsers: Browsers, demo: None, smtp: Mailbox) -> None:
    customer = claire()
    subscription = annual_subscription(customer)
    assert subscription.status == "active" and subscription.current_period_end is not None
    page = browsers.page(locale="fr-FR")
    customer_sign_in(page, CUSTOMER_EMAIL, DEMO_PASSWORDS["customer"])
    expect(page.locator("h1")).to_have_text(fr("My account"))

    clicks = 0

    def click(target: Locator) -> None:
        nonlocal clicks
        target.click()
        clicks += 1

    card = page.locator(f"section[aria-labelledby='subscription-{subscription.pk}']")
    expect(card).to_contain_text(subscription.reference)
    click(card.get_by_role("link", name=fr("Cancel"), exact=True))
    expect(page).to_have_url(re.compile(rf"/subscriptions/{subscription.pk}/cancel/$"))
    end_day = paris(subscription.current_period_end, "DATE_FORMAT", "fr")
    term_end = page.get_by_role("radio", name=re.compile(re.escape(end_day)))
    click(term_end)  # "at the end of the current term" (already the default: a sure click)
    expect(term_end).to_be_checked()
    click(page.get_by_role("button", name=fr("Confirm cancellation")))

    expect(page).to_have_url(re.compile(rf"/subscriptions/{subscription.pk}/cancellation/$"))
    assert clicks <= 3
    expect(page.locator("h1")).to_have_text(fr("Cancellation confirmed"))
    subscription.refresh_from_db()
    assert subscription.status == "cancel_scheduled"
    assert subscription.cancel_effective_at == subscription.current_period_end
    effective = page.get_by_role("row", name=re.compile(fr("Takes effect on")))
    expect(effective).to_contain_text(
        paris(subscription.cancel_effective_at, "DATETIME_FORMAT", "fr"))
    expect(page.get_by_role("status")).to_contain_text(CUSTOMER_EMAIL)
    expect(page.get_by_role("button", name=fr("Undo the cancellation"))).to_be_visible()

    run_queued_jobs()
    [message] = mail_to(smtp, CUSTOMER_EMAIL)
    assert subject(message) == f"Résiliation de {subscription.plan.name} confirmée"
    body = text_of(message)
    assert subscription.reference in body
    assert subscription.cancel_effective_at is not None
    assert timezone.localtime(subscription.cancel_effective_at).strftime("%d/%m/%Y %H:%M") in body


def test_demo_customer_sees_the_policys_answer_before_submitting_a_refund(
        browsers: Browsers, demo: None, smtp: Mailbox) -> None:
    customer = claire()
    charge = Charge.objects.get(order__subscription=annual_subscription(customer))
    page = browsers.page(locale="fr-FR")
    customer_sign_in(page, CUSTOMER_EMAIL, DEMO_PASSWORDS["customer"])

    page.locator(f"a[href='/refunds/new/{charge.pk}/']").click()
    expect(page.locator("h1")).to_have_text(fr("Ask for a refund"))
    expect(page.get_by_role("button", name=fr("Submit my refund request"))).to_have_count(0)
    page.get_by_label(fr("Why are you asking for a refund?")).select_option("dissatisfied")
    page.get_by_role("button", name=fr("See what I am owed")).click()

    # The answer — outcome, amount and the policy's message — is on the page before submitting.
    answer = page.locator("#answer")
    with translation.override("fr"):
        amount = money(charge.amount, charge.currency)
    expect(answer).to_be_visible()
    expect(answer.locator("h2")).to_have_text(fr("The policy's answer, before you submit"))
    expect(answer.locator("h3")).to_contain_text(amount)
    expect(answer).to_contain_text("Remboursement intégral de")
    expect(answer).to_contain_text("garantie de 60 jours")
    submit = page.get_by_role("button", name=fr("Submit my refund request"))
    expect(submit).to_be_visible()
    assert not RefundRequest.objects.filter(charge=charge).exists()  # a preview writes nothing

    page.get_by_label(re.compile(re.escape(fr("Describe the problem")))).fill(
        "Il ralentit mon ordinateur.")
    submit.click()

    request = RefundRequest.objects.get(charge=charge)
    expect(page).to_have_url(re.compile(rf"/refunds/{request.pk}/$"))
    assert request.reason == "dissatisfied" and request.channel == "web"
    assert request.description == "Il ralentit mon ordinateur."
    expect(page.locator("h1")).to_contain_text(str(request.pk))
    timeline = page.locator("ol.timeline > li")
    expect(timeline.first).to_contain_text(fr("We received your request."))
    expect(page.locator("ol.timeline")).to_contain_text("Remboursement intégral de")
    assert timeline.count() >= 2
    expect(timeline.first.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))

    run_queued_jobs()
    subjects = [subject(m) for m in mail_to(smtp, CUSTOMER_EMAIL)]
    assert any(str(request.pk) in line for line in subjects), subjects


def fill_public_cancel_by_mouse(page: Page, *, name: str, email: str, reference: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_label("Contract reference").fill(reference)
    page.get_by_role("radio", name="Now").check()
    page.get_by_role("button", name="Continue").click()


def check_acknowledgement(page: Page, *, name: str, reference: str) -> PublicRequest:
    expect(page).to_have_url(re.compile(r"/cancel/acknowledgement/[^/]+/$"))
    expect(page.locator("h1")).to_have_text("Cancellation request received")
    submission = PublicRequest.objects.get(kind=PublicRequest.Kind.CANCELLATION)
    assert (submission.name, submission.reference) == (name, reference)
    day = paris(submission.created_at, "DATE_FORMAT", "en")
    time = paris(submission.created_at, "TIME_FORMAT", "en")
    expect(page.get_by_role("status")).to_contain_text(
        f"We received your cancellation request on {day} at {time} (Paris time).")
    expect(page.locator("main time")).to_have_attribute(
        "datetime", timezone.localtime(submission.created_at).isoformat())
    expect(page.locator("main")).to_contain_text(reference)
    return submission


def a_customer_of(country: str) -> tuple[Customer, Subscription]:
    """A demo customer with an active subscription bought directly (no store)."""
    subscription = (Subscription.objects.select_related("customer", "plan")
                    .filter(customer__country=country, status="active", channel="direct",
                            current_period_end__gt=timezone.now())
                    .order_by("pk").first())
    assert subscription is not None
    return subscription.customer, subscription


def test_public_cancel_form_without_an_account(
        browsers: Browsers, demo: None, smtp: Mailbox) -> None:
    customer, subscription = a_customer_of("GB")
    page = browsers.page(locale="en-GB")
    page.goto("/")
    page.get_by_role("contentinfo").get_by_role("link", name="Cancel my contract").click()
    expect(page.locator("h1")).to_have_text("Cancel my contract")
    fill_public_cancel_by_mouse(page, name=customer.name, email=customer.email,
                                reference=subscription.reference)

    expect(page.locator("h1")).to_have_text("Confirm cancellation")
    expect(page.locator("main table")).to_contain_text(subscription.reference)
    expect(page.locator("main table")).to_contain_text(customer.email)
    assert not PublicRequest.objects.exists()  # nothing happens before "Confirm"
    page.get_by_role("button", name="Confirm cancellation").click()

    submission = check_acknowledgement(page, name=customer.name,
                                       reference=subscription.reference)
    assert submission.result == PublicRequest.Result.CANCELED
    subscription.refresh_from_db()
    assert subscription.status == "canceled"

    run_queued_jobs()
    [message] = mail_to(smtp, customer.email)
    assert subject(message) == f"Your cancellation of {subscription.plan.name} is confirmed"
    assert subscription.reference in text_of(message)


def test_public_cancel_form_without_javascript_by_keyboard_only(
        browsers: Browsers, demo: None, smtp: Mailbox) -> None:
    customer, subscription = a_customer_of("US")
    page = browsers.page(locale="en-US", javascript=False)
    page.goto("/cancel/")
    expect(page.locator("h1")).to_have_text("Cancel my contract")

    # Keyboard only: type into each field, Tab to the next, Enter submits.
    page.get_by_label("Your name").focus()
    page.keyboard.type(customer.name)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Your e-mail address")).to_be_focused()
    page.keyboard.type(customer.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Contract reference")).to_be_focused()
    page.keyboard.type(subscription.reference)
    page.keyboard.press("Tab")
    term_end = page.get_by_role("radio", name="At the end of the current term")
    expect(term_end).to_be_focused()  # the radio group is one stop, on the checked choice
    expect(term_end).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text("Confirm cancellation")
    expect(page.locator("main table")).to_contain_text("At the end of the current term")
    page.get_by_role("button", name="Confirm cancellation").focus()
    page.keyboard.press("Enter")

    submission = check_acknowledgement(page, name=customer.name,
                                       reference=subscription.reference)
    assert submission.result == PublicRequest.Result.SCHEDULED
    subscription.refresh_from_db()
    assert subscription.status == "cancel_scheduled"
    assert subscription.cancel_effective_at == subscription.current_period_end

    run_queued_jobs()
    [message] = mail_to(smtp, customer.email)
    assert subject(message) == f"Your cancellation of {subscription.plan.name} is confirmed"
    assert subscription.reference in text_of(message)
