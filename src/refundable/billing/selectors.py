"""Reads for orders and charges."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Charge, Order


def orders_visible(*, customer_id: int | None) -> QuerySet[Order]:
    """Orders with their charges (prefetched, newest capture first): only ``customer_id``'s,
    or with ``None`` every customer's (an integrator key)."""
    orders = Order.objects.prefetch_related(
        Prefetch("charges", queryset=Charge.objects.order_by("captured_at", "id")))
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    return orders


def charge_visible(*, charge_id: int, customer_id: int | None) -> Charge:
    """The charge ``charge_id`` if the reader may see it; ``Charge.DoesNotExist`` otherwise
    (→ 404): a customer sees only the charges of their own orders."""
    charges = Charge.objects.select_related("order")
    if customer_id is not None:
        charges = charges.filter(order__customer_id=customer_id)
    return charges.get(pk=charge_id)
