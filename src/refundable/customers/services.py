"""State changes of customers. Each runs in one transaction and writes its audit event."""

from __future__ import annotations

from django.db import transaction

from ..audit.services import Actor, audit_record, snapshot
from .models import Customer

LOCALES = ("en", "fr")


class CustomerError(Exception):
    """A change that is not allowed (message for people)."""


def customer_locale_set(*, actor: Actor, customer_id: int, locale: str) -> Customer:
    """The customer's language for the portal and e-mails ("en" or "fr")."""
    if locale not in LOCALES:
        raise CustomerError(f"locale must be one of {', '.join(LOCALES)}, not {locale!r}")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.locale == locale:
            return customer
        before = snapshot(customer, ["locale"])
        customer.locale = locale
        customer.save(update_fields=["locale"])
        audit_record(actor=actor, action="customer.locale", obj=customer,
                     customer_id=customer.pk, before=before, after=snapshot(customer, ["locale"]))
    return customer
