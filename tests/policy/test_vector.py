"""The vectorised engine's own machinery: reading date-times, the calendar, borderline flags.

The engines' agreement on whole decisions is in ``test_properties.py``; here the pieces that
make the vector path fast are held to the scalar definitions they replace:

- the date-time reader (fixed byte positions for the usual shapes, the scalar parser for the
  others) gives the value ``facts.parse_datetime`` gives, or refuses what it refuses, for any
  text, including corrupted ones;
- whole months come from a table of the history's days, or from Polars' date parts when the
  dates span too long for a table: both count as ``facts.months_between`` does;
- rows flagged for the exact re-check are the ones that need it: not a number given in the
  history compared with a constant, nor ``ceil(fact / n)`` of an exact multiple.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from refundable.backtest import run_scalar, run_vector
from refundable.policy import FactsError, decide, parse_facts, parse_policy
from refundable.policy.facts import months_between, parse_datetime
from refundable.policy.vector import (
    DECISION_COLUMNS,
    OUTCOME,
    VectorPolicy,
    _read_datetimes,
    decision_row,
    prepare,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OK = 0


def read_like_the_scalar_path(text: str | None) -> tuple[int, int] | str:
    """(UTC microseconds, offset microseconds) by the scalar parser, or "missing"/"refused"."""
    if text is None or text == "":
        return "missing"
    try:
        parsed = parse_datetime("purchased_at", text)
    except FactsError:
        return "refused"
    offset = parsed.utcoffset()
    assert offset is not None
    return (parsed - _EPOCH) // timedelta(microseconds=1), offset // timedelta(microseconds=1)


def read_like_the_vector_path(texts: list[str | None]) -> list[tuple[int, int] | str]:
    utc, offset, state = _read_datetimes("purchased_at", pl.Series(texts, dtype=pl.String))
    found: list[tuple[int, int] | str] = []
    for value, shift, code in zip(utc.tolist(), offset.tolist(), state.tolist(), strict=True):
        found.append((value, shift) if code == _OK else "missing" if code == 1 else "refused")
    return found


moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda moment: moment if moment.year % 3 else moment.replace(microsecond=0))
minutes_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59)


@st.composite
def iso_texts(draw: st.DrawFn) -> str:
    """Date-times in the shapes the vector path reads itself (0 to 6 digits of a second; Z,
    ±HH, ±HHMM or ±HH:MM; T or a space) and in others (7 digits, a comma, no seconds, offsets
    with seconds, other separators), sometimes with one character replaced or cut short."""
    moment = draw(moments)
    minutes = draw(minutes_offsets)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    offset = draw(st.sampled_from([
        "Z", f"{sign}{hours:02d}", f"{sign}{hours:02d}{rest:02d}", f"{sign}{hours:02d}:{rest:02d}",
        f"{sign}{hours:02d}:{rest:02d}:30", "", "z", f"{sign}{hours + 10:02d}:{rest:02d}",
        f"{sign}{hours:02d}:{rest + 40:02d}"]))
    separator = draw(st.sampled_from(["T", " ", "t", "x", "TT"]))
    fraction = draw(st.sampled_from(["", "", "minutes", ",5", *(str(k) for k in range(1, 8))]))
    text = moment.strftime("%Y-%m-%d") + separator + moment.strftime(
        "%H:%M" if fraction == "minutes" else "%H:%M:%S")
    if fraction.isdigit():  # 1 to 7 digits of a second
        text += "." + f"{moment.microsecond:06d}7"[:int(fraction)]
    elif fraction == ",5":
        text += fraction
    text += offset
    change = draw(st.integers(0, 3))
    if change == 1:  # one character replaced (by another digit, a letter, a sign...)
        position = draw(st.integers(0, len(text) - 1))
        text = text[:position] + draw(st.sampled_from("0123456789:-+TZ /.,é")) + \
            text[position + 1:]
    elif change == 2:  # a field out of range
        field = draw(st.sampled_from([(5, "13"), (5, "00"), (8, "32"), (8, "00"), (11, "24"),
                                      (14, "60"), (17, "60"), (0, "0000")]))
        text = text[:field[0]] + field[1] + text[field[0] + len(field[1]):]
    elif change == 3 and len(text) > 1:
        text = text[:draw(st.integers(0, len(text) - 1))]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(texts=["2024-02-29T10:00:00-05:00", "2025-02-29T10:00:00-05:00",
                "2100-02-29T10:00:00Z", "2000-02-29 10:00:00+0530", "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-23:59", "2026-03-02T10:00:00+01:99", "2026-03-02T10:00:00"])
@given(texts=st.lists(st.one_of(iso_texts(), st.none(), st.just("")), min_size=1, max_size=30))
def test_dates_are_read_as_the_scalar_path_reads_them(texts: list[str | None]) -> None:
    assert read_like_the_vector_path(texts) == [read_like_the_scalar_path(t) for t in texts]


@pytest.mark.parametrize("texts", [
    pytest.param(["2026-03-02T10:00:00+01:00"] * 3, id="one-shape"),
    pytest.param(["2026-03-02T10:00:00+01:00", None, "2026-03-02T10:00:00+01:00"],
                 id="one-shape-and-nulls"),
    pytest.param(["2026-03-02T10:00:00+01:00", "", None], id="empty-text"),
    pytest.param(["2026-03-02T10:00:00Z", "2026-03-02 10:00:00+0100", "2026-03-02T10:00+01:00",
                  "2026-03-02T10:00:00.5+01:00"], id="mixed-shapes"),
    pytest.param(["2026-13-02T10:00:00+01:00"] * 2, id="one-shape-all-wrong"),
])
def test_each_way_through_the_reader(texts: list[str | None]) -> None:
    """The reader's paths: one shape (with or without nulls), several, and the scalar parser."""
    assert read_like_the_vector_path(texts) == [read_like_the_scalar_path(t) for t in texts]


# -- whole months ---------------------------------------------------------------------------------

def _row(purchased: str, period_end: str, requested: str) -> dict[str, Any]:
    return {"plan_period": "year", "purchased_at": purchased, "period_end": period_end,
            "requested_at": requested, "amount": 1000, "currency": "EUR", "country": "US"}


@pytest.mark.parametrize(("purchased", "period_end", "requested"), [
    pytest.param("2024-01-31T23:30:00-05:00", "2024-04-30T22:00:00+02:00",
                 "2024-02-29T12:00:00Z", id="month-ends-in-the-table"),
    pytest.param("0800-01-31T10:00:00+01:00", "2400-02-29T10:00:00+01:00",
                 "2000-03-31T10:00:00+01:00", id="sixteen-centuries-without-a-table"),
])
def test_whole_months_as_the_scalar_path_counts_them(purchased: str, period_end: str,
                                                     requested: str) -> None:
    row = _row(purchased, period_end, requested)
    frame = prepare(pl.DataFrame([row])).frame
    facts = parse_facts(row)
    for name in ("months_in_period", "whole_months_unused", "days_since_purchase"):
        assert frame[name][0] == facts[name], name
    local = timezone(datetime.fromisoformat(purchased).utcoffset() or timedelta(0))
    start = datetime.fromisoformat(purchased).astimezone(local).date()
    end = datetime.fromisoformat(period_end).astimezone(local).date()
    assert frame["months_in_period"][0] == months_between(start, end)


# -- which rows are re-checked --------------------------------------------------------------------

_TITLE = 'title.en = "T"\ntitle.fr = "T"\n'
_MESSAGE = 'message.en = "x"\nmessage.fr = "x"\n'
OUTAGES = parse_policy(f'''id = "outages"
version = 1
{_TITLE}
[[rules]]
id = "long-outage"
{_MESSAGE}when.outage_hours = {{ gt = 48 }}
then = "offer"
choices = [{{ kind = "refund", amount = "full" }},
           {{ kind = "extension", days = "ceil(outage_hours / 24)", bonus_days = 7 }}]

[[rules]]
id = "otherwise"
{_MESSAGE}then = "deny"
reason = "no"
''')

_OUTAGE_ROW = {"plan_period": "month", "purchased_at": "2026-03-02T10:00:00+01:00",
               "period_end": "2026-04-02T10:00:00+02:00", "amount": "1000",
               "currency": "EUR", "country": "US", "requested_at": "2026-03-04T10:00:00+01:00"}


@pytest.mark.parametrize(("hours", "flagged"), [
    pytest.param("48", False, id="the-bound-itself"),  # 48 > 48 is false on both paths
    pytest.param("72", False, id="an-exact-multiple"),  # 72 / 24 is exactly 3 on both paths
    pytest.param("72.00000000000001", True, id="just-above-a-multiple"),
    pytest.param("49.5", False, id="far-from-a-multiple"),
])
def test_rows_re_checked_are_those_that_need_it(hours: str, flagged: bool) -> None:
    frame = pl.DataFrame([{**_OUTAGE_ROW, "outage_hours": hours}])
    vector = run_vector(OUTAGES, (), frame, progress=False)
    scalar = run_scalar(OUTAGES, (), frame, progress=False)
    assert vector.rechecked == int(flagged)
    assert vector.decisions.select(DECISION_COLUMNS).to_dicts() == \
        scalar.decisions.select(DECISION_COLUMNS).to_dicts()
    expected = {"48": None, "72": 3, "72.00000000000001": 4, "49.5": 3}[hours]
    assert scalar.decisions["extension_days"][0] == expected


def test_decision_text_columns_are_enums_with_the_scalar_values() -> None:
    """Outcome has one Enum for every policy (two policies' decisions compare); the others
    carry the policy's own values, and read back as the scalar decision's text."""
    rows = [{**_OUTAGE_ROW, "outage_hours": "100"}, _OUTAGE_ROW]
    prepared = prepare(pl.DataFrame(rows))
    decided = VectorPolicy(OUTAGES).evaluate(prepared.frame, exact=prepared)
    assert decided.schema["outcome"] == OUTCOME
    for name in ("rule", "decided_by", "reason", "to"):
        assert isinstance(decided.schema[name], pl.Enum), name
    expected = [decision_row(decide(OUTAGES, parse_facts(
        {**row, "amount": 1000, **({"outage_hours": 100.0} if "outage_hours" in row else {})})))
        for row in rows]
    assert decided.select(DECISION_COLUMNS).to_dicts() == expected
    assert [row["outcome"] for row in expected] == ["offer", "deny"]
