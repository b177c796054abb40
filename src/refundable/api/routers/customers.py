"""``/customers``: the business's customers (a signed-in customer sees only themselves)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from ...customers.selectors import customers_visible
from ..auth import principal_of
from ..pagination import PageParams, paginate
from ..schemas import CustomerList, CustomerOut
from .common import LIST_ERRORS, READ_ERRORS, CustomerId

router = Router(tags=["customers"])


@router.get("", response={200: CustomerList, **LIST_ERRORS}, summary="List customers",
            operation_id="customers_list")
def customers_list(request: HttpRequest, page: Query[PageParams],
                   email: str | None = None) -> dict[str, Any]:
    """Customers, newest first. ``email`` finds one by e-mail (case-insensitive).

    A signed-in customer gets only themselves."""
    principal = principal_of(request)
    customers = customers_visible(customer_id=principal.customer_id, email=email)
    return paginate(customers, page, CustomerOut.of)


@router.get("/{customer_id}", response={200: CustomerOut, **READ_ERRORS},
            summary="Retrieve a customer", operation_id="customers_get")
def customers_get(request: HttpRequest, customer_id: CustomerId) -> CustomerOut:
    """One customer by id; 404 if there is none — or if it is not the signed-in customer."""
    principal = principal_of(request)
    return CustomerOut.of(customers_visible(customer_id=principal.customer_id)
                          .get(pk=customer_id))
