"""Reads for refunds: the facts of a request, the policy's answer before submitting, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ..billing.models import Charge
from ..policy import Decision, decide, parse_facts
from .models import Decision as RefundDecision
from .models import RefundRequest
from .policies import policy_named, statutory_floor


def refund_facts(*, charge: Charge, requested_at: datetime, reason: str,
                 documents: list[str] | None = None, troubleshooting: str = "none",
                 troubleshooting_started_at: datetime | None = None) -> dict[str, Any]:
    """The engine's facts for a refund of ``charge`` (DESIGN.md "Facts"), as JSON values."""
    order = charge.order
    subscription = order.subscription
    customer = order.customer
    plan = subscription.plan if subscription else None
    prior = RefundRequest.objects.filter(
        customer=customer, status__in=["approved", "closed"], approved_amount__gt=0,
        charge__order__subscription__plan__product=plan.product if plan else None,
    ).exclude(charge=charge).count() if plan else 0
    facts: dict[str, Any] = {
        "plan_period": plan.period if plan else "lifetime",
        "channel": subscription.channel if subscription else "direct",
        "purchased_at": charge.captured_at.isoformat(),
        "period_end": charge.period_end.isoformat() if charge.period_end else None,
        "amount": charge.amount, "currency": charge.currency,
        "already_refunded": charge.refunded_amount + charge.pending_amount,
        "is_renewal": charge.is_renewal,
        "country": customer.country, "consumer": customer.consumer,
        "requested_at": requested_at.isoformat(), "reason": reason,
        "documents": documents or [], "troubleshooting": troubleshooting,
        "troubleshooting_started_at": (troubleshooting_started_at.isoformat()
                                       if troubleshooting_started_at else None),
        "renewal_notice_sent": (subscription.renewal_notice_sent_at is not None
                                if subscription and charge.is_renewal else None),
        "prior_refunds": prior, "plan": plan.code if plan else None,
        "payment_method": charge.payment_method, "language": customer.locale,
    }
    return facts


def refund_preview(*, charge: Charge, requested_at: datetime, reason: str,
                   documents: list[str] | None = None) -> Decision:
    """What the policy answers before the customer submits (nothing is written)."""
    facts = refund_facts(charge=charge, requested_at=requested_at, reason=reason,
                         documents=documents)
    plan = charge.order.subscription.plan if charge.order.subscription else None
    policy = policy_named(plan.policy_file if plan else "billing-desk.toml")
    return decide(policy, parse_facts(facts), statutory_floor())


def refund_requests_of(*, customer_id: int) -> QuerySet[RefundRequest]:
    return RefundRequest.objects.filter(customer_id=customer_id).select_related(
        "charge__order__subscription__plan")


def refund_request_of(*, customer_id: int, request_id: int) -> RefundRequest:
    """The customer's own request; ``RefundRequest.DoesNotExist`` otherwise (→ 404)."""
    return refund_requests_of(customer_id=customer_id).get(pk=request_id)


def refund_requests_visible(*, customer_id: int | None, status: str | None = None
                            ) -> QuerySet[RefundRequest]:
    """Requests with their charge and frozen decisions (oldest first, prefetched): only
    ``customer_id``'s, or with ``None`` every customer's (an integrator key)."""
    from ..payments.models import Refund

    # The charge gives the order's id and the currency: the order itself is not read.
    requests = RefundRequest.objects.select_related("charge").prefetch_related(
        Prefetch("decisions", queryset=RefundDecision.objects.order_by("created_at", "id")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")))
    if customer_id is not None:
        requests = requests.filter(customer_id=customer_id)
    if status:
        requests = requests.filter(status=status)
    return requests


@dataclass(frozen=True, slots=True)
class RefundRead:
    """A refund of a request, as ``refund_request_read`` reads it."""

    id: str
    amount: int
    currency: str
    status: str
    provider: str
    created_at: datetime
    settled_at: datetime | None
    expected_from: date | None
    expected_by: date | None
    failure_reason: str


@dataclass(frozen=True, slots=True)
class RefundRequestRead:
    """One request as the API's GET shows it: its columns, its charge's order and currency,
    which frozen decision is the latest (id and creation time; the decision's content is
    read separately, and only when needed: it never changes), and its refunds."""

    id: int
    customer_id: int
    charge_id: int
    order_id: int
    reason: str
    description: str
    channel: str
    status: str
    currency: str
    approved_amount: int | None
    created_at: datetime
    sla_due_at: datetime | None
    troubleshooting_state: str
    decision_id: int | None
    decision_created_at: datetime | None
    refunds: tuple[RefundRead, ...]


_BIGINT = 2**63  # ids are 64-bit: anything outside cannot exist (and SQLite refuses it)


@cache
def _read_sql(by_customer: bool) -> str:
    """The request, its charge, its latest decision's id and creation time, and its refunds
    in one statement (one row per refund, or one row without refund). The latest decision
    is two scalar subqueries on the decisions' request index: as a join, PostgreSQL's plan
    scanned the whole decisions table. Table names come from the models."""
    from ..billing.models import Charge
    from ..payments.models import Refund

    requests, charges = RefundRequest._meta.db_table, Charge._meta.db_table
    decisions, refunds = RefundDecision._meta.db_table, Refund._meta.db_table
    latest = (f"FROM {decisions} d WHERE d.request_id = r.id "
              "ORDER BY d.created_at DESC, d.id DESC LIMIT 1")
    return (
        "SELECT r.id, r.customer_id, r.charge_id, c.order_id, r.reason, r.description, "
        "r.channel, r.status, c.currency, r.approved_amount, r.created_at, r.sla_due_at, "
        f"r.troubleshooting_state, (SELECT d.id {latest}), (SELECT d.created_at {latest}), "
        "f.id, f.amount, f.currency, f.status, f.provider, f.created_at, f.settled_at, "
        f"f.expected_from, f.expected_by, f.failure_reason FROM {requests} r "
        f"JOIN {charges} c ON c.id = r.charge_id LEFT JOIN {refunds} f ON f.request_id = r.id "
        "WHERE r.id = %s" + (" AND r.customer_id = %s" if by_customer else "")
        + " ORDER BY f.created_at, f.id")


def _timestamp(value: Any) -> datetime:
    """A timestamp column as the ORM returns it: aware, in the connection's time zone (SQLite
    gives naive UTC values, PostgreSQL aware ones)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        raise ValueError(f"not a timestamp: {value!r}")
    return timezone.make_aware(value, connection.timezone) if timezone.is_naive(value) else value


def _aware(value: Any) -> datetime | None:
    return None if value is None else _timestamp(value)


def _date(value: Any) -> date | None:
    return parse_date(value) if isinstance(value, str) else value


def _read_cursor() -> Any:
    """A cursor for ``refund_request_read``. On PostgreSQL, when the database's OPTIONS set a
    ``prepare_threshold``, one that binds parameters on the server, so that psycopg prepares
    the statement once per connection: planning it was most of PostgreSQL's work for this
    read (docs/benchmarks-api.md). The ORM's cursors bind on the client and never prepare;
    Django's default threshold, None, prepares nothing (right behind a transaction-mode
    connection pooler)."""
    if (connection.vendor != "postgresql"
            or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None):
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    server_binding: Any = ServerBindingCursor  # (django-stubs does not describe psycopg 3's)
    cursor = server_binding(connection.connection)
    # Wrapped as connection.cursor() wraps its own: logged queries, execute wrappers.
    return (connection.make_debug_cursor(cursor) if connection.queries_logged
            else connection.make_cursor(cursor))


def refund_request_read(*, customer_id: int | None, request_id: int) -> RefundRequestRead | None:
    """The request ``request_id`` for the API's GET, or None when it does not exist or is not
    ``customer_id``'s (``None``: any customer's, for an integrator key).

    The same content as ``refund_requests_visible(...).get(pk=...)`` (its latest decision,
    its refunds oldest first), read with one hand-written statement: this is the API's
    hottest read, and the ORM's queries for it cost about 40 times the CPU of this statement,
    almost all of it in building the SQL (docs/benchmarks-api.md).
    """
    if not -_BIGINT <= request_id < _BIGINT:
        return None
    params = [request_id] if customer_id is None else [request_id, customer_id]
    with _read_cursor() as cursor:
        cursor.execute(_read_sql(customer_id is not None), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    refunds = tuple(
        RefundRead(id=row[15], amount=row[16], currency=row[17], status=row[18],
                   provider=row[19], created_at=_timestamp(row[20]),
                   settled_at=_aware(row[21]), expected_from=_date(row[22]),
                   expected_by=_date(row[23]), failure_reason=row[24])
        for row in rows if row[15] is not None)
    return RefundRequestRead(
        id=first[0], customer_id=first[1], charge_id=first[2], order_id=first[3],
        reason=first[4], description=first[5], channel=first[6], status=first[7],
        currency=first[8], approved_amount=first[9], created_at=_timestamp(first[10]),
        sla_due_at=_aware(first[11]), troubleshooting_state=first[12], decision_id=first[13],
        decision_created_at=_aware(first[14]), refunds=refunds)


def refund_expected_arrival(*, request: RefundRequest) -> tuple[date, date] | None:
    """For an approved request whose refund is on its way or arrived: the window in which the
    money should reach the customer's original payment method (business days of their
    country, from when the refund was made). None otherwise."""
    from ..payments.selectors import refund_current

    if request.status != RefundRequest.Status.APPROVED:
        return None
    refund = refund_current(request_id=request.pk)
    if refund is None or refund.expected_from is None or refund.expected_by is None:
        return None
    if refund.status in ("failed", "canceled"):
        return None
    return refund.expected_from, refund.expected_by
