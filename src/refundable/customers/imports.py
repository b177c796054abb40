"""Loading customers, subscriptions and orders from CSV files (``refundable import``).

The file is read whole before anything is written: UTF-8 (with or without a byte-order mark),
comma-separated, a header row naming the columns (any order, any case; unknown columns are
ignored and listed in the report). An unreadable file, text that is not UTF-8, malformed CSV or
missing required columns raise ``ImportFileError`` with one message naming the problem.

Then row by row: every problem of a row is reported with its line in the file and its column;
a valid row is written through its domain's service (``customer_create``,
``subscription_create``, ``order_create``) in its own transaction, with an audit event by the
actor (``operator:import`` unless given) noting the file and line. Imports send no e-mail.

A row whose key (e-mail, reference, order number) already exists in the database is *already
present* when it agrees with the stored record on the fields that only an import sets (see
``_customer``, ``_subscription``, ``_order``): nothing is written. When it disagrees, the row is
rejected as a duplicate and the fields that differ are named. So re-running a file writes
nothing new. A key seen twice in one file is rejected at its second line.

A dry run does the same work inside one transaction that is rolled back at the end: the report
is the one a real run would give, and nothing stays in the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, transaction

from ..audit.services import Actor
from ..billing.models import Charge, Order
from ..billing.services import AMOUNT_MAX, CAPTURING_PROVIDERS, OrderError, order_create
from ..catalog.models import Plan
from ..iso_codes import country_problem, currency_problem
from ..subscriptions.models import CHANNELS, Subscription
from ..subscriptions.services import SubscriptionError, subscription_create
from .models import Customer
from .services import LOCALES, CustomerError, customer_create


@dataclass(frozen=True)
class Columns:
    """The columns of one kind of file: required ones must be in the header (their values may
    still be empty where the kind allows it); optional ones have a default when absent or empty.
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


KINDS: Final = {
    "customers": Columns(required=("email", "name", "country"),
                         optional=("locale", "consumer")),
    "subscriptions": Columns(
        required=("reference", "customer_email", "plan", "started_at", "current_period_start",
                  "current_period_end"),
        optional=("channel", "auto_renew")),
    "orders": Columns(
        required=("order_number", "invoice_number", "customer_email", "created_at", "amount",
                  "currency", "period_start", "period_end"),
        optional=("subscription_reference", "payment_method", "is_renewal", "provider",
                  "provider_reference")),
}

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[-+]?[0-9]+(?:[.,][0-9]+)?")
ROW = "row"  # the column named for problems of a whole row


class ImportFileError(Exception):
    """The file as a whole cannot be imported (message for people, naming the file)."""


@dataclass(frozen=True)
class RowError:
    line: int  # line of the file where the row starts (the header is usually line 1)
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: rows read, imported, already present, rejected, and why."""

    kind: str
    file: str
    dry_run: bool = False
    rows_read: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every row was imported or already present."""
        return self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading the file ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Record:
    line: int
    values: dict[str, str]
    problem: str = ""  # the row's shape is wrong: rejected as a whole


def read_rows(path: str | Path, kind: str) -> tuple[list[_Record], list[str]]:
    """The data rows of ``path`` (with their first line) and the ignored columns.

    Raises ``ImportFileError`` for anything that concerns the whole file.
    """
    columns = KINDS[kind]
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(f"{name}: line {line}: the file is not UTF-8 text (save it as "
                              "CSV UTF-8)") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFileError(f"{name}: line {line}: a NUL character: this is not a CSV text "
                              "file") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    records: list[_Record] = []
    line = 1
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue  # blank lines are not rows
            if header is None:
                header = _header(name, start, kind, columns, values)
                continue
            if len(values) != len(header):
                records.append(_Record(start, {}, f"{len(values)} values where the header has "
                                                  f"{len(header)} columns"))
                continue
            records.append(_Record(start, {column: value.strip()
                                           for column, value in zip(header, values, strict=True)
                                           if column in columns.all}))
    except csv.Error as exc:  # ``line``: where the record that cannot be read starts
        raise ImportFileError(f"{name}: line {line}: not valid CSV ({exc}); a value with a "
                              'comma, a quote or a line break goes in double quotes, its quotes '
                              'doubled: "say ""hi"", then go"') from None
    if header is None:
        raise ImportFileError(f"{name}: the file is empty; its first line must name the columns "
                              f"({', '.join(columns.all)})")
    ignored = [column for column in header if column and column not in columns.all]
    return records, ignored


def _header(name: str, line: int, kind: str, columns: Columns, values: list[str]) -> list[str]:
    header = [value.strip().lower() for value in values]
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise ImportFileError(f"{name}: line {line}: column{'s' if len(twice) > 1 else ''} "
                              f"{', '.join(twice)} appear{'' if len(twice) > 1 else 's'} twice "
                              "in the header")
    missing = [c for c in columns.required if c not in header]
    if missing:
        hint = "; values must be separated by commas, not semicolons" \
            if any(";" in c for c in header) else ""
        raise ImportFileError(
            f"{name}: line {line}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (a {kind} file has the columns {', '.join(columns.required)}"
            f", optionally {', '.join(columns.optional)}; this header has "
            f"{', '.join(c or '(empty)' for c in header)}{hint})")
    return header


# -- values -----------------------------------------------------------------------------------

class _Row:
    """One row's values and its problems. The parsers return None for an invalid value (and
    record why) or for an optional value left empty; a row with problems is never written."""

    def __init__(self, record: _Record) -> None:
        self.line = record.line
        self.values = record.values
        self.errors: list[RowError] = []

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))

    def raw(self, column: str) -> str:
        return self.values.get(column, "")

    def text(self, column: str, *, max_length: int, required: bool = True) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "required")
            return None
        if len(value) > max_length:
            self.fail(column, f"longer than {max_length} characters")
            return None
        return value

    def email(self, column: str) -> str | None:
        value = self.text(column, max_length=254)
        if value is None:
            return None
        try:
            validate_email(value)
        except ValidationError:
            self.fail(column, f"{value!r} is not an e-mail address")
            return None
        return value

    def country(self, column: str) -> str | None:
        value = self.text(column, max_length=100)
        if value is None:
            return None
        problem = country_problem(value.upper())
        if problem:
            self.fail(column, problem)
            return None
        return value.upper()

    def currency(self, column: str) -> str | None:
        value = self.text(column, max_length=100)
        if value is None:
            return None
        problem = currency_problem(value.upper())
        if problem:
            self.fail(column, problem)
            return None
        return value.upper()

    def choice(self, column: str, choices: tuple[str, ...], default: str) -> str | None:
        value = self.raw(column).lower()
        if not value:
            return default
        if value not in choices:
            self.fail(column, f"{self.raw(column)!r} is not one of {', '.join(choices)}")
            return None
        return value

    def boolean(self, column: str, default: bool) -> bool | None:
        value = self.raw(column).lower()
        if not value:
            return default
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        self.fail(column, f"{self.raw(column)!r} is not true/false, 1/0 or yes/no")
        return None

    def moment(self, column: str, *, required: bool = True) -> datetime | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "required")
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(column, f"{value!r} is not an ISO 8601 date-time such as "
                              "2026-03-01T10:00:00+01:00")
            return None
        if moment.tzinfo is None:
            self.fail(column, f"{value!r} has no UTC offset; add one such as +01:00 or Z")
            return None
        return moment

    def amount(self, column: str) -> int | None:
        value = self.raw(column)
        if not value:
            self.fail(column, "required")
            return None
        if not _DIGITS.fullmatch(value):
            if _NUMBER.fullmatch(value) and value.startswith("-"):
                message = f"{value!r} is negative; amounts are 0 or more"
            elif _NUMBER.fullmatch(value):
                message = (f"{value!r} is not a whole number of minor units (cents): "
                           "12.50 is written 1250")
            else:
                message = f"{value!r} is not a whole number of minor units (cents)"
            self.fail(column, message)
            return None
        amount = int(value)
        if amount > AMOUNT_MAX:
            self.fail(column, f"{value} is more than {AMOUNT_MAX} minor units")
            return None
        return amount


# -- the kinds --------------------------------------------------------------------------------

IMPORTED, PRESENT, REJECTED = "imported", "already_present", "rejected"


class _Run:
    """State shared by the rows of one file: who acts, keys seen, lookups."""

    def __init__(self, actor: Actor, file: str) -> None:
        self.actor = actor
        self.file = Path(file).name
        self.seen: dict[str, dict[str, int]] = {}
        self._customers: dict[str, Customer | None] = {}
        self._plans: dict[str, Plan] | None = None

    def note(self, row: _Row) -> str:
        return f"import {self.file} line {row.line}"

    def first(self, row: _Row, column: str, key: str | None, what: str) -> None:
        """Reject ``key`` in ``column`` if an earlier line of the file had it."""
        if key is None:
            return
        seen = self.seen.setdefault(column, {})
        if key in seen:
            row.fail(column, f"{what} is already on line {seen[key]} of this file")
        else:
            seen[key] = row.line

    def customer(self, row: _Row, column: str, email: str | None) -> Customer | None:
        if email is None:
            return None
        key = email.casefold()
        if key not in self._customers:
            self._customers[key] = Customer.objects.filter(email__iexact=email).first()
        customer = self._customers[key]
        if customer is None:
            row.fail(column, f"no customer has the e-mail {email} (import the customers first)")
        return customer

    def plan(self, row: _Row, column: str, code: str | None) -> Plan | None:
        if code is None:
            return None
        if self._plans is None:
            self._plans = {plan.code: plan for plan in Plan.objects.all()}
        plan = self._plans.get(code)
        if plan is None:
            known = sorted(self._plans)
            listed = f" (known plans: {', '.join(known)})" if 0 < len(known) <= 20 else ""
            row.fail(column, f"no plan has the code {code!r}{listed}")
        return plan


def _write(row: _Row, column: str, create: Callable[[], object]) -> str:
    """Call a service; what it refuses (or the database does, e.g. a row written meanwhile)
    rejects the row instead of stopping the import."""
    try:
        create()
    except (CustomerError, SubscriptionError, OrderError) as exc:
        row.fail(column, str(exc))
        return REJECTED
    except ObjectDoesNotExist as exc:
        row.fail(column, f"not saved: {exc}")
        return REJECTED
    except (IntegrityError, DataError) as exc:
        row.fail(column, f"not saved, the database refused it: {str(exc).strip()}")
        return REJECTED
    return IMPORTED


def _differences(pairs: list[tuple[str, object, object]]) -> list[str]:
    return [column for column, stored, given in pairs if stored != given]


def _customer(row: _Row, run: _Run) -> str:
    """Compared with an existing customer of the same e-mail: name, country, consumer (the
    locale is not: the customer may have changed it since)."""
    email = row.email("email")
    name = row.text("name", max_length=200)
    country = row.country("country")
    locale = row.choice("locale", LOCALES, "en")
    consumer = row.boolean("consumer", True)
    run.first(row, "email", email.casefold() if email else None, "this e-mail")
    if row.errors or email is None or name is None or country is None or locale is None \
            or consumer is None:
        return REJECTED
    existing = Customer.objects.filter(email__iexact=email).first()
    if existing is not None:
        differ = _differences([("name", existing.name, name), ("country", existing.country,
                               country), ("consumer", existing.consumer, consumer)])
        if differ:
            row.fail("email", f"a customer with this e-mail already exists, with another "
                              f"{', '.join(differ)}")
            return REJECTED
        return PRESENT
    return _write(row, "email", lambda: customer_create(
        actor=run.actor, email=email, name=name, country=country, locale=locale,
        consumer=consumer, note=run.note(row)))


def _subscription(row: _Row, run: _Run) -> str:
    """Compared with an existing subscription of the same reference: customer, plan, channel,
    start (not the current period or auto-renewal, which move on after the import)."""
    reference = row.text("reference", max_length=40)
    email = row.email("customer_email")
    plan_code = row.text("plan", max_length=50)
    channel = row.choice("channel", tuple(dict(CHANNELS)), "direct")
    started_at = row.moment("started_at")
    period_start = row.moment("current_period_start")
    period_end = row.moment("current_period_end", required=False)
    auto_renew = row.boolean("auto_renew", True)
    run.first(row, "reference", reference, "this reference")
    customer = run.customer(row, "customer_email", email)
    plan = run.plan(row, "plan", plan_code)
    if started_at and period_start and period_start < started_at:
        row.fail("current_period_start", "is before started_at")
    if period_start and period_end and period_end <= period_start:
        row.fail("current_period_end", "is not after current_period_start")
    if plan is not None and plan.period == "lifetime" and period_end is not None:
        row.fail("current_period_end", f"must be empty: {plan.code} is a lifetime plan")
    if plan is not None and plan.period != "lifetime" and not row.raw("current_period_end"):
        row.fail("current_period_end", f"required: {plan.code} renews every {plan.period}")
    if row.errors or reference is None or customer is None or plan is None or channel is None \
            or started_at is None or period_start is None or auto_renew is None:
        return REJECTED
    existing = Subscription.objects.filter(reference=reference).first()
    if existing is not None:
        differ = _differences([("customer_email", existing.customer_id, customer.pk),
                               ("plan", existing.plan_id, plan.pk),
                               ("channel", existing.channel, channel),
                               ("started_at", existing.started_at, started_at)])
        if differ:
            row.fail("reference", f"subscription {reference} already exists, with another "
                                  f"{', '.join(differ)}")
            return REJECTED
        return PRESENT
    return _write(row, "reference", lambda: subscription_create(
        actor=run.actor, customer_id=customer.pk, plan_id=plan.pk, reference=reference,
        started_at=started_at, current_period_start=period_start,
        current_period_end=period_end, channel=channel, auto_renew=auto_renew,
        note=run.note(row)))


def _order(row: _Row, run: _Run) -> str:
    """Compared with an existing order of the same number: every column (orders and their
    charges do not change after the import, except the amount refunded, which is not a
    column)."""
    order_number = row.text("order_number", max_length=40)
    invoice_number = row.text("invoice_number", max_length=40)
    email = row.email("customer_email")
    reference = row.text("subscription_reference", max_length=40, required=False)
    created_at = row.moment("created_at")
    amount = row.amount("amount")
    currency = row.currency("currency")
    method = row.choice("payment_method", tuple(dict(Charge.PAYMENT_METHODS)), "card")
    period_start = row.moment("period_start")
    period_end = row.moment("period_end", required=False)
    is_renewal = row.boolean("is_renewal", False)
    provider = row.choice("provider", CAPTURING_PROVIDERS, "sandbox")
    provider_reference = row.text("provider_reference", max_length=100, required=False) or ""
    if provider == "stripe" and not provider_reference.startswith(("ch_", "py_", "pi_")):
        row.fail("provider_reference", "a Stripe charge needs its Stripe id (ch_…, py_… or "
                                       "pi_…)")
    run.first(row, "order_number", order_number, "this order number")
    run.first(row, "invoice_number", invoice_number, "this invoice number")
    customer = run.customer(row, "customer_email", email)
    subscription = None
    if reference is not None:
        subscription = Subscription.objects.select_related("plan").filter(
            reference=reference).first()
        if subscription is None:
            row.fail("subscription_reference", f"no subscription has the reference {reference}")
        elif customer is not None and subscription.customer_id != customer.pk:
            row.fail("subscription_reference", f"subscription {reference} belongs to another "
                                               "customer")
    if is_renewal and reference is None:
        row.fail("is_renewal", "a renewal needs its subscription_reference")
    if period_start and period_end and period_end <= period_start:
        row.fail("period_end", "is not after period_start")
    elif created_at and period_end and period_end < created_at:
        row.fail("period_end", "is before created_at")
    if subscription is not None and subscription.plan.period != "lifetime" \
            and not row.raw("period_end"):
        row.fail("period_end", f"required: {subscription.plan.code} renews every "
                               f"{subscription.plan.period}")
    if row.errors or order_number is None or invoice_number is None or customer is None \
            or created_at is None or amount is None or currency is None or method is None \
            or period_start is None or is_renewal is None or provider is None:
        return REJECTED
    existing = Order.objects.filter(order_number=order_number).first()
    if existing is not None:
        charge = existing.charges.order_by("id").first()
        pairs: list[tuple[str, object, object]] = [
            ("invoice_number", existing.invoice_number, invoice_number),
            ("customer_email", existing.customer_id, customer.pk),
            ("subscription_reference", existing.subscription_id,
             subscription.pk if subscription else None),
            ("created_at", existing.created_at, created_at)]
        if charge is not None:
            pairs += [("amount", charge.amount, amount), ("currency", charge.currency, currency),
                      ("payment_method", charge.payment_method, method),
                      ("period_start", charge.period_start, period_start),
                      ("period_end", charge.period_end, period_end),
                      ("is_renewal", charge.is_renewal, is_renewal),
                      ("provider", charge.provider, provider),
                      ("provider_reference", charge.provider_reference, provider_reference)]
        differ = _differences(pairs)
        if differ:
            row.fail("order_number", f"order {order_number} already exists, with another "
                                     f"{', '.join(differ)}")
            return REJECTED
        return PRESENT
    other = Order.objects.filter(invoice_number=invoice_number).first()
    if other is not None:
        row.fail("invoice_number", f"invoice {invoice_number} already belongs to order "
                                   f"{other.order_number}")
        return REJECTED
    return _write(row, "order_number", lambda: order_create(
        actor=run.actor, customer_id=customer.pk, order_number=order_number,
        invoice_number=invoice_number, created_at=created_at, amount=amount, currency=currency,
        period_start=period_start, period_end=period_end,
        subscription_id=subscription.pk if subscription else None, payment_method=method,
        is_renewal=is_renewal, provider=provider, provider_reference=provider_reference,
        note=run.note(row)))


_HANDLERS: Final[dict[str, Callable[[_Row, _Run], str]]] = {
    "customers": _customer, "subscriptions": _subscription, "orders": _order}

IMPORT_ACTOR: Final = Actor("operator", "import")


def import_csv(kind: str, path: str | Path, *, actor: Actor | None = None,
               dry_run: bool = False) -> ImportReport:
    """Import the ``kind`` rows of the CSV file at ``path`` (see the module's docstring).

    Raises ``ImportFileError`` when the file as a whole cannot be imported (nothing written).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    records, ignored = read_rows(path, kind)
    report = ImportReport(kind=kind, file=str(path), dry_run=dry_run, ignored_columns=ignored)
    run = _Run(actor or IMPORT_ACTOR, str(path))
    if dry_run:
        with transaction.atomic():
            _import_rows(records, run, _HANDLERS[kind], report)
            transaction.set_rollback(True)
    else:
        _import_rows(records, run, _HANDLERS[kind], report)
    return report


def _import_rows(records: list[_Record], run: _Run, handler: Callable[[_Row, _Run], str],
                 report: ImportReport) -> None:
    for record in records:
        report.rows_read += 1
        if record.problem:
            report.rejected += 1
            report.errors.append(RowError(record.line, ROW, record.problem))
            continue
        row = _Row(record)
        outcome = handler(row, run)
        if outcome == IMPORTED:
            report.imported += 1
        elif outcome == PRESENT:
            report.already_present += 1
        else:
            report.rejected += 1
        report.errors.extend(row.errors)
