"""``/orders``: orders with the charges that paid them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from ...billing.selectors import orders_visible
from ..auth import principal_of
from ..pagination import PageParams, paginate
from ..schemas import OrderList, OrderOut
from .common import LIST_ERRORS, READ_ERRORS, OrderId, customer_scope

router = Router(tags=["orders"])


@router.get("", response={200: OrderList, **LIST_ERRORS}, summary="List orders",
            operation_id="orders_list")
def orders_list(request: HttpRequest, page: Query[PageParams],
                customer: int | None = None) -> dict[str, Any]:
    """Orders with their charges, newest first; ``customer`` filters by customer id."""
    principal = principal_of(request)
    orders = orders_visible(customer_id=customer_scope(principal, customer))
    return paginate(orders, page, OrderOut.of)


@router.get("/{order_id}", response={200: OrderOut, **READ_ERRORS},
            summary="Retrieve an order", operation_id="orders_get")
def orders_get(request: HttpRequest, order_id: OrderId) -> OrderOut:
    """One order with its charges (amounts in minor units, refunded and refundable)."""
    principal = principal_of(request)
    return OrderOut.of(orders_visible(customer_id=principal.customer_id).get(pk=order_id))
