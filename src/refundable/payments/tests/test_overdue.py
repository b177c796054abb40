"""Expected arrival on the status page, and an overdue refund escalating by itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from refundable.audit.services import Actor
from refundable.desk.selectors import desk_queue
from refundable.payments.models import Refund
from refundable.payments.selectors import business_days_after
from refundable.payments.services import money_batch_run, refund_execute
from refundable.refunds.services import refund_request_create
from refundable.testing.factories import NOW, ChargeFactory
from refundable.testing.jobs import run_queued_jobs
from refundable.testing.smtp import Mailbox, text_of

SYSTEM = Actor.system("test")


def test_business_days_skip_weekends_and_the_countrys_holidays() -> None:
    # Friday 2026-07-10 + 3 business days in France: Mon 13, (Tue 14 July is a holiday), Wed
    # 15, Thu 16.
    assert business_days_after(date(2026, 7, 10), 3, "FR") == date(2026, 7, 16)
    assert business_days_after(date(2026, 7, 10), 3, "GB") == date(2026, 7, 15)
    assert business_days_after(date(2026, 12, 30), 2, "ZZ") == date(2027, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_late_refund_escalates_and_the_customer_is_told_what_next(
        settings: Any, smtp: Mailbox) -> None:
    # The sandbox accepts the refund and takes far longer to settle than the product's
    # 5–7 business days (seed 003).
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 30 * 24 * 3600
    charge = ChargeFactory.create()
    customer = charge.order.customer
    with time_machine.travel(NOW, tick=False):
        request = refund_request_create(actor=Actor("customer", "c"), customer_id=customer.pk,
                                        charge_id=charge.pk, reason="dissatisfied")
        refund = Refund.objects.get(request=request)
        refund_execute(actor=SYSTEM, refund_id=refund.id)
    refund.refresh_from_db()
    # Sunday 1 March 2026 + 5 and 7 French business days.
    assert (refund.expected_from, refund.expected_by) == (date(2026, 3, 6), date(2026, 3, 10))
    client = Client()
    assert customer.user is not None
    client.force_login(customer.user)
    page = client.get(f"/refunds/{request.pk}/").content.decode()
    assert "10 mars 2026" in page and refund.status == "pending"  # the latest day, in French

    with time_machine.travel(NOW + timedelta(days=8), tick=False):  # 9 March: not late yet
        assert money_batch_run(actor=SYSTEM)["overdue_escalated"] == 0
    with time_machine.travel(NOW + timedelta(days=10), tick=False):  # 11 March: late
        assert money_batch_run(actor=SYSTEM)["overdue_escalated"] == 1
        assert money_batch_run(actor=SYSTEM)["overdue_escalated"] == 0  # once
        queue = desk_queue(now=NOW + timedelta(days=10))
    request.refresh_from_db()
    assert "overdue" in request.money_attention and request.priority == 1
    assert [item.pk for item in queue if item.kind == "request"] == [request.pk]
    timeline = client.get(f"/refunds/{request.pk}/").content.decode()
    assert "Nous avons renvoyé 89,99" in timeline  # the money's steps, in French
    assert "prend plus de temps que prévu" in timeline
    run_queued_jobs()
    [mail] = [m for m in smtp.messages if "retard" in m["Subject"]]
    body = text_of(mail)
    assert mail["To"] == customer.email
    assert "contactez votre banque" in body and refund.id in body  # seed 000, in French
