"""Reads for money: charges by provider reference, refunds of a request, expected arrival."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ..billing.models import Charge
from .models import Dispute, Refund


def charge_by_reference(reference: str) -> Charge | None:
    """Our charge that a provider calls ``reference`` (its id, or ``sb_ch_<pk>`` for the
    sandbox's charges without one)."""
    charge = Charge.objects.filter(provider_reference=reference).first()
    if charge is None and reference.startswith("sb_ch_") and reference[6:].isdigit():
        charge = Charge.objects.filter(pk=int(reference[6:]), provider_reference="").first()
    return charge


def charge_refund_blocker(*, charge: Charge) -> str | None:
    """Why no refund may be reserved on the charge now, or None."""
    if Dispute.objects.filter(charge=charge, status=Dispute.Status.LOST).exists():
        return "charged_back"
    return None


@functools.lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    try:
        return frozenset(holidays.country_holidays(country, years=[year, year + 1]).keys())
    except NotImplementedError:  # a country the package does not know: weekends only
        return frozenset()


def business_days_after(start: date, days: int, country: str) -> date:
    """``start`` plus ``days`` business days: weekends and ``country``'s public holidays
    skipped (the ``holidays`` package; an unknown country: weekends only)."""
    off = _public_holidays(country, start.year)
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.year > start.year + 1:
            off = off | _public_holidays(country, current.year)
        if current.weekday() < 5 and current not in off:
            left -= 1
    return current


def arrival_days(*, charge: Charge) -> tuple[int, int]:
    """Business days for a refund of ``charge`` to arrive: the product's window for cards
    (seed 003: 5–7; seed 004: 20–31), the configured one for other methods."""
    subscription = charge.order.subscription
    product = subscription.plan.product if subscription else None
    if charge.payment_method == "card" and product is not None:
        return product.refund_days_min, product.refund_days_max
    table = settings.REFUNDABLE_REFUND_ARRIVAL_DAYS
    return table.get(charge.payment_method, table["other"])


def expected_arrival_window(*, refund: Refund, start: datetime) -> tuple[date, date]:
    """(earliest, latest) date the money should reach the customer, counted in business days
    of the customer's country from ``start``."""
    charge = refund.charge
    low, high = arrival_days(charge=charge)
    country = charge.order.customer.country
    day = timezone.localtime(start).date()
    return business_days_after(day, low, country), business_days_after(day, high, country)


def refunds_of_request(*, request_id: int) -> QuerySet[Refund]:
    return Refund.objects.filter(request_id=request_id).order_by("created_at", "id")


def refund_current(*, request_id: int) -> Refund | None:
    """The request's latest refund (an earlier one may have failed)."""
    return Refund.objects.filter(request_id=request_id).order_by("-created_at", "-id").first()


def refunds_overdue(*, today: date) -> QuerySet[Refund]:
    """Refunds still on their way after their latest expected day, not yet escalated."""
    return Refund.objects.filter(status__in=Refund.OPEN, expected_by__lt=today,
                                 overdue_escalated_at__isnull=True,
                                 request__isnull=False).order_by("expected_by", "id")


def refunds_needing_agent() -> QuerySet[Refund]:
    """Manual refunds to send by hand, and refunds the reconciler could not resolve."""
    return Refund.objects.filter(status__in=Refund.OPEN).filter(
        provider="manual").select_related("charge__order__customer").order_by("created_at")
