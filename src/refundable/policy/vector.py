"""The vectorised evaluator: the same policy compiled to Polars expressions.

``prepare(frame)`` validates and types a history (one facts row per line, columns named as the
facts) and adds the derived facts; ``VectorPolicy.evaluate(prepared)`` decides every row at once
and returns one column per decision field (``DECISION_COLUMNS``), the same fields
``decision_row`` extracts from a scalar ``Decision``.

Amounts compute in float64 here and in ``Decimal`` on the scalar path. The two agree except
when a value lands within a hair of a rounding boundary (x.5 before half-even rounding, an
integer under floor/ceil, equality in an ``if`` comparison): such rows are flagged and decided
again by the scalar engine, so both paths give the same decision for every input.

Where the time goes, and so how this is written (docs/benchmarks.md has the figures):

- date-times in the usual ISO 8601 shapes are read at fixed byte positions with NumPy; any
  other text goes through the scalar parser (``facts.parse_datetime``), once per distinct
  value, so both paths accept and reject exactly the same texts;
- enumerations and countries become ``pl.Enum`` columns, so conditions on them compare small
  integers instead of strings;
- a rule is an integer code until the very end, where rule ids, outcomes, reasons and
  ``decided_by`` are looked up in small tables (``gather``), once per output column;
- an amount formula is computed once however many documents use it (the EU, French and UK
  packs share theirs), and integer formulas such as ``"full"`` skip the float rounding.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from .decision import Decision
from .engine import decide
from .errors import FactsError
from .expr import Arith, BoolLit, Call, Compare, Expression, Logic, Name, Neg, Node, Not, Num
from .facts import (
    DERIVED,
    FACTS,
    FRENCH_COUNTRIES,
    MAX_MINOR_UNITS,
    REASONS,
    FactSpec,
    parse_datetime,
    parse_facts,
)
from .model import OUTCOMES, Check, Condition, Policy

DECISION_COLUMNS = ("outcome", "rule", "decided_by", "amount", "reason", "to", "due_by",
                    "retry_after", "extension_days", "bonus_days", "minimum_amount")
_EPSILON = 1e-9
_TIE = 1e-7
_UTC = "UTC"
_DATETIME = pl.Datetime("us", _UTC)
_OFFSET = "_purchase_offset_us"  # the purchase's UTC offset in microseconds
_ROW = "_row"
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COUNTRY_CODES = [a + b for a in _LETTERS for b in _LETTERS]
_COUNTRY = pl.Enum(_COUNTRY_CODES)
# Every two-letter code in four spellings (FR, Fr, fR, fr): a physical code modulo 676 is the
# code in capitals, so reading a country costs one hash lookup, without upper-casing text.
_COUNTRY_ANY_CASE = pl.Enum([spelled for upper_first in (True, False)
                             for upper_second in (True, False)
                             for spelled in ((a if upper_first else a.lower())
                                             + (b if upper_second else b.lower())
                                             for a in _LETTERS for b in _LETTERS)])
_CURRENCY = re.compile(r"[A-Z]{3}")

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _enum(spec: FactSpec) -> pl.Enum:
    return pl.Enum(list(spec.choices))


# -- reading date-times -----------------------------------------------------------------------

# A date-time cell's state after reading: parsed, absent (null or ""), or one of the problems.
_OK, _MISSING, _NO_OFFSET, _NOT_ISO, _NOT_VALID, _PENDING = 0, 1, 2, 3, 4, 255
_DATETIME_PROBLEMS = {
    _NO_OFFSET: "has no UTC offset",
    _NOT_ISO: "is not an ISO 8601 date-time like 2026-03-01T10:00:00+01:00",
    _NOT_VALID: "is not a valid date-time (no such day, hour or offset)",
}
_ISO_SHAPE = re.compile(r"\d{4}-\d\d-\d\d.\d\d:\d\d")

# The texts read at fixed byte positions: "d" a digit, "?" the separator (T or a space) or the
# sign of the offset, anything else itself; with 0 to 6 digits of a second and an offset
# written Z, ±HH:MM, ±HHMM or ±HH. Several layouts can have the same length (".123Z" and
# "+0100"): a text is read with each in turn. Every other text (no seconds, a comma, offsets
# with seconds, other separators...) is read by the scalar parser.
_OFFSET_FORMS = ("?dd:dd", "Z", "?dddd", "?dd")


def _layouts() -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for digits in (0, 3, 6, 1, 2, 4, 5):  # the usual ones first
        for offset in _OFFSET_FORMS:
            layout = "dddd-dd-dd?dd:dd:dd" + ("." + "d" * digits if digits else "") + offset
            found.setdefault(len(layout), []).append(layout)
    return {size: tuple(layouts) for size, layouts in found.items()}


_LAYOUTS = _layouts()


@cache
def _pattern(layout: str) -> re.Pattern[str]:
    """A regular expression for the texts of ``layout`` (to try the likely layout first)."""
    parts = {"d": "[0-9]", "?": "[-+T ]"}
    return re.compile("".join(parts.get(char, re.escape(char)) for char in layout))


_SIXES = np.uint64(0x0606060606060606)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_ALL_BYTES = 0xFFFFFFFFFFFFFFFF
_LITTLE_ENDIAN = sys.byteorder == "little"


@cache
def _calendar() -> tuple[IntArray, IntArray]:
    """Indexed by ``year * 16 + month`` (years 1 to 9999): the days from 1970-01-01 to the
    first of that month, and the number of days in it (0 when there is no such month)."""
    months = np.datetime64("0001-01", "M") + np.arange(9999 * 12 + 1)
    days = months.astype("datetime64[D]").astype(np.int64)
    index = np.arange(9999 * 12)
    keys = (1 + index // 12) * 16 + index % 12 + 1
    first = np.zeros(10000 * 16, dtype=np.int64)
    length = np.zeros(10000 * 16, dtype=np.int64)
    first[keys] = days[:-1]
    length[keys] = np.diff(days)
    return first, length


def _read_fixed(raw: npt.NDArray[np.uint8], layout: str) -> tuple[BoolArray, IntArray, IntArray]:
    """(valid, UTC microseconds, offset microseconds) for each row of ``raw``, the bytes of
    texts of ``len(layout)`` bytes.

    Eight bytes are checked at a time as one 64-bit integer: subtracting the expected bytes
    ('0' for a digit) leaves 0 to 9 in each byte of a valid text, and anything else shows in
    the high nibbles (a byte below what is expected borrows from the next one, which shows
    too). A row is valid only if the scalar parser accepts it with the same value (the ranges
    checked are its ranges); the others are left to it. NumPy works in place where it can:
    every temporary array is a page-faulting allocation on large histories.
    """
    size = len(layout)
    rows = raw.shape[0]
    starts = list(range(0, size - 7, 8))
    covered = starts[-1] + 8
    if size - covered > 2:  # more than two bytes left: one more (overlapping) window
        starts.append(size - 8)
        covered = size
    bad = np.zeros(rows, dtype=np.uint64)
    scratch = np.empty(rows, dtype=np.uint64)
    pairs: dict[int, npt.NDArray[np.uint8]] = {}
    for start in starts:
        subtract = literal = wild = 0
        for char in layout[start:start + 8]:
            subtract, literal, wild = subtract << 8, literal << 8, wild << 8
            if char == "d":
                subtract |= 0x30
            elif char == "?":
                wild |= 0xFF
            else:
                subtract |= ord(char)
                literal |= 0xFF
        word = np.ndarray((rows,), dtype=">u8", buffer=raw, offset=start,
                          strides=(size,)).astype(np.uint64)
        if wild:
            np.bitwise_and(word, np.uint64(_ALL_BYTES ^ wild), out=word)
        np.subtract(word, np.uint64(subtract), out=word)
        np.add(word, _SIXES, out=scratch)
        np.bitwise_or(scratch, word, out=scratch)
        np.bitwise_and(scratch, _HIGH_NIBBLES, out=scratch)
        np.bitwise_or(bad, scratch, out=bad)
        if literal:
            np.bitwise_and(word, np.uint64(literal), out=scratch)
            np.bitwise_or(bad, scratch, out=bad)
        # Byte i becomes 10 × digit i + digit i+1 (0 after a digit that is not followed by
        # one): every two-digit field in one operation.
        np.left_shift(word, np.uint64(8), out=scratch)
        np.multiply(word, np.uint64(10), out=word)
        np.add(word, scratch, out=word)
        pairs[start] = word.view(np.uint8).reshape(rows, 8)
    valid = bad == 0
    digits: dict[int, npt.NDArray[np.uint8]] = {}
    for position in range(covered, size):  # the bytes past the last window, one by one
        byte = raw[:, position]
        if layout[position] == "d":
            digits[position] = byte - np.uint8(0x30)
            valid &= digits[position] < 10
        elif layout[position] != "?":
            valid &= byte == ord(layout[position])

    def pair(position: int) -> npt.NDArray[Any]:
        """10 × the digit at ``position`` + the digit after it (0 if it is no digit)."""
        if position >= covered:  # past the windows: from the bytes read one by one
            tens = digits[position].astype(np.int32) * 10
            return tens + digits[position + 1] if position + 1 in digits else tens
        inside = [s for s in starts if s <= position and position + 1 < s + 8]
        start = max(inside or [s for s in starts if s <= position])
        index = position - start
        value = pairs[start][:, 7 - index if _LITTLE_ENDIAN else index]
        if index == 7 and position + 1 in digits:  # the second digit lies past the windows
            return value.astype(np.int32) + digits[position + 1]
        return value

    separator = raw[:, 10]
    valid &= (separator == ord("T")) | (separator == ord(" "))
    year = pair(0).astype(np.int32) * 100 + pair(2)
    month, day = pair(5), pair(8)
    hour, minute, second = pair(11), pair(14), pair(17)
    valid &= (month <= 12) & (hour < 24) & (minute < 60) & (second < 60)
    seconds = hour.astype(np.int32) * 3600 + minute.astype(np.int32) * 60 + second
    micros = None
    fraction = layout.index("?", 11) - 20 if "?" in layout[11:] else \
        layout.index("Z") - 20
    if fraction > 0:  # the digits of a second after the dot at 19, as microseconds
        micros = np.zeros(rows, dtype=np.int64)
        for first in range(20, 20 + fraction, 2):
            if first + 1 < 20 + fraction:
                micros = micros * 100 + pair(first)
            else:
                micros = micros * 10 + pair(first) // 10
        micros *= 10 ** (6 - fraction)
    offset = np.zeros(rows, dtype=np.int64)
    sign_at = 20 + fraction if fraction > 0 else 19
    if layout[sign_at] == "?":
        sign = raw[:, sign_at]
        valid &= (sign == ord("+")) | (sign == ord("-"))
        form = layout[sign_at:]
        offset_hours = pair(sign_at + 1)
        offset_minutes = (pair(sign_at + 4) if form == "?dd:dd" else pair(sign_at + 3)
                          if form == "?dddd" else np.zeros(rows, dtype=np.int32))
        valid &= (offset_hours < 24) & (offset_minutes < 60)
        offset_seconds = (offset_hours.astype(np.int32) * 60 + offset_minutes) * 60
        offset_seconds = np.where(sign == ord("-"), -offset_seconds, offset_seconds)
        seconds -= offset_seconds
        offset = offset_seconds.astype(np.int64) * 1_000_000
    first_days, length = _calendar()
    key = year * 16 + month  # beyond the tables only for rows already invalid: clipped
    valid &= (day >= 1) & (day <= np.take(length, key, mode="clip"))
    utc = np.take(first_days, key, mode="clip")
    utc += day
    utc -= 1
    utc *= 86400
    utc += seconds
    utc *= 1_000_000
    if micros is not None:
        utc += micros
    return valid, utc, offset


def _read_one(name: str, text: str) -> tuple[int, int, int]:
    """(UTC microseconds, offset microseconds, state) of one text, by the scalar parser."""
    try:
        parsed = parse_datetime(name, text)
    except FactsError as exc:
        if "no UTC offset" in exc.message:
            return 0, 0, _NO_OFFSET
        return 0, 0, _NOT_VALID if _ISO_SHAPE.match(text) else _NOT_ISO
    offset = parsed.utcoffset()
    assert offset is not None
    return (parsed - _EPOCH) // _MICROSECOND, offset // _MICROSECOND, _OK


def _read_datetimes(name: str, column: pl.Series) -> tuple[IntArray, IntArray,
                                                            npt.NDArray[np.uint8]]:
    """(UTC microseconds, offset microseconds, state) for every cell of a text column."""
    text = column if column.dtype == pl.String else column.cast(pl.String)
    rows = text.len()
    lengths = text.str.len_bytes().fill_null(0).to_numpy()
    counts = np.bincount(lengths)
    sizes = [int(size) for size in np.flatnonzero(counts) if size]
    missing = lengths == 0
    state = np.full(rows, _PENDING, dtype=np.uint8)
    state[missing] = _MISSING
    if len(sizes) == 1 and sizes[0] in _LAYOUTS and counts[0] == text.null_count():
        # The usual history: one length, nulls at most. Read every row at once (a null as a
        # placeholder of the same length), without gathering rows: on a large history every
        # temporary array is costly page faults.
        size = sizes[0]
        raw = _bytes(text.fill_null("0" * size) if counts[0] else text, size)
        where: npt.NDArray[np.int64] | None = None
        utc = offset = np.zeros(0, dtype=np.int64)
        for layout in _likely_first(_LAYOUTS[size], text):
            if where is None:  # the first layout: every row
                valid, utc, offset = _read_fixed(raw, layout)
                state[valid & ~missing] = _OK
            else:
                _read_again(raw[where], layout, where, utc, offset, state)
            where = np.flatnonzero(state == _PENDING)
            if not where.size:
                break
    else:
        utc = np.zeros(rows, dtype=np.int64)
        offset = np.zeros(rows, dtype=np.int64)
        for size in sizes:
            if size not in _LAYOUTS:
                continue
            where = np.flatnonzero(lengths == size)
            raw = _bytes(text.gather(where), size)
            for layout in _likely_first(_LAYOUTS[size], text.gather(where[:1])):
                left = np.flatnonzero(state[where] == _PENDING)
                if not left.size:
                    break
                _read_again(raw[left], layout, where[left], utc, offset, state)
    pending = np.flatnonzero(state == _PENDING)
    if pending.size:
        texts = text.gather(pending)
        known = {value: _read_one(name, value) for value in texts.unique().to_list()}
        table = pl.DataFrame({"text": list(known), "utc": [v[0] for v in known.values()],
                              "offset": [v[1] for v in known.values()],
                              "state": [v[2] for v in known.values()]},
                             schema={"text": pl.String, "utc": pl.Int64, "offset": pl.Int64,
                                     "state": pl.UInt8})
        found = texts.to_frame("text").join(table, on="text", how="left",
                                            maintain_order="left")
        utc[pending] = found["utc"].to_numpy()
        offset[pending] = found["offset"].to_numpy()
        state[pending] = found["state"].to_numpy()
    return utc, offset, state


def _read_again(raw: npt.NDArray[np.uint8], layout: str, where: npt.NDArray[np.int64],
                utc: IntArray, offset: IntArray, state: npt.NDArray[np.uint8]) -> None:
    """Read the rows ``where`` (their bytes ``raw``) with another layout, in place."""
    valid, part_utc, part_offset = _read_fixed(raw, layout)
    good = where[valid]
    utc[good] = part_utc[valid]
    offset[good] = part_offset[valid]
    state[good] = _OK


def _likely_first(layouts: tuple[str, ...], text: pl.Series) -> list[str]:
    """The layouts of one length, the one the first non-null text has first: a column is
    usually written one way throughout."""
    sample = next((value for value in text.head(1000).to_list() if value), "")
    return sorted(layouts, key=lambda layout: not _pattern(layout).fullmatch(sample))


def _bytes(text: pl.Series, size: int) -> npt.NDArray[np.uint8]:
    """The bytes of texts that all have ``size`` bytes, one row per text."""
    return np.ascontiguousarray(text.cast(pl.Binary).bin.reinterpret(
        dtype=pl.Array(pl.UInt8, size)).to_numpy(), dtype=np.uint8)


# -- preparing a history ----------------------------------------------------------------------

def _bool_column(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Boolean:
        return column
    if dtype.is_integer():
        return pl.when(column.is_in([0, 1])).then(column == 1)
    text = column.cast(pl.String).str.strip_chars().str.to_lowercase()
    return (pl.when(text.is_in(["true", "1", "yes"])).then(pl.lit(True))
            .when(text.is_in(["false", "0", "no"])).then(pl.lit(False)))


@dataclass(frozen=True)
class Prepared:
    """A typed history: ``frame`` holds the valid rows (with ``_row``), ``errors`` the others."""

    frame: pl.DataFrame
    errors: pl.DataFrame  # columns _row, field, message
    source: pl.DataFrame  # the rows as given, for the exact re-check of borderline rows


@dataclass
class _Typing:
    """What ``prepare`` computes, in two steps over the source: conversions of its columns
    (``converted``, each computed once), then the typed columns and the checks, which read
    the source and the conversions."""

    source: pl.DataFrame
    eager: list[pl.Series] = field(default_factory=list)  # columns read outside Polars
    converted: list[pl.Expr] = field(default_factory=list)
    columns: list[pl.Expr] = field(default_factory=list)
    problems: list[tuple[pl.Expr, str]] = field(default_factory=list)

    def problem(self, condition: pl.Expr, name: str, message: str) -> None:
        """Record a check: rows where ``condition`` holds are invalid (the message is only
        built for the rows found invalid)."""
        self.problems.append((condition.fill_null(False), f"{name}\t{message}"))

    def convert(self, expression: pl.Expr, name: str) -> pl.Expr:
        """Compute ``expression`` once, in the first step; the column that holds it."""
        self.converted.append(expression.alias(name))
        return pl.col(name)

    def frame(self, rows: pl.Expr | None = None) -> pl.LazyFrame:
        """The source (or some of its rows) with the eager columns and the conversions.
        Lazy: an eager operation on a frame read from a file copies every column into one
        chunk, each time."""
        frame = self.source.lazy().with_columns(self.eager)
        if rows is not None:
            frame = frame.filter(rows)
        return frame.with_columns(self.converted)


def prepare(history: pl.DataFrame) -> Prepared:
    """Type and validate a facts history; add the derived facts.

    Columns not named as facts are kept aside; missing optional facts take their defaults.
    Invalid rows are not decided: ``errors`` names the row (0-based), the field and the problem.
    """
    for name in DERIVED:
        if name in history.columns:
            raise FactsError(name, "is derived by the engine and cannot be given")
    source = history.with_row_index(_ROW)
    typing = _Typing(source)
    typing.columns.append(pl.col(_ROW))
    for name, spec in FACTS.items():
        if name not in source.columns:
            if spec.required:
                raise FactsError(name, "is required: the history has no such column")
            typing.columns.append(pl.lit(spec.default if not isinstance(spec.default, tuple)
                                         else [], dtype=_dtype(spec)).alias(name))
            continue
        typing.columns.append(_typed_column(spec, source.schema[name], typing))
    consistency = [  # on the typed columns
        (pl.col("period_end").is_null() & (pl.col("plan_period") != "lifetime"),
         "period_end\tis required unless plan_period is lifetime"),
        (pl.col("period_end") < pl.col("purchased_at"), "period_end\tis before purchased_at"),
        (pl.col("requested_at") < pl.col("purchased_at"),
         "requested_at\tis before purchased_at"),
        (pl.col("already_refunded") > pl.col("amount"),
         "already_refunded\tis more than the amount"),
        (pl.col("troubleshooting_started_at") > pl.col("requested_at"),
         "troubleshooting_started_at\tis after requested_at"),
    ]
    consistency = [(condition.fill_null(False), text) for condition, text in consistency]
    raw_invalid = pl.any_horizontal([c for c, _ in typing.problems]) if typing.problems \
        else pl.lit(False)
    typed = typing.frame().select(*typing.columns, raw_invalid.alias("_raw_invalid")) \
        .with_columns((pl.col("_raw_invalid") | pl.any_horizontal([c for c, _ in consistency]))
                      .alias("_invalid"), *(_local_day(name).alias(day)
                                            for name, day in _LOCAL_DATES.items())).collect()
    flags = ("_invalid", "_raw_invalid")
    if typed["_invalid"].any():
        good = typed.lazy().filter(~pl.col("_invalid")).drop(*flags)
        bad = typed.lazy().filter(pl.col("_invalid")).drop(*flags).collect()
    else:  # the usual case: no row to set aside, no filtering to pay for
        good = typed.lazy().drop(*flags)
        bad = typed.clear().drop(*flags)
    errors = pl.DataFrame(schema={_ROW: pl.UInt32, "field": pl.String, "message": pl.String})
    if bad.height:
        # Only the invalid rows pay for building messages: the first problem of each row.
        raw_texts: list[pl.Expr] = [pl.when(c).then(pl.lit(t)) for c, t in typing.problems]
        raw_text = typing.frame(pl.col(_ROW).is_in(bad[_ROW].implode())).select(
            _ROW, pl.coalesce(raw_texts or [pl.lit(None, pl.String)]).alias("_problem"))
        typed_text = bad.lazy().select(_ROW, pl.coalesce(
            [pl.when(c).then(pl.lit(t)) for c, t in consistency]).alias("_typed_problem"))
        errors = raw_text.join(typed_text, on=_ROW).select(
            _ROW, pl.coalesce("_problem", "_typed_problem").str.split_exact("\t", 1)
            .struct.rename_fields(["field", "message"]).alias("_p")).unnest("_p") \
            .sort(_ROW).collect()
    return Prepared(frame=_with_derived(good).collect(), errors=errors, source=source)


def _given(name: str, dtype: pl.DataType) -> pl.Expr:
    """The cell has a value: not null, and not empty text."""
    if dtype == pl.String:
        return pl.col(name).is_not_null() & (pl.col(name) != "")
    return pl.col(name).is_not_null()


def _typed_column(spec: FactSpec, dtype: pl.DataType, typing: _Typing) -> pl.Expr:
    """The fact column converted to its type; reports problems through ``typing``."""
    name = spec.name
    if spec.kind == "datetime":
        return _typed_datetime(spec, dtype, typing)
    given = typing.convert(_given(name, dtype), f"_given_{name}") \
        if dtype == pl.String else _given(name, dtype)
    problem = typing.problem
    if spec.required:
        problem(~given, name, "is required")
    text = pl.col(name) if dtype == pl.String else pl.col(name).cast(pl.String)
    if spec.kind == "enum":
        value = typing.convert(text.cast(_enum(spec), strict=False), f"_value_{name}")
        problem(given & value.is_null(), name,
                f"unknown value; expected one of {', '.join(spec.choices)}")
        return pl.when(given).then(value).otherwise(
            pl.lit(spec.default, dtype=_enum(spec))).alias(name)
    if spec.kind == "bool":
        if dtype == pl.Boolean:  # nothing to convert or check: only the default to fill in
            column = pl.col(name)
            return (column if spec.default is None else column.fill_null(spec.default)) \
                .alias(name)
        value = typing.convert(_bool_column(name, dtype), f"_value_{name}")
        problem(given & value.is_null(), name, "expected true or false")
        default = pl.lit(spec.default, dtype=pl.Boolean)
        return pl.when(given).then(value).otherwise(default).alias(name)
    if spec.kind in ("int", "number"):
        return _typed_number(spec, dtype, given, typing)
    if spec.kind == "country":
        if any(value != value.strip() for value in _distinct(typing.source[name])):
            text = text.str.strip_chars()  # as the scalar path reads it
        read = typing.convert(text.cast(_COUNTRY_ANY_CASE, strict=False), f"_value_{name}")
        problem(given & read.is_null(), name, "expected an ISO code of 2 letters")
        return (read.to_physical() % len(_COUNTRY_CODES)).cast(pl.UInt16) \
            .cat.to(_COUNTRY).alias(name)
    if spec.kind == "currency":
        return _typed_currency(spec, typing)
    if spec.kind == "list":
        if not isinstance(dtype, pl.List):
            known = _list_table(typing.source[name])
            if known is not None:
                return known[0].gather(text.cast(known[1], strict=False).to_physical()
                                       .cast(pl.UInt32).fill_null(len(known[1].categories)))\
                    .alias(name)
        value = (pl.col(name) if isinstance(dtype, pl.List)
                 else text.str.split(";").list.eval(pl.element().str.strip_chars())
                 .list.eval(pl.element().filter(pl.element() != "")))
        return pl.when(given).then(value).otherwise(pl.lit([], dtype=_dtype(spec))).alias(name)
    return text.alias(name)


_DISTINCT_LISTS = 10_000  # beyond, lists are split by Polars row by row


def _list_table(column: pl.Series) -> tuple[pl.Expr, pl.Enum] | None:
    """Lists given as text ("a;b"): each distinct text read as the scalar path reads it, in a
    table to look rows up in (the last entry, empty, for null and ""); None when there are too
    many distinct texts for that to pay."""
    unique = (column if column.dtype == pl.String else column.cast(pl.String)).unique()
    if unique.len() > _DISTINCT_LISTS:
        return None
    distinct = [text for text in unique.to_list() if text]
    lists = [[item.strip() for item in text.split(";") if item.strip()] for text in distinct]
    return (pl.lit(pl.Series([*lists, []], dtype=pl.List(pl.String))),
            pl.Enum(distinct))


def _typed_datetime(spec: FactSpec, dtype: pl.DataType, typing: _Typing) -> pl.Expr:
    name = spec.name
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if spec.required:
            typing.problem(column.is_null(), name, "is required")
        if dtype.time_zone is None:
            typing.problem(column.is_not_null(), name, "has no UTC offset")
            typed = column.dt.cast_time_unit("us").dt.replace_time_zone(_UTC)
        else:
            typed = column.dt.cast_time_unit("us").dt.convert_time_zone(_UTC)
        if name == "purchased_at":
            wall = column.dt.cast_time_unit("us").dt.replace_time_zone(None)
            difference = (wall - typed.dt.replace_time_zone(None)).dt.total_microseconds() \
                if dtype.time_zone is not None else pl.lit(0, dtype=pl.Int64)
            typing.columns.append(difference.cast(pl.Int64).alias(_OFFSET))
        return typed.alias(name)
    # Text (or anything else, read as text): parsed eagerly, outside the lazy query.
    utc, offset, state = _read_datetimes(name, typing.source[name])
    value, status = f"_utc_{name}", f"_state_{name}"
    typing.eager += [pl.Series(value, utc), pl.Series(status, state)]
    if spec.required:
        typing.problem(pl.col(status) == _MISSING, name, "is required")
    for code, message in _DATETIME_PROBLEMS.items():
        typing.problem(pl.col(status) == code, name, message)
    if name == "purchased_at":
        typing.eager.append(pl.Series(_OFFSET, offset))
        typing.columns.append(pl.col(_OFFSET))
    return pl.when(pl.col(status) == _OK).then(pl.col(value)).cast(_DATETIME).alias(name)


def _typed_number(spec: FactSpec, dtype: pl.DataType, given: pl.Expr,
                  typing: _Typing) -> pl.Expr:
    name, problem = spec.name, typing.problem
    target = pl.Int64 if spec.kind == "int" else pl.Float64
    default_number = pl.lit(spec.default, dtype=target)
    if dtype.is_integer():
        # Whole and finite by construction: only the bounds to check.
        column = pl.col(name)
        if spec.minimum is not None:
            problem(column < spec.minimum, name, f"must be at least {spec.minimum:g}")
        if spec.maximum is not None:
            problem(column > spec.maximum, name, f"must be at most {spec.maximum:g}")
        return column.cast(target).fill_null(default_number).alias(name)
    if dtype == pl.String:
        value = typing.convert(pl.col(name).str.strip_chars().cast(pl.Float64, strict=False),
                               f"_value_{name}")
    else:
        value = pl.col(name).cast(pl.Float64, strict=False)
    problem(given & value.is_null(), name, "expected a number")
    problem(given & value.is_not_null() & ~value.is_finite(), name, "must be a finite number")
    if spec.kind == "int":
        problem(value != value.floor(), name, "expected a whole number")
    if spec.minimum is not None:
        problem(value < spec.minimum, name, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None:
        problem(value > spec.maximum, name, f"must be at most {spec.maximum:g}")
    return pl.when(given).then(value.cast(target, strict=False)) \
        .otherwise(default_number).alias(name)


def _distinct(column: pl.Series) -> list[str]:
    """The distinct non-empty texts of a column (a history has few countries, currencies)."""
    text = column if column.dtype == pl.String else column.cast(pl.String)
    return [value for value in text.unique().to_list() if value]


def _typed_currency(spec: FactSpec, typing: _Typing) -> pl.Expr:
    """Currency codes: checked and capitalised once per distinct value, as the scalar path
    reads them (spaces around, small letters)."""
    name = spec.name
    seen = _distinct(typing.source[name])
    wrong = [value for value in seen if not _CURRENCY.fullmatch(value.strip().upper())]
    column = pl.col(name).cast(pl.String)
    if wrong:
        typing.problem(column.is_in(wrong), name, "expected an ISO code of 3 letters")
    if all(value == value.strip().upper() for value in seen):
        return column.alias(name)
    return column.str.strip_chars().str.to_uppercase().alias(name)


def _dtype(spec: FactSpec) -> pl.DataType:
    if spec.kind == "enum":
        return _enum(spec)
    mapping: dict[str, pl.DataType] = {
        "bool": pl.Boolean(), "int": pl.Int64(), "number": pl.Float64(), "datetime": _DATETIME,
        "list": pl.List(pl.String), "string": pl.String(), "country": _COUNTRY,
        "currency": pl.String()}
    return mapping[spec.kind]


def _micros(later: str, earlier: str) -> pl.Expr:
    return pl.col(later).to_physical() - pl.col(earlier).to_physical()


def _local_day(name: str) -> pl.Expr:
    """The calendar day (days since 1970-01-01) of a date-time in the purchase's offset."""
    return (pl.col(name).to_physical() + pl.col(_OFFSET)) // _DAY_US


_LOCAL_DATES = {"purchased_at": "_day_p", "requested_at": "_day_r", "period_end": "_day_e"}


def derive_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the derived facts, computed exactly as ``facts.derive`` does."""
    return _with_derived(frame.lazy().with_columns(
        _local_day(name).alias(day) for name, day in _LOCAL_DATES.items())).collect()


def _with_derived(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The derived facts of a typed frame that has the local days of its dates (``_day_*``):
    their month and day (one table lookup each), then the facts."""
    low, high = frame.select(pl.col("_day_p").min(), pl.max_horizontal(
        pl.col("_day_r").max(), pl.col("_day_e").max())).collect().row(0)
    calendar = _Calendar(low, high)
    return frame.with_columns(
        calendar.packed(day).alias(f"_cal{day}") for day in _LOCAL_DATES.values()
    ).with_columns(**_derived(calendar)).drop(
        *_LOCAL_DATES.values(), *(f"_cal{day}" for day in _LOCAL_DATES.values()))


def _derived(calendar: _Calendar) -> dict[str, pl.Expr]:
    total_s = _micros("period_end", "purchased_at") / 1e6
    remaining_s = _micros("period_end", "requested_at") / 1e6
    has_end = pl.col("period_end").is_not_null()
    in_period = calendar.months_between("_day_p", "_day_e")
    begun = calendar.months_between("_day_p", "_day_r") + 1
    return {
        "hours_since_purchase": (_micros("requested_at", "purchased_at") / 1e6) / 3600.0,
        "days_since_purchase": pl.col("_day_r") - pl.col("_day_p"),
        "unused_time_fraction": pl.when(has_end & (total_s > 0))
        .then((remaining_s / total_s).clip(0.0, 1.0)).otherwise(0.0),
        "whole_months_unused": pl.when(has_end).then((in_period - begun).clip(lower_bound=0))
        .otherwise(0),
        "months_in_period": pl.when(has_end).then(in_period).otherwise(0),
        "period_days": total_s / 86400.0,
        "days_until_period_end": remaining_s / 86400.0,
        "refundable_amount": pl.col("amount") - pl.col("already_refunded"),
        "hours_since_troubleshooting_started": (
            _micros("requested_at", "troubleshooting_started_at") / 1e6) / 3600.0,
        "first_purchase": pl.col("first_purchase").fill_null(~pl.col("is_renewal")),
        "language": pl.col("language").fill_null(
            pl.when(pl.col("country").is_in(sorted(FRENCH_COUNTRIES)))
            .then(pl.lit("fr", dtype=_enum(FACTS["language"])))
            .otherwise(pl.lit("en", dtype=_enum(FACTS["language"])))),
    }


class _Calendar:
    """Month and day of the local dates of a history, looked up in a table covering its days
    (Polars' own date parts cost about as much as the rest of ``prepare``).

    A date is packed in one integer: its month (counted from the table's first), the number
    of days in that month and its day of the month, ``month × 1024 + length × 32 + day``.
    """

    _MAX_DAYS = 400_000  # beyond (about 1,100 years between two dates), Polars' date parts

    def __init__(self, low: int | None, high: int | None) -> None:
        self.low = low if low is not None else 0
        days = (high if high is not None else self.low) - self.low + 1
        self.table: pl.Series | None = None
        if days <= self._MAX_DAYS:
            dates = np.arange(self.low, self.low + days).astype("datetime64[D]")
            months = dates.astype("datetime64[M]")
            starts = months.astype("datetime64[D]")
            month = months.astype(np.int64) - months[0].astype(np.int64)
            length = ((months + 1).astype("datetime64[D]") - starts).astype(np.int64)
            day = (dates - starts).astype(np.int64) + 1
            self.table = pl.Series(month * 1024 + length * 32 + day)

    def packed(self, day: str) -> pl.Expr:
        if self.table is not None:
            return pl.lit(self.table).gather(pl.col(day) - self.low)
        local = (pl.col(day) * _DAY_US).cast(_DATETIME).dt.replace_time_zone(None).dt.date()
        return ((local.dt.year().cast(pl.Int64) * 12 + local.dt.month().cast(pl.Int64)) * 1024
                + local.dt.days_in_month().cast(pl.Int64) * 32 + local.dt.day().cast(pl.Int64))

    @staticmethod
    def months_between(start: str, end: str) -> pl.Expr:
        """Whole calendar months between two local days, as ``facts.months_between`` counts
        them: the largest ``n`` with ``start`` moved by ``n`` months (day clamped to the
        month's end) not after ``end``. Moved by the month difference, ``start`` lands in
        ``end``'s month, so only the days need comparing."""
        first, last = pl.col(f"_cal{start}"), pl.col(f"_cal{end}")
        moved_day = pl.min_horizontal(first & 31, (last // 32) & 31)
        return last // 1024 - first // 1024 - (moved_day > (last & 31)).cast(pl.Int64)


# -- compiling expressions --------------------------------------------------------------------

class _Compiler:
    """Turns expression trees into Polars expressions, collecting borderline-value flags."""

    def __init__(self) -> None:
        self.borderline: list[pl.Expr] = []

    def number(self, node: Node) -> pl.Expr:
        if isinstance(node, Num):
            return pl.lit(float(node.value), dtype=pl.Float64)
        if isinstance(node, Name):
            return pl.col(node.name).cast(pl.Float64)
        if isinstance(node, Neg):
            return -self.number(node.operand)
        if isinstance(node, Arith):
            left, right = self.number(node.left), self.number(node.right)
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            return pl.when(right == 0).then(None).otherwise(left / right)
        if isinstance(node, Call):
            args = [self.number(arg) for arg in node.args]
            if node.function in ("min", "max"):
                any_null = pl.any_horizontal([a.is_null() for a in args])
                combined = (pl.min_horizontal(args) if node.function == "min"
                            else pl.max_horizontal(args))
                return pl.when(any_null).then(None).otherwise(combined)
            value = args[0]
            if node.function == "abs":
                return value.abs()
            scale = pl.max_horizontal(pl.lit(1.0), value.abs())
            near = (value - value.round(0)).abs() < _EPSILON * scale
            exact = _exact_quotient(node.args[0], value)
            self.borderline.append((near & ~exact if exact is not None else near)
                                   .fill_null(False))
            return value.floor() if node.function == "floor" else value.ceil()
        raise TypeError(f"not a number expression: {node!r}")

    def nullable_boolean(self, node: Node) -> pl.Expr:
        """A boolean operand of ``==``/``!=``: a fact keeps its nulls."""
        if isinstance(node, Name):
            return pl.col(node.name)
        return self.boolean(node)

    def boolean(self, node: Node) -> pl.Expr:
        if isinstance(node, BoolLit):
            return pl.lit(node.value)
        if isinstance(node, Name):
            return pl.col(node.name).fill_null(False)
        if isinstance(node, Not):
            return ~self.boolean(node.operand)
        if isinstance(node, Logic):
            items = [self.boolean(item) for item in node.items]
            return pl.all_horizontal(items) if node.op == "and" else pl.any_horizontal(items)
        if isinstance(node, Compare):
            if _is_boolean(node.left):
                # An unknown (null) fact compares false, as on the scalar path.
                left_b, right_b = self.nullable_boolean(node.left), self.nullable_boolean(
                    node.right)
                equal = (left_b == right_b) if node.op == "==" else (left_b != right_b)
                return equal.fill_null(False)
            left, right = self.number(node.left), self.number(node.right)
            if not (isinstance(node.left, Name | Num) and isinstance(node.right, Name | Num)):
                scale = 1.0 + left.abs() + right.abs()
                self.borderline.append(((left - right).abs() < _EPSILON * scale).fill_null(False))
            ops = {"<": left < right, "<=": left <= right, ">": left > right,
                   ">=": left >= right, "==": left == right, "!=": left != right}
            return ops[node.op].fill_null(False)
        raise TypeError(f"not a boolean expression: {node!r}")


def _exact_quotient(node: Node, value: pl.Expr) -> pl.Expr | None:
    """For ``fact / n`` (a fact given in the history, a whole constant): true where the float
    quotient is a whole number that times ``n`` gives the fact back, so the division was exact
    in float64 and in Decimal alike (``ceil(outage_hours / 24)`` of 72 hours is 3 on both
    paths, no re-check needed). None for other expressions."""
    if not (isinstance(node, Arith) and node.op == "/" and isinstance(node.left, Name)
            and node.left.name in FACTS and isinstance(node.right, Num)):
        return None
    divisor = node.right.value
    if divisor <= 0 or divisor != divisor.to_integral_value() or divisor > 2 ** 20:
        return None
    whole = value.round(0)
    # Below 2**53 the product of two whole floats is exact: equality proves the quotient.
    return (whole.abs() < 2.0 ** 32) & (whole * float(divisor)
                                        == pl.col(node.left.name).cast(pl.Float64))


def _is_boolean(node: Node) -> bool:
    if isinstance(node, BoolLit | Not | Logic | Compare):
        return True
    if isinstance(node, Name):
        return FACTS.get(node.name) is not None and FACTS[node.name].kind == "bool"
    return False


def _check(fact: str, check: Check) -> pl.Expr:
    column = pl.col(fact)
    value = check.value
    op = check.op
    if op == "null":
        return column.is_null() if value else column.is_not_null()
    if op == "empty":
        return (column.list.len() == 0) if value else (column.list.len() > 0)
    if op in ("any_of", "all_of", "none_of"):
        wanted = sorted(cast(frozenset[str], value))
        contains = [column.list.contains(item) for item in wanted]
        if op == "all_of":
            return pl.all_horizontal(contains)
        found = pl.any_horizontal(contains)
        return ~found if op == "none_of" else found
    if op == "in":
        return column.is_in(sorted(cast(frozenset[Any], value))).fill_null(False)
    if op == "not_in":
        return (column.is_not_null()
                & ~column.is_in(sorted(cast(frozenset[Any], value))).fill_null(True))
    constant: Any = value
    if isinstance(value, datetime):
        constant = pl.lit(value.astimezone(UTC), dtype=_DATETIME)
    elif isinstance(value, bool):
        constant = pl.lit(value)
    comparisons: dict[str, Callable[[], pl.Expr]] = {
        "eq": lambda: column == constant, "ne": lambda: column != constant,
        "gt": lambda: column > constant, "ge": lambda: column >= constant,
        "lt": lambda: column < constant, "le": lambda: column <= constant}
    return comparisons[op]().fill_null(False)


def _condition(condition: Condition, compiler: _Compiler) -> pl.Expr:
    if condition.expression is not None:
        return compiler.boolean(condition.expression.tree)
    parts = [_check(condition.fact, check) for check in condition.checks]
    if condition.fact in DERIVED and DERIVED[condition.fact].kind == "number":
        # Derived numbers are divisions; float64 and Decimal may differ in the last place, so
        # a value within a hair of the constant is decided again exactly. (A number given in
        # the history is the same float on both paths, compared the same way: no need.)
        for check in condition.checks:
            if isinstance(check.value, int | float) and not isinstance(check.value, bool):
                bound = float(check.value)
                near = (pl.col(condition.fact) - bound).abs() <= _EPSILON * (1.0 + abs(bound))
                compiler.borderline.append(near.fill_null(False))
    return parts[0] if len(parts) == 1 else pl.all_horizontal(parts)


# Integer facts small enough that a few of them added stay exact in float64 and Int64.
_EXACT_NAMES = frozenset({"amount", "already_refunded", "refundable_amount"})


def _exact_terms(node: Node) -> int | None:
    """The number of terms of an integer-only sum (facts above and whole constants), else
    None: such a formula needs neither float arithmetic nor rounding."""
    if isinstance(node, Name):
        return 1 if node.name in _EXACT_NAMES else None
    if isinstance(node, Num):
        return 1 if node.value == node.value.to_integral_value() \
            and abs(node.value) <= MAX_MINOR_UNITS else None
    if isinstance(node, Neg):
        return _exact_terms(node.operand)
    if isinstance(node, Arith) and node.op in ("+", "-"):
        left, right = _exact_terms(node.left), _exact_terms(node.right)
        return None if left is None or right is None else left + right
    return None


@dataclass(frozen=True)
class _Formula:
    """An amount formula computed once per evaluation, as two columns."""

    value: str  # Int64: rounded half-even, clamped, never negative
    borderline: str | None  # Boolean: float64 and Decimal may round it differently


class _Amounts:
    """The amount formulas of a policy and its floor, each compiled once: identical formulas
    (the EU, French and UK packs share one) are computed once."""

    def __init__(self) -> None:
        self.raw: dict[str, pl.Expr] = {}  # float formulas before rounding (first stage)
        self.columns: dict[str, pl.Expr] = {}  # values and borderline flags (second stage)
        self._known: dict[tuple[Node, bool], _Formula] = {}

    def add(self, expression: Expression, clamp: bool) -> _Formula:
        key = (expression.tree, clamp)
        if key in self._known:
            return self._known[key]
        name = f"_a{len(self._known)}"
        refundable = pl.col("refundable_amount")
        terms = _exact_terms(expression.tree)
        if terms is not None and terms <= 8:  # 8 × 10^15 < 2^53: exact in both engines
            exact = _integer(expression.tree)
            self.columns[name] = (exact.clip(0, refundable) if clamp
                                  else exact.clip(lower_bound=0))
            formula = _Formula(name, None)
        else:
            compiler = _Compiler()
            self.raw[f"{name}_raw"] = compiler.number(expression.tree)
            raw = pl.col(f"{name}_raw")
            tie = ((raw - raw.floor() - 0.5).abs() < _TIE).fill_null(False)
            rounded = raw.round(0, mode="half_to_even").fill_null(0.0)
            if clamp:
                rounded = pl.min_horizontal(rounded, refundable.cast(pl.Float64))
            self.columns[name] = pl.max_horizontal(rounded, pl.lit(0.0)).cast(pl.Int64)
            flags = compiler.borderline
            self.columns[f"{name}_b"] = pl.any_horizontal([tie, *flags]) if flags else tie
            formula = _Formula(name, f"{name}_b")
        self._known[key] = formula
        return formula


def _integer(node: Node) -> pl.Expr:
    if isinstance(node, Name):
        return pl.col(node.name).cast(pl.Int64)
    if isinstance(node, Num):
        return pl.lit(int(node.value), dtype=pl.Int64)
    if isinstance(node, Neg):
        return -_integer(node.operand)
    assert isinstance(node, Arith)
    left, right = _integer(node.left), _integer(node.right)
    return left + right if node.op == "+" else left - right


def _table(values: Sequence[Any], dtype: pl.DataType) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=dtype))


# Outcomes keep one Enum whatever the policy, so decisions of two policies compare directly.
OUTCOME = pl.Enum(list(OUTCOMES))


def _text(code: pl.Expr, values: Sequence[str | None], enum: pl.Enum | None = None) -> pl.Expr:
    """The text ``values[code]`` as an Enum column: a decision column holds a small integer
    per row, not a string (millions of rows of text cost more memory than the decisions).

    ``code`` is never null. A null value is looked up as a code past the last category,
    which ``cat.to(..., strict=False)`` turns into null: a lookup table without nulls is
    several times faster to gather from.
    """
    categories = list(enum.categories) if enum is not None else \
        list(dict.fromkeys(v for v in values if v is not None))
    enum = enum if enum is not None else pl.Enum(categories)
    physical = pl.Series([], dtype=enum).to_physical().dtype
    beyond: int | None = len(categories)
    if (physical == pl.UInt8 and beyond == 2 ** 8) or (physical == pl.UInt16
                                                         and beyond == 2 ** 16):
        beyond = None  # every code is a category: nulls stay nulls (the slower lookup)
    positions = [beyond if v is None else categories.index(v) for v in values]
    if positions == list(range(len(values))):  # the codes already are the categories
        return code.cast(physical).cat.to(enum, strict=False)
    return _table(positions, physical).gather(code).cat.to(enum, strict=False)


def _lookup(index: pl.Expr, mapping: dict[int, Any], size: int, dtype: pl.DataType) -> pl.Expr:
    """The value a rule position (0 to ``size``) maps to, null for the others: a gather from a
    small table, the cheapest per-row lookup in Polars."""
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return _table([mapping.get(i) for i in range(size + 1)], dtype).gather(index)


def _chain(pairs: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    if not pairs:
        return otherwise
    expression: Any = pl.when(pairs[0][0]).then(pairs[0][1])
    for condition, value in pairs[1:]:
        expression = expression.when(condition).then(value)
    result: pl.Expr = expression.otherwise(otherwise)
    return result


def _index_dtype(rules: int) -> pl.DataType:
    return pl.UInt8() if rules < 255 else pl.UInt32()


@dataclass
class _Document:
    """One document compiled: which rule matches (``index``, 0 when none) and, per rule, what
    the amounts are. Everything constant per rule is looked up by index at the end."""

    name: str
    policy: Policy
    index: pl.Expr  # the definition of f"_i{name}"
    borderline: list[pl.Expr]  # flags on the index and amount columns
    amounts: dict[int, tuple[_Formula, int]]  # rule position: (formula, minimum)
    offers: dict[int, _Offer]


@dataclass(frozen=True)
class _Offer:
    refunds: tuple[tuple[_Formula, int], ...]
    credits: tuple[tuple[_Formula, int], ...]
    extension: tuple[_Formula, _Formula] | None  # (days, bonus days)


def _compile_document(policy: Policy, name: str, amounts: _Amounts,
                      applies: pl.Expr | None = None, cash_only: bool = False) -> _Document:
    compiler = _Compiler()
    matched: list[pl.Expr] = []
    reach_flags: list[pl.Expr | None] = []
    for rule in policy.rules:
        before = len(compiler.borderline)
        parts = [_condition(c, compiler) for c in rule.conditions]
        matched.append(pl.all_horizontal(parts) if parts else pl.lit(True))
        flags = compiler.borderline[before:]
        reach_flags.append(pl.any_horizontal(flags) if flags else None)
        del compiler.borderline[before:]
    dtype = _index_dtype(len(policy.rules))
    # The first rule that matches: the first non-null of "position if matched" (a coalesce
    # costs a third of the equivalent chain of when/then/otherwise).
    candidates = [pl.when(m).then(pl.lit(position, dtype=dtype))
                  for position, m in enumerate(matched, 1)]
    if applies is not None:  # a pack for other countries: no rule of it matches
        candidates.insert(0, pl.when(~applies).then(pl.lit(0, dtype=dtype)))
    definition = pl.coalesce([*candidates, pl.lit(0, dtype=dtype)])
    index = pl.col(f"_i{name}")
    borderline: list[pl.Expr] = []
    for position, flag in enumerate(reach_flags, 1):
        if flag is not None:  # the rule was tried: none before it matched
            reached = (index == 0) | (index >= position)
            if applies is not None:
                reached = reached & applies
            borderline.append(flag & reached)
    document = _Document(name, policy, definition.alias(f"_i{name}"), borderline, {}, {})
    for position, rule in enumerate(policy.rules, 1):
        spec = rule.then
        here = index == position
        if spec.amount is not None:
            formula = amounts.add(spec.amount.amount, spec.amount.clamp)
            document.amounts[position] = (formula, spec.amount.min_amount)
            if formula.borderline:
                borderline.append(here & pl.col(formula.borderline))
        elif spec.outcome == "offer" and not cash_only:
            refunds = tuple((amounts.add(c.amount.amount, c.amount.clamp), c.amount.min_amount)
                            for c in spec.choices if c.kind == "refund" and c.amount is not None)
            credits = tuple((amounts.add(c.amount.amount, c.amount.clamp), c.amount.min_amount)
                            for c in spec.choices if c.kind == "credit" and c.amount is not None)
            extensions = [c for c in spec.choices if c.kind == "extension"]
            extension = None
            if extensions:
                extension = (amounts.add(_expression(extensions[0].days), False),
                             amounts.add(_expression(extensions[0].bonus_days), False))
            offer = _Offer(refunds, credits, extension)
            document.offers[position] = offer
            flags = [pl.col(f.borderline) for f, _ in (*refunds, *credits) if f.borderline]
            if extension is not None:
                flags += [pl.col(f.borderline) for f in extension if f.borderline]
            if flags:
                borderline.append(here & pl.any_horizontal(flags))
    return document


def _expression(expression: Expression | None) -> Expression:
    assert expression is not None
    return expression


def _amount_value(document: _Document) -> pl.Expr:
    """The amount of the matched rule before the minimum check (an offer: its best refund
    choice that reaches its minimum), null for the other rules."""
    index = pl.col(f"_i{document.name}")
    pairs: list[tuple[pl.Expr, pl.Expr]] = [
        (index == position, pl.col(formula.value))
        for position, (formula, _) in document.amounts.items()]
    for position, offer in document.offers.items():
        kept = [pl.when(pl.col(f.value) >= minimum).then(pl.col(f.value))
                for f, minimum in offer.refunds]
        best = pl.max_horizontal(kept) if kept else pl.lit(None, dtype=pl.Int64)
        pairs.append((index == position, best))
    if len(pairs) == 1 and not document.offers:
        return pl.when(pairs[0][0]).then(pairs[0][1])
    return _chain(pairs, pl.lit(None, dtype=pl.Int64))


def _offer_ok(document: _Document) -> pl.Expr:
    """The matched rule is an offer with a choice left."""
    index = pl.col(f"_i{document.name}")
    pairs: list[tuple[pl.Expr, pl.Expr]] = []
    for position, offer in document.offers.items():
        if offer.extension is not None:
            has_choice: pl.Expr = pl.lit(True)
        else:
            refunds = [pl.col(f.value) >= minimum for f, minimum in offer.refunds]
            credits = [pl.col(f.value) >= minimum for f, minimum in offer.credits]
            has_choice = pl.any_horizontal(refunds + credits) if refunds + credits \
                else pl.lit(False)
        pairs.append((index == position, has_choice))
    return _chain(pairs, pl.lit(False))


class VectorPolicy:
    """A merchant policy and its statutory floor compiled to Polars expressions."""

    def __init__(self, policy: Policy, floor: Sequence[Policy] = ()) -> None:
        self.policy = policy
        self.floor = tuple(floor)
        self.amounts = _Amounts()
        self.merchant = _compile_document(policy, "m", self.amounts)
        self.packs = [_compile_document(pack, f"p{i}", self.amounts,
                                        pl.col("country").is_in(sorted(pack.countries)),
                                        cash_only=True)
                      for i, pack in enumerate(self.floor)]
        self._stages = self._compile()

    def _compile(self) -> list[list[pl.Expr]]:
        """The evaluation as successive ``with_columns`` stages, then the final ``select``.

        The merchant's decision is carried by one small integer per row, ``_mf``: the matched
        rule's position (0: none), or one of three codes after the last rule: the floor wins,
        nothing refundable, below the minimum. Every field that depends only on it (outcome,
        reason, SLA, hours, redirect) is then one lookup in a table of ``size + 4`` entries.
        """
        merchant, packs, amounts = self.merchant, self.packs, self.amounts
        rules = merchant.policy.rules
        index = pl.col("_im")
        size = len(rules)
        floor_code, nothing_code, below_code = size + 1, size + 2, size + 3
        field = _index_dtype(size + 3)
        first = [d.index for d in (*packs, merchant)]
        first += [expression.alias(name) for name, expression in amounts.raw.items()]
        second = [expression.alias(name) for name, expression in amounts.columns.items()]

        # Third: what each pack refunds; the merchant's amount and its minimum.
        third: list[pl.Expr] = []
        for pack in packs:
            pack_index = pl.col(f"_i{pack.name}")
            refunds = [(pack_index == position, pl.col(formula.value), minimum)
                       for position, (formula, minimum) in pack.amounts.items()
                       if pack.policy.rules[position - 1].then.outcome == "refund"]
            third.append(_chain([(here & (value >= minimum), value)
                                 for here, value, minimum in refunds],
                                pl.lit(0, dtype=pl.Int64)).alias(f"_cash{pack.name}"))
        minimums = {p: minimum for p, (_, minimum) in merchant.amounts.items()}
        third += [_amount_value(merchant).alias("_mvalue"), _offer_ok(merchant).alias("_mok"),
                  _lookup(index, minimums, size, pl.Int64()).alias("_mmin")]

        # Fourth: is the merchant's amount enough, the best statutory refund, borderline rows.
        value, offer_ok, enough = pl.col("_mvalue"), pl.col("_mok"), pl.col("_menough")
        cashes = [pl.col(f"_cash{pack.name}") for pack in packs]
        fourth = [
            (value >= pl.col("_mmin")).fill_null(False).alias("_menough"),
            (pl.max_horizontal(cashes) if cashes else pl.lit(0, dtype=pl.Int64))
            .alias("_best_cash"),
            pl.any_horizontal([flag for d in (*packs, merchant) for flag in d.borderline]
                              or [pl.lit(False)]).alias("_borderline"),
        ]

        # Fifth: the cash the merchant gives back, and its decision as a field code.
        refund_rules = [p for p in minimums if rules[p - 1].then.outcome == "refund"]
        is_refund = index.is_in(refund_rules) if refund_rules else pl.lit(False)
        is_amount = index.is_in(list(minimums)) if minimums else pl.lit(False)
        is_offer = index.is_in(list(merchant.offers)) if merchant.offers else pl.lit(False)
        fifth = [
            pl.when(enough & is_refund).then(value).when(offer_ok).then(value.fill_null(0))
            .otherwise(pl.lit(0, dtype=pl.Int64)).alias("_mcash"),
            pl.when(is_amount & ~enough & (value.fill_null(0) <= 0))
            .then(pl.lit(nothing_code, dtype=field))
            .when(is_amount & ~enough).then(pl.lit(below_code, dtype=field))
            .when(is_offer & ~offer_ok).then(pl.lit(nothing_code, dtype=field))
            .otherwise(index.cast(field)).alias("_mshort"),
        ]

        # Sixth: the floor against the merchant's decision. A review keeps the floor as the
        # least the reviewer may grant; otherwise the floor's refund replaces the decision.
        best_cash = pl.col("_best_cash")
        below_floor = (best_cash > 0) & (pl.col("_mcash") < best_cash)
        reviews = [0] + [p for p, r in enumerate(rules, 1) if r.then.outcome == "review"]
        is_review = index.is_in(reviews)
        sixth = [(below_floor & ~is_review).alias("_floor_wins"),
                 (below_floor & is_review).alias("_floor_minimum")]
        # The rule that decides, as one code: 0 (none), the merchant's rules, then each
        # pack's; the first pack wins ties, as on the scalar path.
        base = size + 1
        pack_codes: list[tuple[pl.Expr, pl.Expr]] = []
        for pack in packs:
            won = pl.col(f"_cash{pack.name}") == best_cash
            pack_codes.append((won, pl.col(f"_i{pack.name}").cast(pl.UInt32) + base))
            base += len(pack.policy.rules) + 1
        sixth.append(_chain(pack_codes, pl.lit(0, dtype=pl.UInt32)).alias("_pack_rule"))

        seventh = [pl.when(pl.col("_floor_wins")).then(pl.lit(floor_code, dtype=field))
                   .otherwise(pl.col("_mshort")).alias("_mf")]

        # Last: the decision fields, each one lookup (text as Enum columns).
        floor_wins, code = pl.col("_floor_wins"), pl.col("_mf")
        rule_code = pl.when(floor_wins).then(pl.col("_pack_rule")).otherwise(
            index.cast(pl.UInt32))
        rule_ids: list[str | None] = [None, *(r.id for r in rules)]
        refs = [self.policy.ref] * (size + 1)
        for pack in packs:
            rule_ids += [None, *(r.id for r in pack.policy.rules)]
            refs += [pack.policy.ref] * (len(pack.policy.rules) + 1)
        outcomes = ["review", *(r.then.outcome for r in rules), "refund", "deny", "deny"]
        reasons: list[str | None] = [
            None, *(r.then.reason if r.then.outcome == "deny" else None for r in rules),
            None, "nothing_refundable", "below_minimum"]
        after = [None, None, None]  # the floor, nothing refundable, below the minimum
        sla = [14, *((r.then.sla_days or 14) if r.then.outcome == "review" else None
                     for r in rules), *after]
        hours = [None, *((r.then.hours or 0) if r.then.outcome == "troubleshoot_first"
                         else None for r in rules), *after]
        day_us, hour_us = 86_400_000_000, 3_600_000_000
        last = [
            pl.col(_ROW),
            _text(code, outcomes, OUTCOME).alias("outcome"),
            _text(rule_code, rule_ids).alias("rule"),
            _text(rule_code, refs).alias("decided_by"),
            pl.when(floor_wins).then(best_cash).when(enough | offer_ok).then(value)
            .otherwise(pl.lit(None, dtype=pl.Int64)).alias("amount"),
            _text(code, reasons).alias("reason"),
            self._to(code).alias("to"),
            (pl.col("requested_at").to_physical() + _table(
                [None if d is None else d * day_us for d in sla], pl.Int64()).gather(code))
            .cast(_DATETIME).alias("due_by"),
            (pl.coalesce("troubleshooting_started_at", "requested_at").to_physical() + _table(
                [None if h is None else h * hour_us for h in hours], pl.Int64()).gather(code))
            .cast(_DATETIME).alias("retry_after"),
            *self._extension(code),
            pl.when(pl.col("_floor_minimum")).then(best_cash)
            .otherwise(pl.lit(None, dtype=pl.Int64)).alias("minimum_amount"),
            pl.col("_borderline"),
        ]
        return [first, second, third, fourth, fifth, sixth, seventh, last]

    def _to(self, code: pl.Expr) -> pl.Expr:
        """Where a redirect sends the customer: a literal of the rule, or the channel."""
        rules = self.policy.rules
        literals: list[str] = []
        targets = [0] * (len(rules) + 4)  # 0: no redirect (None below)
        for position, rule in enumerate(rules, 1):
            if rule.then.outcome == "redirect" and rule.then.to:
                if rule.then.to not in literals:
                    literals.append(rule.then.to)
                targets[position] = literals.index(rule.then.to) + 1
        channel_rules = [p for p, r in enumerate(rules, 1)
                         if r.then.outcome == "redirect" and not r.then.to]
        channels = list(FACTS["channel"].choices)
        if not literals and not channel_rules:
            return pl.lit(None, dtype=pl.Enum(channels))
        target = _table(targets, pl.UInt32()).gather(code)
        if channel_rules:
            channel = pl.col("channel").to_physical().cast(pl.UInt32) + len(literals) + 1
            target = pl.when(code.is_in(channel_rules)).then(channel).otherwise(target)
        return _text(target, [None, *literals, *channels])

    def _extension(self, code: pl.Expr) -> list[pl.Expr]:
        days: list[tuple[pl.Expr, pl.Expr]] = []
        bonus: list[tuple[pl.Expr, pl.Expr]] = []
        for position, offer in self.merchant.offers.items():
            if offer.extension is not None:
                days.append((code == position, pl.col(offer.extension[0].value)))
                bonus.append((code == position, pl.col(offer.extension[1].value)))
        none = pl.lit(None, dtype=pl.Int64)
        return [_chain(days, none).alias("extension_days"),
                _chain(bonus, none).alias("bonus_days")]

    def evaluate(self, prepared: pl.DataFrame, *, exact: Prepared | None = None) -> pl.DataFrame:
        """Decide every row of a ``prepare``d frame; one column per ``DECISION_COLUMNS``.

        Text fields (outcome, rule, decided_by, reason, to) are ``pl.Enum`` columns: the same
        values as text, one small integer per row. ``outcome`` has the same Enum for every
        policy (``OUTCOME``); the others are the policy's own.

        Borderline rows are decided again by the scalar engine from the source rows in
        ``exact`` (pass the ``Prepared`` the frame came from); without it they are left as the
        float path computed them and ``_borderline`` tells which they are.
        """
        frame = prepared.lazy()
        *stages, last = self._stages
        for stage in stages:
            frame = frame.with_columns(stage)
        result = frame.select(last).collect()
        if exact is not None:
            result = self._recheck(result, exact)
        return result

    def _recheck(self, result: pl.DataFrame, exact: Prepared) -> pl.DataFrame:
        """Replace the borderline rows by the scalar engine's decisions, in place."""
        positions = result["_borderline"].arg_true()
        if not positions.len():
            return result
        rows = result[_ROW].gather(positions)
        source = exact.source[rows.to_list()]  # the source frame's row index is its position
        fixes = [decision_row(decide(
            self.policy, parse_facts({k: v for k, v in row.items() if k in FACTS}),
            self.floor)) for row in _scalar_rows(source)]
        patch = pl.DataFrame(fixes, schema={c: result.schema[c] for c in DECISION_COLUMNS})
        # The exact decision is nearly always the one the float path found: only the columns
        # that differ are patched (patching copies the whole column).
        changed = [column for column in DECISION_COLUMNS
                   if not result[column].gather(positions).equals(patch[column])]
        if not changed:
            return result
        return result.with_columns(result[column].scatter(positions, patch[column])
                                   for column in changed)


def _scalar_value(kind: str, value: Any) -> Any:
    """A history cell as the scalar parser expects it. Text that is not what the kind needs is
    passed on unchanged, so ``parse_facts`` rejects it with a message naming the field."""
    if not isinstance(value, str):
        return value.isoformat() if isinstance(value, datetime) else value
    text = value.strip()
    if kind == "bool":
        return {"true": True, "1": True, "yes": True, "false": False, "0": False,
                "no": False}.get(text.lower(), value)
    if kind == "list":
        return [d.strip() for d in text.split(";") if d.strip()]
    if kind in ("int", "number"):
        try:
            number = float(text)
        except ValueError:
            return value
        return int(number) if kind == "int" and number.is_integer() else number
    if kind in ("country", "currency"):
        return text.upper()
    return value


def _scalar_rows(source: pl.DataFrame) -> list[dict[str, Any]]:
    """Source rows as dicts the scalar parser accepts (ISO strings, true booleans, lists)."""
    rows: list[dict[str, Any]] = []
    for row in source.iter_rows(named=True):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            spec = FACTS.get(key)
            if spec is None or value is None or value == "":
                clean[key] = value
            else:
                clean[key] = _scalar_value(spec.kind, value)
        rows.append(clean)
    return rows


def decision_row(decision: Decision) -> dict[str, Any]:
    """The fields of a scalar decision in the vector path's columns (for backtests, tests)."""
    extension = next((c for c in decision.choices if c.kind == "extension"), None)
    amount = decision.amount
    if decision.outcome == "offer":
        refunds = [c.amount for c in decision.choices if c.kind == "refund" and c.amount]
        amount = max(refunds) if refunds else None
    return {
        "outcome": decision.outcome, "rule": decision.rule, "decided_by": decision.decided_by,
        "amount": amount, "reason": decision.reason, "to": decision.to,
        "due_by": decision.due_by.astimezone(UTC) if decision.due_by else None,
        "retry_after": (decision.retry_after.astimezone(UTC)
                        if decision.retry_after else None),
        "extension_days": extension.days if extension else None,
        "bonus_days": extension.bonus_days if extension else None,
        "minimum_amount": decision.minimum_amount,
    }


__all__ = ["DECISION_COLUMNS", "OUTCOME", "REASONS", "Prepared", "VectorPolicy", "decision_row",
           "derive_columns", "prepare"]
