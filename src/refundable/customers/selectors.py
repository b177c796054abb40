"""Reads for customers."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Customer


def customers_visible(*, customer_id: int | None, email: str | None = None
                      ) -> QuerySet[Customer]:
    """Customers a reader may see: only ``customer_id`` (a signed-in customer) or, with
    ``None``, every customer of the business (an integrator key). ``email`` filters exactly
    (case-insensitive)."""
    customers = Customer.objects.all()
    if customer_id is not None:
        customers = customers.filter(pk=customer_id)
    if email:
        customers = customers.filter(email__iexact=email.strip())
    return customers


def customer_id_of_user(*, user_id: int) -> int | None:
    """The customer record of a signed-in user, if they are a customer."""
    return Customer.objects.filter(user_id=user_id).values_list("pk", flat=True).first()
