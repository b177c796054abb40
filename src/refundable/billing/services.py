"""State changes around orders: creating an order with its charge (an import), re-sending an
activation key (seed 001).

Each function runs in one transaction, writes its audit event and enqueues e-mail on commit.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from ..customers.models import Customer
from ..iso_codes import currency_problem
from ..notifications.services import email_enqueue
from ..subscriptions.models import Subscription
from .models import ActivationKey, Charge, Order

AMOUNT_MAX = 2**31 - 1  # the charge's amount column (PositiveIntegerField) holds up to this
_ORDER_FIELDS = ["customer", "subscription", "order_number", "invoice_number", "created_at"]
_CHARGE_FIELDS = ["amount", "currency", "payment_method", "provider", "provider_reference",
                  "captured_at", "period_start", "period_end", "is_renewal"]


class OrderError(Exception):
    """An order that cannot be recorded as given (message for people)."""


def activation_key_resend(*, actor: Actor, activation_key_id: int, note: str = "") -> ActivationKey:
    """E-mail the activation key to the subscription's customer, in their language.

    The e-mail (« Votre clé d'activation … ») goes to the address of the account, never to an
    address given in a form; the job reloads the key so the queue never stores it.
    """
    with transaction.atomic():
        key = ActivationKey.objects.select_related("subscription__customer").get(
            pk=activation_key_id)
        customer = key.subscription.customer
        audit_record(actor=actor, action="activation_key.resend", obj=key,
                     customer_id=customer.pk, note=note)
        email_enqueue(template="activation_key", to=customer.email, language=customer.locale,
                      context={"activation_key_id": key.pk})
    return key


# Who can have captured a charge (refunds of PayPal and bank payments are made by hand).
CAPTURING_PROVIDERS = ("sandbox", "stripe")


def order_create(*, actor: Actor, customer_id: int, order_number: str, invoice_number: str,
                 created_at: datetime, amount: int, currency: str, period_start: datetime,
                 period_end: datetime | None = None, subscription_id: int | None = None,
                 payment_method: str = "card", is_renewal: bool = False,
                 provider: str = "sandbox", provider_reference: str = "",
                 note: str = "") -> Order:
    """An order paid elsewhere (an import) and its charge, captured at ``created_at``.

    ``amount`` in minor units of ``currency`` (ISO 4217). The subscription, when given, must be
    the customer's; a renewal needs one; ``period_end`` may be empty only for a one-off order or
    a lifetime plan. Order and invoice numbers must be new. Sends no e-mail. ``note`` goes to the
    audit event (an import's file and line).
    """
    order_number, invoice_number = order_number.strip(), invoice_number.strip()
    currency, provider_reference = currency.strip().upper(), provider_reference.strip()
    if not order_number or len(order_number) > 40:
        raise OrderError("an order number of 1 to 40 characters is required")
    if not invoice_number or len(invoice_number) > 40:
        raise OrderError("an invoice number of 1 to 40 characters is required")
    if not 0 <= amount <= AMOUNT_MAX:
        raise OrderError(f"the amount must be between 0 and {AMOUNT_MAX} minor units")
    problem = currency_problem(currency)
    if problem:
        raise OrderError(problem)
    if payment_method not in dict(Charge.PAYMENT_METHODS):
        raise OrderError(f"payment method must be one of {', '.join(dict(Charge.PAYMENT_METHODS))}"
                         f", not {payment_method!r}")
    if len(provider_reference) > 100:
        raise OrderError("the provider reference is longer than 100 characters")
    if provider not in CAPTURING_PROVIDERS:
        raise OrderError(f"provider must be one of {', '.join(CAPTURING_PROVIDERS)}, not "
                         f"{provider!r}")
    if provider == "stripe" and not provider_reference.startswith(("ch_", "py_", "pi_")):
        raise OrderError("a Stripe charge needs its Stripe id (ch_…, py_… or pi_…) as the "
                         "provider reference")
    if any(m is not None and timezone.is_naive(m) for m in (created_at, period_start, period_end)):
        raise OrderError("dates must carry their UTC offset")
    if period_end is not None and (period_end <= period_start or period_end < created_at):
        raise OrderError("the period must end after it starts and after the order")
    if is_renewal and subscription_id is None:
        raise OrderError("a renewal belongs to a subscription")
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        subscription = None
        if subscription_id is not None:
            subscription = Subscription.objects.select_related("plan").get(pk=subscription_id)
            if subscription.customer_id != customer.pk:
                raise OrderError(f"subscription {subscription.reference} belongs to another "
                                 "customer")
            if period_end is None and subscription.plan.period != "lifetime":
                raise OrderError(f"plan {subscription.plan.code} renews every "
                                 f"{subscription.plan.period}: the period needs an end")
        if Order.objects.filter(order_number=order_number).exists():
            raise OrderError(f"an order with the number {order_number} already exists")
        if Order.objects.filter(invoice_number=invoice_number).exists():
            raise OrderError(f"an order with the invoice number {invoice_number} already exists")
        order = Order.objects.create(customer=customer, subscription=subscription,
                                     order_number=order_number, invoice_number=invoice_number,
                                     created_at=created_at)
        charge = Charge.objects.create(
            order=order, customer_id_copy=customer.pk, amount=amount, currency=currency,
            payment_method=payment_method, provider=provider,
            provider_reference=provider_reference, captured_at=created_at,
            period_start=period_start, period_end=period_end, is_renewal=is_renewal)
        audit_record(actor=actor, action="order.create", obj=order, customer_id=customer.pk,
                     after={**snapshot(order, _ORDER_FIELDS),
                            "charge": {"id": charge.pk, **snapshot(charge, _CHARGE_FIELDS)}},
                     note=note)
    return order
