"""Fifty refund attempts on one charge at once, through the API and the desk (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum
from django.test import Client

from refundable.api.tests.support import bearer, key_for, post
from refundable.billing.models import Charge
from refundable.desk.tests.helpers import agent
from refundable.payments.models import Refund
from refundable.refunds.models import RefundRequest
from refundable.testing.factories import NOW, ChargeFactory


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_attempts_never_exceed_the_captured_amount() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (tools/postgres_tests.py runs it)")
    charge = ChargeFactory.create(amount=8999)
    customer = charge.order.customer
    # 25 requests waiting for an agent, each to be approved for 30.00 EUR from the desk ...
    waiting = [RefundRequest.objects.create(
        customer=customer, charge=charge, reason="special_circumstances", status="in_review",
        created_at=NOW).pk for _ in range(25)]
    staff = agent("ana")
    write_key = key_for("read", "write")
    barrier = threading.Barrier(50)
    answers: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def desk_approve(request_id: int) -> None:
        try:
            client = Client()
            client.force_login(staff)
            barrier.wait(timeout=30)
            response = client.post(f"/desk/requests/{request_id}/approve/",
                                   {"amount": "30.00", "reason": "goodwill"})
            answers.append(("desk", response.status_code))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    def api_create(index: int) -> None:
        # ... while 25 integrator calls ask for a refund of the same charge, which the policy
        # grants at once for whatever is still refundable.
        try:
            client = Client(headers=bearer(write_key))
            barrier.wait(timeout=30)
            response = post(client, "/refund-requests",
                            {"charge": charge.pk, "reason": "dissatisfied"}, key=f"k{index}")
            answers.append(("api", response.status_code))
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = ([threading.Thread(target=desk_approve, args=(pk,)) for pk in waiting]
               + [threading.Thread(target=api_create, args=(i,)) for i in range(25)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(answers) == 50
    # Every attempt got an answer: approved (302 back to the page), refused because nothing
    # is left (409), or for the API a created request (201).
    assert {status for who, status in answers if who == "desk"} <= {302, 409}
    assert {status for who, status in answers if who == "api"} == {201}
    charge.refresh_from_db()
    live = Refund.objects.filter(charge=charge).exclude(status__in=["failed", "canceled"])
    reserved = live.aggregate(total=Sum("amount"))["total"] or 0
    assert charge.refunded_amount + charge.pending_amount <= charge.amount == 8999
    assert reserved == charge.refunded_amount + charge.pending_amount
    assert reserved > 0
    approved_by_desk = sum(1 for who, status in answers if who == "desk" and status == 302)
    assert live.filter(request__reason="special_circumstances").count() == approved_by_desk
    assert Charge.objects.filter(pk=charge.pk, refunded_amount__gt=8999).count() == 0
