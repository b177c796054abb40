"""Helpers of the payments tests."""

from __future__ import annotations

from typing import Any

from refundable.audit.services import Actor
from refundable.refunds.models import RefundRequest
from refundable.refunds.services import refund_request_create
from refundable.testing.factories import NOW, ChargeFactory


def approved(**charge_fields: Any) -> RefundRequest:
    """A request the policy approves at once (day 10 of the 60-day guarantee, 89.99 EUR), its
    refund reserved on the charge."""
    charge = ChargeFactory.create(**charge_fields)
    request = refund_request_create(
        actor=Actor("customer", "c"), customer_id=charge.order.customer_id,
        charge_id=charge.pk, reason="dissatisfied", now=NOW)
    assert request.status == "approved"
    return request
