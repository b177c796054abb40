"""The demo business loads into an empty database, with real policy decisions."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from refundable.customers.demo import CUSTOMER_EMAIL, DEMO_PASSWORDS, demo_load
from refundable.customers.models import Customer
from refundable.refunds.models import Decision, RefundRequest
from refundable.testing.factories import NOW

pytestmark = pytest.mark.django_db


def test_demo_business() -> None:
    summary = demo_load(now=NOW)
    assert summary.customers == Customer.objects.count() == 50
    assert set(Customer.objects.values_list("country", flat=True)) == {"FR", "DE", "GB", "US"}
    assert summary.requests == RefundRequest.objects.count() > 0
    # every request was decided by a real policy and frozen
    assert Decision.objects.filter(decided_by="engine").count() == summary.requests
    assert {d.policy.split("@")[0] for d in Decision.objects.all()} <= {
        "annual-60-day-guarantee", "iptv-72-hours", "billing-desk"}
    assert authenticate(username=CUSTOMER_EMAIL, password=DEMO_PASSWORDS["customer"])
    assert authenticate(username="agent", password=DEMO_PASSWORDS["agent"])
    with pytest.raises(RuntimeError, match="empty database"):
        demo_load(now=NOW)
