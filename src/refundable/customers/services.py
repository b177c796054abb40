"""State changes of customers. Each runs in one transaction and writes its audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from ..audit.services import Actor, audit_record, snapshot
from ..iso_codes import country_problem
from .models import Customer

LOCALES = ("en", "fr")
_CREATE_FIELDS = ["email", "name", "country", "locale", "consumer"]


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


def customer_create(*, actor: Actor, email: str, name: str, country: str, locale: str = "en",
                    consumer: bool = True, note: str = "") -> Customer:
    """A new customer, without a sign-in user (the first e-mail sign-in link creates it).

    The e-mail must be new, compared without regard to case; ``country`` is an ISO 3166-1
    alpha-2 code. Sends no e-mail. ``note`` goes to the audit event (an import's file and line).
    """
    email, name, country = email.strip(), name.strip(), country.strip().upper()
    try:
        validate_email(email)
    except ValidationError:
        raise CustomerError(f"{email!r} is not an e-mail address") from None
    if len(email) > 254:
        raise CustomerError("the e-mail address is longer than 254 characters")
    if not name or len(name) > 200:
        raise CustomerError("a name of 1 to 200 characters is required")
    problem = country_problem(country)
    if problem:
        raise CustomerError(problem)
    if locale not in LOCALES:
        raise CustomerError(f"locale must be one of {', '.join(LOCALES)}, not {locale!r}")
    with transaction.atomic():
        if Customer.objects.filter(email__iexact=email).exists():
            raise CustomerError(f"a customer with the e-mail {email} already exists")
        customer = Customer.objects.create(email=email, name=name, country=country,
                                           locale=locale, consumer=consumer)
        audit_record(actor=actor, action="customer.create", obj=customer,
                     customer_id=customer.pk, after=snapshot(customer, _CREATE_FIELDS),
                     note=note)
    return customer
