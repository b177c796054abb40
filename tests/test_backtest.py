"""Backtests through the library: reading histories, both engines, ``summarise`` and ``compare``.

The command line is tested in ``test_cli.py``; here the summaries are checked against numbers
computed independently (one scalar ``decide`` per row) and against hand-made decision frames, and
both engines are held to the same answer on which history rows are valid, for every ISO 8601
form the scalar parser reads (the vector engine reads the usual ones itself and hands the others
to the scalar parser).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from refundable import backtest
from refundable.backtest import (
    HistoryError,
    Result,
    RowError,
    compare,
    read_history,
    run_scalar,
    run_vector,
    summarise,
)
from refundable.policy import Policy, decide, load_floor, load_policy, parse_facts
from refundable.policy import vector as vector_engine
from refundable.policy.facts import FACTS
from refundable.policy.vector import DECISION_COLUMNS, _scalar_rows, decision_row
from refundable.synthetic import generate_history, write_history

ROOT = Path(__file__).resolve().parents[1]
IPTV = ROOT / "policies" / "iptv-72-hours.toml"
ANNUAL = ROOT / "policies" / "annual-60-day-guarantee.toml"
ROWS = 300


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return generate_history(ROWS, seed=5)


@pytest.fixture(scope="module")
def iptv() -> Policy:
    return load_policy(IPTV)


@pytest.fixture(scope="module")
def iptv_96(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    text = IPTV.read_text(encoding="utf-8")
    assert text.count("when.hours_since_purchase = { max = 72 }") == 1
    text = text.replace("when.hours_since_purchase = { max = 72 }",
                        "when.hours_since_purchase = { max = 96 }")
    path = tmp_path_factory.mktemp("policies") / "iptv-96.toml"
    version = load_policy(IPTV).version
    path.write_text(text.replace(f"version = {version}", f"version = {version + 1}", 1),
                    encoding="utf-8")
    return load_policy(path)


def scalar_rows_by_hand(policy: Policy, history: pl.DataFrame) -> list[dict[str, Any]]:
    """One ``parse_facts`` + ``decide`` per row, independently of ``run_scalar``."""
    decided = []
    for raw in history.iter_rows(named=True):
        facts = {k: v for k, v in raw.items() if v is not None and v != ""}
        if "documents" in facts:
            facts["documents"] = facts["documents"].split(";")
        decided.append(decision_row(decide(policy, parse_facts(facts), load_floor())))
    return decided


# -- reading histories ----------------------------------------------------------------------------

def test_csv_and_parquet_read_to_the_same_decisions(history: pl.DataFrame, tmp_path: Path,
                                                    iptv: Policy) -> None:
    csv = read_history(write_history(history, tmp_path / "h.csv"))
    parquet = read_history(write_history(history, tmp_path / "h.parquet"))
    assert csv.height == parquet.height == ROWS
    assert all(dtype == pl.String for dtype in csv.dtypes)  # the facts parser types CSV text
    assert parquet.schema["amount"] == pl.Int64
    from_csv = run_vector(iptv, load_floor(), csv, progress=False).decisions.sort("_row")
    from_parquet = run_vector(iptv, load_floor(), parquet, progress=False).decisions.sort("_row")
    assert from_csv.equals(from_parquet)


def test_read_history_errors(history: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file"):
        read_history(tmp_path / "missing.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(HistoryError, match="cannot read it as Parquet"):
        read_history(broken)
    without = write_history(history.drop("currency", "requested_at"), tmp_path / "without.csv")
    with pytest.raises(HistoryError) as caught:
        read_history(without)
    assert str(caught.value) == (f"{without}: missing column(s) currency, requested_at "
                                 "(required facts)")


# -- both engines ---------------------------------------------------------------------------------

@pytest.mark.parametrize("policy_path", [IPTV, ANNUAL])
def test_vector_and_scalar_runs_agree_with_a_decision_per_row(history: pl.DataFrame,
                                                             policy_path: Path) -> None:
    policy = load_policy(policy_path)
    vector = run_vector(policy, load_floor(), history, progress=False)
    scalar = run_scalar(policy, load_floor(), history, progress=False)
    assert vector.rows == scalar.rows == ROWS
    assert vector.errors == scalar.errors == []
    columns = ["_row", *DECISION_COLUMNS]
    assert vector.decisions.sort("_row").select(columns).to_dicts() == \
        scalar.decisions.sort("_row").select(columns).to_dicts()
    by_hand = scalar_rows_by_hand(policy, history)
    assert vector.decisions.sort("_row").select(DECISION_COLUMNS).to_dicts() == by_hand


def test_chunks_keep_row_numbers(history: pl.DataFrame, iptv: Policy,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions and invalid rows keep their place in the history across chunks."""
    broken = history.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([3, 10, 250])).then(pl.lit("decade"))
        .otherwise(pl.col("plan_period")).alias("plan_period"))
    whole = run_vector(iptv, load_floor(), broken, progress=False)
    monkeypatch.setattr(backtest, "CHUNK_ROWS", 7)
    monkeypatch.setattr(backtest, "SCALAR_CHUNK_ROWS", 13)
    chunked = run_vector(iptv, load_floor(), broken, progress=False)
    scalar = run_scalar(iptv, load_floor(), broken, progress=False)
    assert whole.decisions.sort("_row").equals(chunked.decisions.sort("_row"))
    for result in (whole, chunked, scalar):
        assert [(e.row, e.field) for e in result.errors] == [
            (4, "plan_period"), (11, "plan_period"), (251, "plan_period")]
        assert result.decisions.height == ROWS - 3
        assert not set(result.decisions["_row"].to_list()) & {3, 10, 250}


def test_borderline_rows_are_rechecked_exactly(iptv: Policy) -> None:
    """A usage share that puts the partial refund exactly on half a cent goes through the
    scalar engine; the result is the half-even rounding of the exact amount."""
    row = {"plan_period": "year", "purchased_at": "2026-03-02T10:00:00+01:00",
           "period_end": "2027-03-02T10:00:00+01:00", "amount": "1001", "currency": "EUR",
           "country": "US", "requested_at": "2026-03-20T10:00:00+01:00",
           "troubleshooting": "unresolved",
           "troubleshooting_started_at": "2026-03-10T10:00:00+01:00", "usage_fraction": "0.5"}
    frame = pl.DataFrame([row, {**row, "amount": "1003"}])
    result = run_vector(iptv, load_floor(), frame, progress=False)
    assert result.rechecked == 2
    decided = result.decisions.sort("_row")
    assert decided["rule"].to_list() == ["partial-refund-by-usage"] * 2
    assert decided["amount"].to_list() == [500, 502]  # 500.5 → 500, 501.5 → 502
    assert summarise(result, iptv)["rechecked_exactly"] == 2


# -- summarise ------------------------------------------------------------------------------------

def _decisions(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {"_row": pl.UInt32, "outcome": pl.String, "rule": pl.String,
              "decided_by": pl.String, "amount": pl.Int64, "reason": pl.String, "to": pl.String,
              "due_by": pl.Datetime("us", "UTC"), "retry_after": pl.Datetime("us", "UTC"),
              "extension_days": pl.Int64, "bonus_days": pl.Int64, "minimum_amount": pl.Int64}
    full = [{**dict.fromkeys(schema), **row} for row in rows]
    return pl.DataFrame(full, schema=schema, orient="row")


def test_summarise_counts_and_money_by_outcome_and_rule(iptv: Policy) -> None:
    ref = iptv.ref
    due = datetime(2026, 3, 1, tzinfo=UTC)
    decisions = _decisions([
        {"_row": 0, "outcome": "refund", "rule": "full-refund-within-72-hours",
         "decided_by": ref, "amount": 5999},
        {"_row": 1, "outcome": "refund", "rule": "full-refund-within-72-hours",
         "decided_by": ref, "amount": 1000},
        {"_row": 2, "outcome": "refund", "rule": "withdrawal-14-days",
         "decided_by": "statutory-eu@1", "amount": 250},
        {"_row": 3, "outcome": "deny", "rule": "weak-connection", "decided_by": ref,
         "reason": "weak_connection"},
        {"_row": 4, "outcome": "review", "rule": None, "decided_by": ref, "due_by": due},
        {"_row": 5, "outcome": "offer", "rule": "vendor-outage-over-48-hours",
         "decided_by": ref, "amount": 5999, "extension_days": 3, "bonus_days": 7},
    ])
    errors = [RowError(7, "amount", "must be at least 0")] * 25
    result = Result(decisions, errors, rows=31)
    currencies = pl.Series(["EUR", "GBP", "EUR", "EUR", "USD", "USD"] + ["EUR"] * 25)
    summary = summarise(result, iptv, currencies)
    assert summary["policy"] == ref
    assert (summary["rows"], summary["decided"], summary["invalid"]) == (31, 6, 25)
    assert len(summary["errors"]) == 20  # the first ones only
    assert summary["errors"][0] == {"row": 7, "field": "amount", "message": "must be at least 0"}
    outcomes = summary["outcomes"]
    assert list(outcomes) == ["refund", "deny", "offer", "review"]  # by count, then by name
    assert outcomes["refund"] == {"count": 3, "amount": 7249,
                                  "amounts": {"EUR": 6249, "GBP": 1000}}
    assert outcomes["deny"]["count"] == 1 and outcomes["deny"]["amount"] == 0
    assert outcomes["offer"] == {"count": 1, "amount": 5999, "amounts": {"USD": 5999}}
    rules = summary["rules"]
    assert rules["full-refund-within-72-hours"]["count"] == 2
    assert rules["statutory-eu:withdrawal-14-days"] == {"count": 1, "amount": 250,
                                                        "amounts": {"EUR": 250}}
    assert rules["(no rule matched)"]["count"] == 1
    assert sum(entry["count"] for entry in rules.values()) == 6


def test_summarise_without_currencies(history: pl.DataFrame, iptv: Policy) -> None:
    result = run_vector(iptv, load_floor(), history, progress=False)
    plain = summarise(result, iptv)
    split = summarise(result, iptv, history["currency"])
    for key in ("outcomes", "rules"):
        assert {k: (v["count"], v["amount"]) for k, v in plain[key].items()} == \
            {k: (v["count"], v["amount"]) for k, v in split[key].items()}
    assert all(entry["amounts"] == {} for entry in plain["outcomes"].values())
    refunds = result.decisions.filter(pl.col("outcome") == "refund")
    assert plain["outcomes"]["refund"]["amount"] == refunds["amount"].sum()


# -- compare --------------------------------------------------------------------------------------

def test_compare_counts_changes_and_money(iptv: Policy) -> None:
    ref = iptv.ref
    before = _decisions([
        {"_row": 0, "outcome": "refund", "rule": "a", "decided_by": ref, "amount": 100},
        {"_row": 1, "outcome": "refund", "rule": "a", "decided_by": ref, "amount": 300},
        {"_row": 2, "outcome": "deny", "rule": "b", "decided_by": ref, "reason": "x"},
        {"_row": 3, "outcome": "deny", "rule": "b", "decided_by": ref, "reason": "x"},
        {"_row": 4, "outcome": "review", "rule": "c", "decided_by": ref},
    ])
    after = _decisions([
        {"_row": 0, "outcome": "refund", "rule": "a", "decided_by": ref, "amount": 100},
        {"_row": 1, "outcome": "refund", "rule": "a", "decided_by": ref, "amount": 350},
        {"_row": 2, "outcome": "refund", "rule": "d", "decided_by": ref, "amount": 40},
        {"_row": 3, "outcome": "refund", "rule": "d", "decided_by": ref, "amount": 60},
        {"_row": 4, "outcome": "deny", "rule": "b", "decided_by": ref, "reason": "x"},
    ])
    currencies = pl.Series(["EUR", "EUR", "GBP", "EUR", "EUR"])
    changes = compare(Result(before, rows=5), Result(after, rows=5), currencies)
    assert changes["decisions_compared"] == 5
    assert changes["decisions_changed"] == 4
    assert (changes["refunded_before"], changes["refunded_after"]) == (400, 550)
    assert changes["refunded_delta"] == 150
    assert changes["refunded_by_currency"] == {
        "EUR": {"before": 400, "after": 510, "delta": 110},
        "GBP": {"before": 0, "after": 40, "delta": 40}}
    moves = {(m["from"], m["to"]): (m["count"], m["amount_delta"])
             for m in changes["transitions"]}
    assert moves == {("deny", "refund"): (2, 100), ("refund", "refund"): (1, 50),
                     ("review", "deny"): (1, 0)}
    assert changes["transitions"][0]["count"] == 2  # the largest move first


def test_compare_matches_a_row_by_row_comparison(history: pl.DataFrame, iptv: Policy,
                                                 iptv_96: Policy) -> None:
    baseline = run_vector(iptv, load_floor(), history, progress=False)
    candidate = run_vector(iptv_96, load_floor(), history, progress=False)
    changes = compare(baseline, candidate, history["currency"])
    old, new = scalar_rows_by_hand(iptv, history), scalar_rows_by_hand(iptv_96, history)
    moved = [(a, b) for a, b in zip(old, new, strict=True)
             if a["outcome"] != b["outcome"] or (a["amount"] or 0) != (b["amount"] or 0)]
    assert changes["decisions_changed"] == len(moved) > 0
    assert all(b["outcome"] == "refund" and b["rule"] == "full-refund-within-72-hours"
               for _, b in moved)
    refunded = sum(b["amount"] for b in new if b["outcome"] == "refund") - \
        sum(a["amount"] for a in old if a["outcome"] == "refund")
    assert changes["refunded_delta"] == refunded > 0
    assert compare(baseline, baseline)["decisions_changed"] == 0


# -- known problems -------------------------------------------------------------------------------

def test_empty_history_on_the_vector_engine(history: pl.DataFrame, iptv: Policy) -> None:
    empty = history.clear()
    assert summarise(run_scalar(iptv, load_floor(), empty, progress=False), iptv)["decided"] == 0
    summary = summarise(run_vector(iptv, load_floor(), empty, progress=False), iptv)
    assert summary["decided"] == 0 and summary["outcomes"] == {}


def test_scalar_rows_parse_csv_text() -> None:
    frame = pl.DataFrame({"amount": ["8999"], "is_renewal": ["yes"], "documents": ["a; b;"],
                          "usage_fraction": ["0.25"], "country": ["fr"], "plan": [""]})
    (row,) = _scalar_rows(frame)
    assert row == {"amount": 8999, "is_renewal": True, "documents": ["a", "b"],
                   "usage_fraction": 0.25, "country": "FR", "plan": ""}
    assert set(row) <= set(FACTS)


# -- which dates are valid: the same answer on both engines ------------------------------------

_ROW = {"plan_period": "year", "purchased_at": "2026-03-02T10:00:00+01:00",
        "period_end": "2027-03-02T10:00:00+01:00", "amount": "5999", "currency": "EUR",
        "country": "US", "requested_at": "2026-03-04T10:00:00+01:00",
        "troubleshooting": "unresolved",
        "troubleshooting_started_at": "2026-03-02T12:00:00+01:00"}


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("purchased_at", "2026-03-02T09:00:00Z", id="utc-z"),
    pytest.param("purchased_at", "2026-03-02 10:00:00+01:00", id="space-separator"),
    pytest.param("purchased_at", "2026-03-02T10:00+01:00", id="minutes-only"),
    pytest.param("purchased_at", "2026-03-02T10:00:00.5+01:00", id="fraction"),
    pytest.param("purchased_at", "2026-03-02T10:00:00", id="no-offset"),
    pytest.param("purchased_at", "02/03/2026 10:00", id="not-iso"),
    pytest.param("purchased_at", "2026-02-30T10:00:00+01:00", id="30-february"),
    pytest.param("requested_at", "2026-13-04T10:00:00+01:00", id="month-13"),
    pytest.param("purchased_at", "2026-03-02T25:00:00+01:00", id="hour-25"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+25:00", id="offset-25-hours"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+0100", id="offset-without-colon"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+01", id="offset-hours-only"),
    pytest.param("purchased_at", "2026-03-02T10:00:00,5+01:00", id="comma-fraction"),
    pytest.param("purchased_at", "2026-03-02T10:00:00.1234567+01:00", id="seven-digit-fraction"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+01:00:30", id="offset-with-seconds"),
    pytest.param("purchased_at", "2026-03-02t10:00:00+01:00", id="small-t"),
    pytest.param("purchased_at", "2026-03-02 10:00:00 +01:00", id="space-before-offset"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+01:99", id="offset-99-minutes"),
    pytest.param("purchased_at", "2026-03-02T10:00:00+24:00", id="offset-24-hours"),
    pytest.param("purchased_at", "2026-03-02T10:00:00.5z", id="fraction-small-z"),
    pytest.param("purchased_at", "2026-03-02T10:00:60+01:00", id="second-60"),
    pytest.param("purchased_at", "2024-02-29T10:00:00-05:00", id="29-february-leap-year"),
    pytest.param("purchased_at", "2025-02-29T10:00:00-05:00", id="29-february-common-year"),
    pytest.param("purchased_at", " 2026-03-02T10:00:00+01:00", id="leading-space"),
    pytest.param("purchased_at", "2026-03-02T10:00:00-00:00", id="minus-zero"),
    pytest.param("requested_at", "20260304T100000+0100", id="basic-format"),
])
def test_engines_agree_on_which_dates_are_valid(iptv: Policy, field: str, value: str) -> None:
    frame = pl.DataFrame([_ROW, {**_ROW, field: value}])
    vector = run_vector(iptv, load_floor(), frame, progress=False)
    scalar = run_scalar(iptv, load_floor(), frame, progress=False)
    assert [(e.row, e.field) for e in vector.errors] == [(e.row, e.field) for e in scalar.errors]
    assert vector.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts() == \
        scalar.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts()
    if scalar.errors:
        assert [(e.row, e.field) for e in scalar.errors] == [(2, field)]


@pytest.mark.parametrize("changes", [
    pytest.param({"amount": "1e3"}, id="exponent"),
    pytest.param({"amount": "12.5"}, id="fractional-amount"),
    pytest.param({"usage_fraction": "nan"}, id="nan-usage"),
    pytest.param({"is_renewal": "maybe"}, id="not-a-boolean"),
    pytest.param({"documents": "a;;b ; "}, id="documents"),
    pytest.param({"outage_hours": "nan"}, id="nan-outage"),
    pytest.param({"outage_hours": "inf"}, id="infinite-outage"),
    pytest.param({"outage_hours": "inf", "outage_cause": "vendor"}, id="infinite-vendor-outage"),
    pytest.param({"amount": " 12 "}, id="spaces-around-a-number"),
    pytest.param({"amount": "99999999999999999999"}, id="amount-beyond-int64"),
])
def test_engines_agree_on_which_numbers_are_valid(iptv: Policy, changes: dict[str, str]) -> None:
    frame = pl.DataFrame([_ROW, {**_ROW, **changes}])
    vector = run_vector(iptv, load_floor(), frame, progress=False)
    scalar = run_scalar(iptv, load_floor(), frame, progress=False)
    assert [(e.row, e.field) for e in vector.errors] == [(e.row, e.field) for e in scalar.errors]
    assert vector.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts() == \
        scalar.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts()


@pytest.mark.parametrize("changes", [
    pytest.param({"country": "fr"}, id="country-in-small-letters"),
    pytest.param({"country": " FR "}, id="country-with-spaces"),
    pytest.param({"country": "F"}, id="country-of-one-letter"),
    pytest.param({"country": "  "}, id="country-of-spaces"),
    pytest.param({"currency": " eur"}, id="currency-with-a-space"),
    pytest.param({"currency": "EURO"}, id="currency-of-four-letters"),
    pytest.param({"documents": " death_certificate ;; medical_certificate; "}, id="documents"),
    pytest.param({"plan_period": "Year"}, id="enum-in-capitals"),
    pytest.param({"reason": " other"}, id="enum-with-a-space"),
])
def test_engines_agree_on_codes_and_lists(changes: dict[str, str]) -> None:
    """Codes and lists are read as the scalar path reads them (it strips spaces and
    capitalises codes; enumerations must be exact)."""
    policy = load_policy(ROOT / "policies" / "billing-desk.toml")
    frame = pl.DataFrame([_ROW, {**_ROW, "reason": "special_circumstances", **changes}])
    vector = run_vector(policy, load_floor(), frame, progress=False)
    scalar = run_scalar(policy, load_floor(), frame, progress=False)
    assert [(e.row, e.field) for e in vector.errors] == [(e.row, e.field) for e in scalar.errors]
    assert vector.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts() == \
        scalar.decisions.sort("_row").select("_row", *DECISION_COLUMNS).to_dicts()


@pytest.mark.parametrize("distinct", [10_000, 0], ids=["few-distinct-lists", "many"])
def test_lists_are_read_alike_both_ways(distinct: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Few distinct texts are read once each; many are split by Polars: the same lists."""
    monkeypatch.setattr(vector_engine, "_DISTINCT_LISTS", distinct)
    texts = ["", "death_certificate", " death_certificate ;; medical_certificate; ", ";", None]
    frame = pl.DataFrame([{**_ROW, "documents": text} for text in texts])
    prepared = vector_engine.prepare(frame)
    assert prepared.frame["documents"].to_list() == [
        [], ["death_certificate"], ["death_certificate", "medical_certificate"], [], []]


def test_parquet_with_zoned_datetime_columns(tmp_path: Path) -> None:
    paris = ZoneInfo("Europe/Paris")
    frame = pl.DataFrame({
        "plan_period": ["year"], "channel": ["apple_app_store"], "amount": [8999],
        "currency": ["EUR"], "country": ["FR"],
        "purchased_at": [datetime(2026, 3, 1, 0, 30, tzinfo=paris)],
        "period_end": [datetime(2027, 3, 1, 0, 30, tzinfo=paris)],
        "requested_at": [datetime(2026, 3, 15, 23, 45, tzinfo=paris)],
    }).with_columns(pl.col("purchased_at", "period_end", "requested_at")
                    .dt.convert_time_zone("Europe/Paris"))
    history = read_history(write_history(frame, tmp_path / "zoned.parquet"))
    assert history.schema["purchased_at"] == pl.Datetime("us", "Europe/Paris")
    policy = load_policy(ANNUAL)
    scalar = run_scalar(policy, load_floor(), history, progress=False).decisions
    assert scalar["rule"].to_list() == ["withdrawal-14-days"]  # day 14 in Paris
    vector = run_vector(policy, load_floor(), history, progress=False).decisions
    assert vector.select(DECISION_COLUMNS).to_dicts() == scalar.select(DECISION_COLUMNS).to_dicts()
