"""``refundable import``: CSV files of customers, subscriptions and orders, through the real
command (``refundable.cli.main``) and the importer, on a real database (SQLite, and PostgreSQL in
the second run)."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Model

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor
from refundable.billing.models import Charge, Order
from refundable.billing.services import OrderError, order_create
from refundable.catalog.models import Plan
from refundable.cli import IMPORT_SHOWN, build_parser, main
from refundable.customers.imports import KINDS, ImportFileError, RowError, import_csv
from refundable.customers.models import Customer
from refundable.customers.services import CustomerError, customer_create, customer_locale_set
from refundable.subscriptions.models import Subscription
from refundable.testing.factories import (
    NOW,
    CustomerFactory,
    OrderFactory,
    PlanFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[4] / "examples" / "import"


def csv_file(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(errors: list[RowError]) -> set[tuple[int, str]]:
    return {(error.line, error.column) for error in errors}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["import", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def table(model: type[Model]) -> list[dict[str, Any]]:
    """Every row of ``model``'s table, to show that nothing changed."""
    return list(model._default_manager.order_by("pk").values())


@pytest.fixture
def plans() -> dict[str, Plan]:
    annual = PlanFactory.create()  # antivirus-annual, a year
    lifetime = PlanFactory.create(code="antivirus-lifetime", name="Antivirus — lifetime",
                                  period="lifetime", price=14999)
    return {"annual": annual, "lifetime": lifetime}


@pytest.fixture
def people() -> dict[str, Customer]:
    return {"ana": CustomerFactory.create(email="ana@example.test", name="Ana Lopez",
                                          country="ES", locale="en"),
            "ben": CustomerFactory.create(email="ben@example.test", name="Ben Ode",
                                          country="DE", locale="en")}


CUSTOMERS = """
    email,name,country,locale,consumer
    chloe@example.test,Chloé Dubois,FR,fr,yes
    dan@example.test,"Dan Smith, Ltd",gb,EN,no
    eve@example.test,Eve Adams,US,,
"""
SUBSCRIPTIONS = """
    reference,customer_email,plan,channel,started_at,current_period_start,current_period_end,auto_renew
    CT-9001,ana@example.test,antivirus-annual,direct,2026-01-10T09:00:00+01:00,2026-01-10T09:00:00+01:00,2027-01-10T09:00:00+01:00,true
    CT-9002,BEN@example.test,antivirus-lifetime,reseller,2025-06-01T12:00:00Z,2025-06-01T12:00:00Z,,0
"""
ORDERS = """
    order_number,invoice_number,customer_email,subscription_reference,created_at,amount,currency,payment_method,period_start,period_end,is_renewal,provider_reference
    ORD-9001,INV-9001,ana@example.test,CT-9001,2026-01-10T09:00:00+01:00,8999,eur,card,2026-01-10T09:00:00+01:00,2027-01-10T09:00:00+01:00,false,ch_1
    ORD-9002,INV-9002,ben@example.test,CT-9002,2025-06-01T12:00:00Z,14999,EUR,paypal,2025-06-01T12:00:00Z,,no,
    ORD-9003,INV-9003,ben@example.test,,2025-07-01T08:30:00+02:00,0,JPY,bank,2025-07-01T08:30:00+02:00,,,
"""


# -- valid files --------------------------------------------------------------------------------

def test_customers_import_through_the_command_and_are_audited(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file(tmp_path, CUSTOMERS, "customers.csv")
    code, out, err = run(capsys, "customers", str(path))
    assert (code, err) == (0, "")
    assert "3 rows read — 3 imported, 0 already present, 0 rejected" in out
    chloe = Customer.objects.get(email="chloe@example.test")
    assert (chloe.name, chloe.country, chloe.locale, chloe.consumer, chloe.user) == (
        "Chloé Dubois", "FR", "fr", True, None)
    dan = Customer.objects.get(email="dan@example.test")
    assert (dan.name, dan.country, dan.locale, dan.consumer) == ("Dan Smith, Ltd", "GB", "en",
                                                                 False)
    eve = Customer.objects.get(email="eve@example.test")  # defaults: English, a consumer
    assert (eve.locale, eve.consumer) == ("en", True)
    events = AuditEvent.objects.filter(action="customer.create").order_by("id")
    assert [e.object_id for e in events] == [str(c.pk) for c in (chloe, dan, eve)]
    assert {e.actor for e in events} == {"operator:import"}
    assert events[0].customer_id == chloe.pk
    assert events[0].note == "import customers.csv line 2"
    assert events[0].after == {"email": "chloe@example.test", "name": "Chloé Dubois",
                               "country": "FR", "locale": "fr", "consumer": True}


def test_subscriptions_and_orders_import_with_their_charges(
        tmp_path: Path, plans: dict[str, Plan], people: dict[str, Customer]) -> None:
    report = import_csv("subscriptions", csv_file(tmp_path, SUBSCRIPTIONS))
    assert (report.rows_read, report.imported, report.rejected) == (2, 2, 0)
    annual = Subscription.objects.get(reference="CT-9001")
    assert (annual.customer, annual.plan, annual.status, annual.auto_renew) == (
        people["ana"], plans["annual"], "active", True)
    assert annual.started_at == datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    assert annual.current_period_end == datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    lifetime = Subscription.objects.get(reference="CT-9002")  # e-mail matched without case
    assert (lifetime.customer, lifetime.channel, lifetime.current_period_end,
            lifetime.auto_renew) == (people["ben"], "reseller", None, False)

    actor = Actor("operator", "migration-2026")
    report = import_csv("orders", csv_file(tmp_path, ORDERS), actor=actor)
    assert (report.rows_read, report.imported, report.rejected) == (3, 3, 0)
    charge = Charge.objects.select_related("order").get(order__order_number="ORD-9001")
    assert charge.order.subscription == annual and charge.order.invoice_number == "INV-9001"
    assert charge.customer_id_copy == people["ana"].pk
    assert (charge.amount, charge.currency, charge.payment_method, charge.provider_reference,
            charge.refunded_amount, charge.is_renewal) == (8999, "EUR", "card", "ch_1", 0, False)
    assert charge.captured_at == charge.order.created_at == charge.period_start
    one_off = Charge.objects.get(order__order_number="ORD-9003")
    assert one_off.order.subscription is None and one_off.period_end is None
    assert (one_off.amount, one_off.currency) == (0, "JPY")
    event = AuditEvent.objects.get(action="order.create", object_id=str(charge.order_id))
    assert event.actor == "operator:migration-2026"
    assert event.after is not None
    assert event.after["charge"]["amount"] == 8999 and event.after["invoice_number"] == "INV-9001"
    assert AuditEvent.objects.filter(action="subscription.create").count() == 2


def test_the_examples_import_into_the_demo_business(capsys: pytest.CaptureFixture[str]) -> None:
    from refundable.customers.demo import demo_load

    demo_load(now=NOW)
    before = Customer.objects.count(), Subscription.objects.count(), Order.objects.count()
    for kind in ("customers", "subscriptions", "orders"):
        code, out, err = run(capsys, kind, str(EXAMPLES / f"{kind}.csv"))
        assert (code, err) == (0, ""), out
        assert " 0 already present, 0 rejected" in out
    after = Customer.objects.count(), Subscription.objects.count(), Order.objects.count()
    assert [b - a for a, b in zip(before, after, strict=True)] == [4, 4, 5]


# -- rejected rows ------------------------------------------------------------------------------

def test_bad_customer_rows_are_rejected_and_the_valid_ones_import(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], people: dict[str, Customer]) -> None:
    path = csv_file(tmp_path, """
        email,name,country,locale,consumer
        fay@example.test,Fay Green,IE,en,true
        not-an-email,Bad Mail,FR,fr,yes
        gus@example.test,Gus Brown,UK,en,yes
        hal@example.test,Hal Jones,GB,de,yes
        ivy@example.test,Ivy Stone,GB,en,maybe
        jon@example.test,,GB,en,yes
        Fay@Example.test,Fay Again,IE,en,true
        ana@example.test,Ana Lopez-Garcia,ES,en,true
        kim@example.test,Kim Lee,ZZ,en,true
        lea@example.test,Léa Roux,FR,fr,no
    """)
    code, out, err = run(capsys, "customers", str(path))
    assert code == 1 and err == ""
    assert "10 rows read — 2 imported, 0 already present, 8 rejected" in out
    assert "line 3: email: 'not-an-email' is not an e-mail address" in out
    assert "line 4: country: 'UK' is not an ISO 3166-1 alpha-2 country code; use GB" in out
    assert "line 5: locale: 'de' is not one of en, fr" in out
    assert "line 6: consumer: 'maybe' is not true/false, 1/0 or yes/no" in out
    assert "line 7: name: required" in out
    assert "line 8: email: this e-mail is already on line 2 of this file" in out
    assert ("line 9: email: a customer with this e-mail already exists, with another name"
            in out)
    assert "line 10: country: 'ZZ' is not an ISO 3166-1 alpha-2 country code" in out
    assert set(Customer.objects.values_list("email", flat=True)) == {
        "ana@example.test", "ben@example.test", "fay@example.test", "lea@example.test"}
    assert Customer.objects.get(email="ana@example.test").name == "Ana Lopez"  # untouched


def test_bad_subscription_rows_are_rejected_with_line_and_column(
        tmp_path: Path, plans: dict[str, Plan], people: dict[str, Customer]) -> None:
    SubscriptionFactory.create(reference="CT-0001", customer=people["ana"], plan=plans["annual"])
    head = ("reference,customer_email,plan,channel,started_at,current_period_start,"
            "current_period_end,auto_renew\n")
    rows = [
        "CT-1,ana@example.test,antivirus-annual,direct,2026-01-10T09:00:00+01:00,"
        "2026-01-10T09:00:00+01:00,2027-01-10T09:00:00+01:00,yes",              # 2 valid
        "CT-2,nobody@example.test,gold-plan,direct,2026-01-10T09:00:00+01:00,"
        "2026-01-10T09:00:00+01:00,2027-01-10T09:00:00+01:00,yes",              # 3
        "CT-3,ana@example.test,antivirus-annual,fax,2026-01-10T09:00:00,"
        "10/01/2026,2027-01-10T09:00:00+01:00,sometimes",                        # 4
        "CT-4,ben@example.test,antivirus-lifetime,direct,2026-01-10T09:00:00Z,"
        "2026-01-10T09:00:00Z,2027-01-10T09:00:00Z,no",                          # 5
        "CT-5,ben@example.test,antivirus-annual,direct,2026-01-10T09:00:00Z,"
        "2026-01-10T09:00:00Z,,no",                                              # 6
        "CT-6,ben@example.test,antivirus-annual,direct,2026-01-10T09:00:00Z,"
        "2026-01-09T09:00:00Z,2026-01-09T09:00:00Z,no",                          # 7
        "CT-0001,ana@example.test,antivirus-lifetime,direct,2026-01-10T09:00:00Z,"
        "2026-01-10T09:00:00Z,,no",                                              # 8
        "CT-1,ben@example.test,antivirus-lifetime,direct,2026-01-10T09:00:00Z,"
        "2026-01-10T09:00:00Z,,no",                                              # 9
        "CT-7,ben@example.test,antivirus-lifetime,google_play,2026-01-10T09:00:00Z,"
        "2026-01-10T09:00:00Z,,",                                                # 10 valid
    ]
    path = tmp_path / "subscriptions.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    report = import_csv("subscriptions", path)
    assert (report.rows_read, report.imported, report.already_present, report.rejected) == (
        9, 2, 0, 7)
    assert problems(report.errors) == {
        (3, "customer_email"), (3, "plan"),
        (4, "channel"), (4, "started_at"), (4, "current_period_start"), (4, "auto_renew"),
        (5, "current_period_end"), (6, "current_period_end"),
        (7, "current_period_start"), (7, "current_period_end"),
        (8, "reference"), (9, "reference")}
    messages = {(e.line, e.column): e.message for e in report.errors}
    assert "no customer has the e-mail nobody@example.test" in messages[3, "customer_email"]
    assert messages[3, "plan"] == ("no plan has the code 'gold-plan' (known plans: "
                                   "antivirus-annual, antivirus-lifetime)")
    assert "has no UTC offset" in messages[4, "started_at"]
    assert "is not an ISO 8601 date-time" in messages[4, "current_period_start"]
    assert messages[5, "current_period_end"] == ("must be empty: antivirus-lifetime is a "
                                                 "lifetime plan")
    assert messages[6, "current_period_end"] == ("required: antivirus-annual renews every "
                                                 "year")
    assert messages[8, "reference"] == ("subscription CT-0001 already exists, with another "
                                        "plan, started_at")
    assert messages[9, "reference"] == "this reference is already on line 2 of this file"
    assert set(Subscription.objects.values_list("reference", flat=True)) == {
        "CT-0001", "CT-1", "CT-7"}


def test_bad_order_rows_are_rejected_with_line_and_column(
        tmp_path: Path, plans: dict[str, Plan], people: dict[str, Customer]) -> None:
    SubscriptionFactory.create(reference="CT-A", customer=people["ana"], plan=plans["annual"])
    SubscriptionFactory.create(reference="CT-B", customer=people["ben"], plan=plans["annual"])
    OrderFactory.create(order_number="ORD-OLD", invoice_number="INV-OLD",
                        subscription=Subscription.objects.get(reference="CT-A"))
    when, end = "2026-01-10T09:00:00+01:00", "2027-01-10T09:00:00+01:00"
    path = csv_file(tmp_path, f"""
        order_number,invoice_number,customer_email,subscription_reference,created_at,amount,currency,payment_method,period_start,period_end,is_renewal,provider_reference
        O-1,I-1,ana@example.test,CT-A,{when},8999,EUR,card,{when},{end},false,
        O-2,I-2,ana@example.test,CT-A,{when},12.50,EURO,cash,{when},{end},false,
        O-3,I-3,ana@example.test,CT-B,{when},-5,EUR,card,{when},{end},false,
        O-4,I-4,ana@example.test,CT-X,{when},abc,XYZ,card,{when},{end},false,
        O-5,I-5,ana@example.test,,{when},100,EUR,card,{when},,true,
        O-6,INV-OLD,ana@example.test,CT-A,{when},100,EUR,card,{when},{end},false,
        O-1,I-7,ana@example.test,CT-A,{when},100,EUR,card,{when},{end},false,
        O-8,I-1,ana@example.test,CT-A,{when},100,EUR,card,{when},{end},false,
        O-9,I-9,ana@example.test,CT-A,{when},100,EUR,card,{when},,false,
        O-10,I-10,ana@example.test,CT-A,{when},100,EUR,card,{end},{when},false,
        ORD-OLD,INV-OLD-2,ana@example.test,CT-A,{when},100,EUR,card,{when},{end},false,
        O-12,I-12,ben@example.test,CT-B,{when},99999999999,USD,store,{when},{end},true,gp_1
        O-13,I-13,ben@example.test,CT-B,{when},4999,usd,store,{when},{end},1,gp_2
    """)
    report = import_csv("orders", path)
    assert (report.rows_read, report.imported, report.rejected) == (13, 2, 11)
    assert problems(report.errors) == {
        (3, "amount"), (3, "currency"), (3, "payment_method"),
        (4, "amount"), (4, "subscription_reference"),
        (5, "amount"), (5, "currency"), (5, "subscription_reference"),
        (6, "is_renewal"),
        (7, "invoice_number"), (8, "order_number"), (9, "invoice_number"),
        (10, "period_end"), (11, "period_end"), (12, "order_number"), (13, "amount")}
    messages = {(e.line, e.column): e.message for e in report.errors}
    assert messages[3, "amount"] == ("'12.50' is not a whole number of minor units (cents): "
                                     "12.50 is written 1250")
    assert messages[4, "amount"] == "'-5' is negative; amounts are 0 or more"
    assert messages[4, "subscription_reference"] == ("subscription CT-B belongs to another "
                                                     "customer")
    assert messages[5, "currency"] == ("'XYZ' is not an ISO 4217 currency code (such as EUR, "
                                       "GBP, USD)")
    assert messages[5, "subscription_reference"] == "no subscription has the reference CT-X"
    assert messages[6, "is_renewal"] == "a renewal needs its subscription_reference"
    assert messages[7, "invoice_number"] == "invoice INV-OLD already belongs to order ORD-OLD"
    assert messages[8, "order_number"] == "this order number is already on line 2 of this file"
    assert messages[9, "invoice_number"] == ("this invoice number is already on line 2 of "
                                             "this file")
    assert messages[10, "period_end"] == "required: antivirus-annual renews every year"
    assert messages[11, "period_end"] == "is not after period_start"
    assert messages[12, "order_number"] == ("order ORD-OLD already exists, with another "
                                            "invoice_number, created_at")
    assert set(Order.objects.values_list("order_number", flat=True)) == {"ORD-OLD", "O-1", "O-13"}
    renewal = Charge.objects.get(order__order_number="O-13")
    assert (renewal.currency, renewal.payment_method, renewal.is_renewal) == ("USD", "store",
                                                                             True)


def test_a_row_with_the_wrong_number_of_values_and_line_numbers_after_quoted_newlines(
        tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("\ufeffEmail, Name ,COUNTRY,notes\r\n"
                     'a@example.test,"Anne\r\nMarie",FR,"two\r\nlines"\r\n'
                     "\r\n"
                     "b@example.test,Bea,FR\r\n"
                     "c@example.test,Cy,XX,,extra\r\n"
                     "d@example.test,Di,FR,\r\n".encode())
    report = import_csv("customers", path)
    assert report.ignored_columns == ["notes"]
    assert (report.rows_read, report.imported, report.rejected) == (4, 2, 2)
    assert [str(e) for e in report.errors] == [
        "line 6: row: 3 values where the header has 4 columns",
        "line 7: row: 5 values where the header has 4 columns"]
    assert Customer.objects.get(email="a@example.test").name == "Anne\r\nMarie"


def test_the_human_report_shows_at_most_fifty_problems(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["email,name,country"] + [f"p{i}@example.test,P {i},XX" for i in range(60)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "customers", str(path))
    assert code == 1
    shown = [line for line in out.splitlines() if line.startswith("line ")]
    assert len(shown) == IMPORT_SHOWN and shown[0].startswith("line 2: country: ")
    assert "60 problems, the first 50 shown; --json lists them all" in out
    code, out, _ = run(capsys, "customers", str(path), "--json")
    report = json.loads(out)
    assert code == 1 and len(report["errors"]) == 60 and report["rejected"] == 60
    assert report["errors"][0] == {"line": 2, "column": "country", "message": (
        "'XX' is not an ISO 3166-1 alpha-2 country code (such as FR, DE, GB, US)")}


# -- whole-file problems ------------------------------------------------------------------------

def test_missing_columns_are_named_in_one_error_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = csv_file(tmp_path, """
        email,nom,locale
        zoe@example.test,Zoé,fr
    """)
    code, out, err = run(capsys, "customers", str(path))
    assert (code, out) == (1, "")
    assert err.startswith(f"refundable import: {path}: line 1: missing columns name, country "
                          "(a customers file has the columns email, name, country, optionally "
                          "locale, consumer; this header has email, nom, locale)")
    assert "Traceback" not in err and not Customer.objects.exists()
    semicolons = csv_file(tmp_path, "email;name;country\nzoe@example.test;Zoé;FR\n", "fr.csv")
    code, _, err = run(capsys, "customers", str(semicolons))
    assert code == 1 and "separated by commas, not semicolons" in err


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the file: No such file or directory"),
    (b"", "the file is empty; its first line must name the columns"),
    (b"email,name,country\na@example.test,Ren\xe9,FR\n",
     "line 2: the file is not UTF-8 text"),
    (b"email,name,country,email\n", "line 1: column email appears twice in the header"),
    (b"email,name,country\na@example.test,Al\x00,FR\n", "line 2: a NUL character"),
    (b'email,name,country\na@example.test,Al,FR\nb@example.test,"Bo,FR\nc@example.test,Cy,FR\n',
     "line 3: not valid CSV (unexpected end of data)"),
    (b'\n\nemail,name,country\na@example.test,"Al"x,FR\n',
     "line 4: not valid CSV (',' expected after '\"')"),
], ids=["missing", "empty", "latin-1", "twice", "nul", "open-quote", "stray-quote"])
def test_a_file_that_cannot_be_read_is_a_clear_error_without_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None,
        message: str) -> None:
    path = tmp_path / "customers.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "customers", str(path))
    assert (code, out) == (1, "")
    assert err.startswith(f"refundable import: {path}: {message}")
    assert "Traceback" not in err and not Customer.objects.exists()
    with pytest.raises(ImportFileError, match=re.escape(message)):
        import_csv("customers", path)
    code, _, err = run(capsys, "orders", str(tmp_path))  # a directory
    assert code == 1 and "cannot read the file" in err and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["import", "invoices", "x.csv"], ["import", "customers"],
                 ["import", "customers", "x.csv", "--force"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
    capsys.readouterr()
    for kind in KINDS:  # the command offers every kind the importer knows
        assert build_parser().parse_args(["import", kind, "x.csv"]).kind == kind


# -- re-running, dry runs -------------------------------------------------------------------------

def test_re_importing_the_same_files_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], plans: dict[str, Plan],
        people: dict[str, Customer]) -> None:
    files = {"customers": csv_file(tmp_path, CUSTOMERS, "c.csv"),
             "subscriptions": csv_file(tmp_path, SUBSCRIPTIONS, "s.csv"),
             "orders": csv_file(tmp_path, ORDERS, "o.csv")}
    for kind, path in files.items():
        assert run(capsys, kind, str(path))[0] == 0
    # what customers may change after the import does not make the row a different one
    chloe = Customer.objects.get(email="chloe@example.test")
    customer_locale_set(actor=Actor("customer", str(chloe.pk)), customer_id=chloe.pk,
                        locale="en")
    Subscription.objects.filter(reference="CT-9001").update(auto_renew=False)
    state = [table(m) for m in (Customer, Subscription, Order, Charge, AuditEvent)]
    for kind, path in files.items():
        code, out, err = run(capsys, kind, str(path), "--json")
        report = json.loads(out)
        assert (code, err) == (0, "")
        assert report["imported"] == report["rejected"] == 0
        assert report["already_present"] == report["rows_read"] > 0
    assert [table(m) for m in (Customer, Subscription, Order, Charge, AuditEvent)] == state


def test_a_dry_run_writes_nothing_and_reports_what_would_happen(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], people: dict[str, Customer]) -> None:
    path = csv_file(tmp_path, CUSTOMERS + "    nobody,No Body,FR,fr,yes\n")
    state = [table(m) for m in (Customer, AuditEvent)]
    code, out, err = run(capsys, "customers", str(path), "--dry-run")
    assert (code, err) == (1, "")
    assert ("4 rows read — 3 would be imported, 0 already present, 1 rejected (dry run: "
            "nothing was written)") in out
    assert "line 5: email: 'nobody' is not an e-mail address" in out
    code, out, _ = run(capsys, "customers", str(path), "--dry-run", "--json")
    report = json.loads(out)
    assert (report["dry_run"], report["imported"], report["rejected"]) == (True, 3, 1)
    assert [table(m) for m in (Customer, AuditEvent)] == state
    # the real run then gives the same report
    assert import_csv("customers", path).imported == 3


# -- the services' own guards (the importer checks first; the services hold the line) -----------

def test_services_refuse_what_the_importer_would_reject(people: dict[str, Customer]) -> None:
    actor = Actor("operator", "test")
    with pytest.raises(CustomerError, match="already exists"):
        customer_create(actor=actor, email="ANA@example.test", name="Ana", country="ES")
    with pytest.raises(CustomerError, match="use GB"):
        customer_create(actor=actor, email="new@example.test", name="New", country="uk")
    other = SubscriptionFactory.create(customer=people["ben"])
    with pytest.raises(OrderError, match="belongs to another customer"):
        order_create(actor=actor, customer_id=people["ana"].pk, order_number="O-1",
                     invoice_number="I-1", created_at=NOW, amount=100, currency="EUR",
                     period_start=NOW, period_end=NOW.replace(year=2027),
                     subscription_id=other.pk)
    assert not AuditEvent.objects.exists()


def test_orders_say_which_provider_captured_them(
        tmp_path: Path, plans: dict[str, Plan], people: dict[str, Customer]) -> None:
    when = "2026-01-10T09:00:00+01:00"
    path = csv_file(tmp_path, f"""
        order_number,invoice_number,customer_email,created_at,amount,currency,period_start,period_end,provider,provider_reference
        S-1,SI-1,ana@example.test,{when},8999,EUR,{when},,stripe,ch_3Ab
        S-2,SI-2,ana@example.test,{when},8999,EUR,{when},,stripe,
        S-3,SI-3,ana@example.test,{when},8999,EUR,{when},,adyen,x
        S-4,SI-4,ana@example.test,{when},8999,EUR,{when},,,
    """)
    report = import_csv("orders", path)
    assert (report.rows_read, report.imported, report.rejected) == (4, 2, 2)
    assert problems(report.errors) == {(3, "provider_reference"), (4, "provider")}
    assert Charge.objects.get(order__order_number="S-1").provider == "stripe"
    assert Charge.objects.get(order__order_number="S-4").provider == "sandbox"
