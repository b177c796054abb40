"""What every router shares: error responses for the OpenAPI document, the customer filter,
and the Idempotency-Key header parameter."""

from __future__ import annotations

from typing import Any

from ninja import P
from ninja.params import HeaderEx, PathEx

from ..auth import Principal
from ..errors import not_found
from ..idempotency import HEADER
from ..schemas import ErrorOut

READ_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
LIST_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut, 422: ErrorOut}

IdempotencyKey = HeaderEx[str, P(
    alias=HEADER, min_length=1, max_length=200,
    description="Required. A unique value (a UUID) per operation: retrying with the same key "
                "and body returns the first response without doing it twice; the same key "
                "with another body is a 409.")]

CustomerId = PathEx[int, P(description="The customer's id.")]
SubscriptionId = PathEx[int, P(description="The subscription's id.")]
OrderId = PathEx[int, P(description="The order's id.")]
RefundRequestId = PathEx[int, P(description="The refund request's id.")]
TicketId = PathEx[int, P(description="The ticket's id.")]


def customer_scope(principal: Principal, customer: int | None) -> int | None:
    """The customer id to filter a list by: a signed-in customer is always limited to
    themselves (asking for another customer is a 404); a key may filter or see all."""
    if principal.customer_id is None:
        return customer
    if customer is not None and customer != principal.customer_id:
        raise not_found("customer", param="customer")
    return principal.customer_id
