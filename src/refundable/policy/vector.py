"""The vectorised evaluator: the same policy compiled to Polars expressions.

``prepare(frame)`` validates and types a history (one facts row per line, columns named as the
facts) and adds the derived facts; ``VectorPolicy.evaluate(prepared)`` decides every row at once
and returns one column per decision field (``DECISION_COLUMNS``), the same fields
``decision_row`` extracts from a scalar ``Decision``.

Amounts compute in float64 here and in ``Decimal`` on the scalar path. The two agree except
when a value lands within a hair of a rounding boundary (x.5 before half-even rounding, an
integer under floor/ceil, equality in an ``if`` comparison): such rows are flagged and decided
again by the scalar engine, so both paths give the same decision for every input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import polars as pl

from .decision import Decision
from .engine import decide
from .errors import FactsError
from .expr import Arith, BoolLit, Call, Compare, Expression, Logic, Name, Neg, Node, Not, Num
from .facts import ALL_FACTS, DERIVED, FACTS, FRENCH_COUNTRIES, REASONS, FactSpec, parse_facts
from .model import AmountSpec, Check, Condition, Policy, Rule

DECISION_COLUMNS = ("outcome", "rule", "decided_by", "amount", "reason", "to", "due_by",
                    "retry_after", "extension_days", "bonus_days", "minimum_amount")
_EPSILON = 1e-9
_TIE = 1e-7
_UTC = "UTC"
_DATETIME = pl.Datetime("us", _UTC)
_OFFSET = "_purchase_offset_minutes"
_ROW = "_row"


# -- preparing a history ----------------------------------------------------------------------

_ISO = r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?"
_ISO_OFFSET = _ISO + r"(Z|[+-]\d\d:\d\d)$"


_NO_SECONDS = r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d)(Z|[+-]\d\d:\d\d)?$"


def _parse_datetimes(column: str, fractions: bool, minutes_only: bool = False,
                     spaced: bool = False) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(UTC datetime, "has an offset", "is well formed") for an ISO 8601 string column.

    Fixed positions are sliced and cast, which is several times faster than a general parser;
    ``fractions`` adds fractional seconds, ``spaced`` a space instead of the ``T`` (each only
    paid for when the column has any).
    """
    text = pl.col(column).cast(pl.String)
    if minutes_only:  # "2026-03-01T10:00+01:00" is valid ISO 8601: seconds are 0
        text = text.str.replace(_NO_SECONDS, "${1}:00${2}")
    well_formed = text.str.contains(_ISO_OFFSET)
    has_offset = well_formed | ~text.str.contains(_ISO + "$")
    naive = (text.str.slice(0, 10) + "T" + text.str.slice(11, 8) if spaced
             else text.str.slice(0, 19))
    parsed = naive.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
    if fractions:
        digits = text.str.extract(r"^.{19}\.(\d{1,6})", 1)
        micros = (digits + pl.lit("000000")).str.slice(0, 6).cast(pl.Int64, strict=False)
        parsed = parsed + pl.duration(microseconds=micros.fill_null(0))
    utc = (parsed - pl.duration(minutes=_offset_minutes(column))).dt.replace_time_zone(_UTC)
    return pl.when(well_formed).then(utc), has_offset, well_formed


def _purchase_offset(dtype: pl.DataType) -> pl.Expr:
    """The purchase's UTC offset in minutes: from the text, or from a typed column's zone."""
    if dtype == pl.String:
        return _offset_minutes("purchased_at")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        column = pl.col("purchased_at")
        wall = column.dt.replace_time_zone(None)
        utc = column.dt.convert_time_zone(_UTC).dt.replace_time_zone(None)
        return (wall - utc).dt.total_minutes().cast(pl.Int32)
    return pl.lit(0, dtype=pl.Int32)


def _offset_minutes(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String)
    sign = pl.when(text.str.slice(-6, 1) == "-").then(-1).otherwise(1)
    hours = text.str.slice(-5, 2).cast(pl.Int32, strict=False)
    minutes = text.str.slice(-2, 2).cast(pl.Int32, strict=False)
    return pl.when(text.str.ends_with("Z")).then(0).otherwise(
        sign * (hours * 60 + minutes)).fill_null(0)


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


def prepare(history: pl.DataFrame) -> Prepared:
    """Type and validate a facts history; add the derived facts.

    Columns not named as facts are kept aside; missing optional facts take their defaults.
    Invalid rows are not decided: ``errors`` names the row (0-based), the field and the problem.
    """
    for name in DERIVED:
        if name in history.columns:
            raise FactsError(name, "is derived by the engine and cannot be given")
    source = history.with_row_index(_ROW)
    columns: list[pl.Expr] = [pl.col(_ROW)]
    problems: list[tuple[pl.Expr, str]] = []  # on the source columns

    detectors: list[pl.Expr] = []

    def problem(condition: pl.Expr, field: str, message: str, detect: bool = True) -> None:
        """Record a check; ``detect=False`` when a later check already catches every such row
        (the message is then only built for the rows found invalid)."""
        problems.append((condition.fill_null(False), f"{field}\t{message}"))
        if detect:
            detectors.append(condition.fill_null(False))

    for name, spec in FACTS.items():
        if name not in source.columns:
            if spec.required:
                raise FactsError(name, "is required: the history has no such column")
            columns.append(pl.lit(spec.default if not isinstance(spec.default, tuple)
                                  else [], dtype=_dtype(spec.kind)).alias(name))
            continue
        dtype = source.schema[name]
        fractions = dtype == pl.String and spec.kind == "datetime" and bool(
            source[name].str.contains(r"^.{19}\.").any())
        minutes_only = dtype == pl.String and spec.kind == "datetime" and bool(
            source[name].str.contains(_NO_SECONDS).any())
        spaced = dtype == pl.String and spec.kind == "datetime" and bool(
            source[name].str.slice(10, 1).eq(" ").any())
        columns.append(_typed_column(spec, dtype, problem, fractions, minutes_only, spaced))
        if name == "purchased_at":
            columns.append(_purchase_offset(source.schema[name]).alias(_OFFSET))
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
    raw_invalid = pl.any_horizontal(detectors) if detectors else pl.lit(False)
    typed = source.lazy().select(*columns, raw_invalid.alias("_raw_invalid")).with_columns(
        (pl.col("_raw_invalid") | pl.any_horizontal([c for c, _ in consistency]))
        .alias("_invalid")).collect()
    if typed["_invalid"].any():
        good = typed.filter(~pl.col("_invalid")).drop("_invalid", "_raw_invalid")
        bad = typed.filter(pl.col("_invalid")).drop("_invalid", "_raw_invalid")
    else:  # the usual case: no row to set aside, no filtering to pay for
        good = typed.drop("_invalid", "_raw_invalid")
        bad = good.clear()
    errors = pl.DataFrame(schema={_ROW: pl.UInt32, "field": pl.String, "message": pl.String})
    if bad.height:
        # Only the invalid rows pay for building messages: the first problem of each row.
        raw_bad = source.filter(pl.col(_ROW).is_in(bad[_ROW].implode()))
        raw_texts: list[pl.Expr] = [pl.when(c).then(pl.lit(t)) for c, t in problems]
        raw_text = raw_bad.select(_ROW, pl.coalesce(
            raw_texts or [pl.lit(None, pl.String)]).alias("_problem"))
        typed_text = bad.select(_ROW, pl.coalesce(
            [pl.when(c).then(pl.lit(t)) for c, t in consistency]).alias("_typed_problem"))
        joined = raw_text.join(typed_text, on=_ROW).select(
            _ROW, pl.coalesce("_problem", "_typed_problem").str.split_exact("\t", 1)
            .struct.rename_fields(["field", "message"]).alias("_p")).unnest("_p")
        errors = joined.sort(_ROW)
    return Prepared(frame=derive_columns(good), errors=errors, source=source)


def _typed_column(spec: FactSpec, dtype: pl.DataType,
                  problem: Callable[..., None], fractions: bool,
                  minutes_only: bool = False, spaced: bool = False) -> pl.Expr:
    """The fact column converted to its type; reports problems through ``problem``."""
    name = spec.name
    given = pl.col(name).is_not_null() & (
        (pl.col(name).cast(pl.String) != "") if dtype == pl.String else pl.lit(True))
    if spec.required:
        problem(~given, name, "is required")
    if spec.kind == "datetime":
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                problem(given, name, "has no UTC offset")
                return pl.col(name).dt.replace_time_zone(_UTC).alias(name)
            return pl.col(name).dt.convert_time_zone(_UTC).alias(name)
        parsed, has_offset, well_formed = _parse_datetimes(name, fractions, minutes_only,
                                                           spaced)
        problem(given & ~has_offset, name, "has no UTC offset", detect=False)
        problem(given & ~well_formed, name,
                "is not an ISO 8601 date-time like 2026-03-01T10:00:00+01:00")
        problem(given & well_formed & (parsed.is_null()
                                       | (_offset_minutes(name).abs() >= 24 * 60)),
                name, "is not a valid date-time (no such day, hour or offset)")
        return parsed.alias(name)
    if spec.kind == "enum":
        value = pl.col(name).cast(pl.String)
        problem(given & ~value.is_in(list(spec.choices)), name,
                f"unknown value; expected one of {', '.join(spec.choices)}")
        return pl.when(given).then(value).otherwise(pl.lit(spec.default)).alias(name)
    if spec.kind == "bool":
        value = _bool_column(name, dtype)
        problem(given & value.is_null(), name, "expected true or false")
        default = pl.lit(spec.default, dtype=pl.Boolean)
        return pl.when(given).then(value).otherwise(default).alias(name)
    if spec.kind in ("int", "number"):
        target = pl.Int64 if spec.kind == "int" else pl.Float64
        column = pl.col(name).str.strip_chars() if dtype == pl.String else pl.col(name)
        value = column.cast(pl.Float64, strict=False)
        problem(given & value.is_null(), name, "expected a number")
        problem(given & value.is_not_null() & ~value.is_finite(), name,
                "must be a finite number")
        if spec.kind == "int":
            problem(value != value.floor(), name, "expected a whole number")
        if spec.minimum is not None:
            problem(value < spec.minimum, name, f"must be at least {spec.minimum:g}")
        if spec.maximum is not None:
            problem(value > spec.maximum, name, f"must be at most {spec.maximum:g}")
        default_number = pl.lit(spec.default, dtype=target)
        return pl.when(given).then(value.cast(target, strict=False)) \
            .otherwise(default_number).alias(name)
    if spec.kind in ("country", "currency"):
        width = 2 if spec.kind == "country" else 3
        value = pl.col(name).cast(pl.String).str.to_uppercase()
        problem(given & ~value.str.contains(f"^[A-Z]{{{width}}}$"), name,
                f"expected an ISO code of {width} letters")
        return value.alias(name)
    if spec.kind == "list":
        value = (pl.col(name) if isinstance(dtype, pl.List)
                 else pl.col(name).cast(pl.String).str.split(";")
                 .list.eval(pl.element().str.strip_chars())
                 .list.eval(pl.element().filter(pl.element() != "")))
        return pl.when(given).then(value).otherwise(pl.lit([], dtype=_dtype("list"))).alias(name)
    return pl.col(name).cast(pl.String).alias(name)


def _dtype(kind: str) -> pl.DataType:
    mapping: dict[str, pl.DataType] = {
        "bool": pl.Boolean(), "int": pl.Int64(), "number": pl.Float64(), "datetime": _DATETIME,
        "list": pl.List(pl.String), "enum": pl.String(), "string": pl.String(),
        "country": pl.String(), "currency": pl.String()}
    return mapping[kind]


def _micros(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_microseconds()


def _months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole calendar months between two date columns, as ``facts.months_between`` counts
    them: the largest ``n`` with ``start`` moved by ``n`` months (day clamped to the month's
    end) not after ``end``. Moved by the month difference, ``start`` lands in ``end``'s month,
    so only the days need comparing."""
    months = ((end.dt.year().cast(pl.Int64) - start.dt.year().cast(pl.Int64)) * 12
              + end.dt.month().cast(pl.Int64) - start.dt.month().cast(pl.Int64))
    moved_day = pl.min_horizontal(start.dt.day().cast(pl.Int64),
                                  end.dt.days_in_month().cast(pl.Int64))
    return months - (moved_day > end.dt.day().cast(pl.Int64)).cast(pl.Int64)


def derive_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return derived_facts(frame.lazy()).collect()


def derived_facts(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add the derived facts, computed exactly as ``facts.derive`` does."""
    offset = pl.duration(minutes=pl.col(_OFFSET))

    def local(name: str) -> pl.Expr:
        return (pl.col(name).dt.replace_time_zone(None) + offset)

    total_s = _micros("period_end", "purchased_at") / 1e6
    remaining_s = _micros("period_end", "requested_at") / 1e6
    has_end = pl.col("period_end").is_not_null()
    in_period = _months_between(local("purchased_at").dt.date(), local("period_end").dt.date())
    begun = _months_between(local("purchased_at").dt.date(),
                            local("requested_at").dt.date()) + 1
    return frame.with_columns(
        hours_since_purchase=(_micros("requested_at", "purchased_at") / 1e6) / 3600.0,
        days_since_purchase=(local("requested_at").dt.date() - local("purchased_at").dt.date())
        .dt.total_days(),
        unused_time_fraction=pl.when(has_end & (total_s > 0))
        .then((remaining_s / total_s).clip(0.0, 1.0)).otherwise(0.0),
        whole_months_unused=pl.when(has_end).then((in_period - begun).clip(lower_bound=0))
        .otherwise(0),
        months_in_period=pl.when(has_end).then(in_period).otherwise(0),
        period_days=total_s / 86400.0,
        days_until_period_end=remaining_s / 86400.0,
        refundable_amount=pl.col("amount") - pl.col("already_refunded"),
        hours_since_troubleshooting_started=(
            _micros("requested_at", "troubleshooting_started_at") / 1e6) / 3600.0,
        first_purchase=pl.col("first_purchase").fill_null(~pl.col("is_renewal")),
        language=pl.col("language").fill_null(
            pl.when(pl.col("country").is_in(sorted(FRENCH_COUNTRIES))).then(pl.lit("fr"))
            .otherwise(pl.lit("en"))),
    )


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
            self.borderline.append(((value - value.round(0)).abs() < _EPSILON * scale)
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
    comparisons: dict[str, pl.Expr] = {
        "eq": column == constant, "ne": column != constant, "gt": column > constant,
        "ge": column >= constant, "lt": column < constant, "le": column <= constant}
    return comparisons[op].fill_null(False)


def _condition(condition: Condition, compiler: _Compiler) -> pl.Expr:
    if condition.expression is not None:
        return compiler.boolean(condition.expression.tree)
    parts = [_check(condition.fact, check) for check in condition.checks]
    if ALL_FACTS[condition.fact].kind == "number":
        # Derived numbers are divisions; float64 and Decimal may differ in the last place, so
        # a value within a hair of the constant is decided again exactly.
        for check in condition.checks:
            if isinstance(check.value, int | float) and not isinstance(check.value, bool):
                bound = float(check.value)
                near = (pl.col(condition.fact) - bound).abs() <= _EPSILON * (1.0 + abs(bound))
                compiler.borderline.append(near.fill_null(False))
    return parts[0] if len(parts) == 1 else pl.all_horizontal(parts)


def _round_half_even(value: pl.Expr) -> pl.Expr:
    floor = value.floor()
    fraction = value - floor
    even_step = (floor - 2.0 * (floor / 2.0).floor())  # 1.0 when floor is odd
    return (pl.when(fraction > 0.5).then(floor + 1.0)
            .when(fraction < 0.5).then(floor)
            .otherwise(floor + even_step))


@dataclass(frozen=True)
class _Amount:
    value: pl.Expr  # Int64, rounded, clamped, never negative
    borderline: pl.Expr


def _amount(spec: AmountSpec, compiler: _Compiler) -> _Amount:
    before = len(compiler.borderline)
    raw = compiler.number(spec.amount.tree)
    flags = compiler.borderline[before:]
    del compiler.borderline[before:]
    fraction = raw - raw.floor()
    tie = ((fraction - 0.5).abs() < _TIE).fill_null(False)
    rounded = _round_half_even(raw).fill_null(0.0)
    if spec.clamp:
        rounded = pl.min_horizontal(rounded, pl.col("refundable_amount").cast(pl.Float64))
    value = pl.max_horizontal(rounded, pl.lit(0.0)).cast(pl.Int64)
    borderline = pl.any_horizontal([tie, *flags]) if flags else tie
    return _Amount(value, borderline)


def _days(expression: Expression | None, compiler: _Compiler) -> _Amount:
    assert expression is not None
    return _amount(AmountSpec(amount=expression, min_amount=0, clamp=False), compiler)


def _lookup(index: pl.Expr, mapping: dict[int, Any], dtype: pl.DataType) -> pl.Expr:
    """The value a rule position maps to (null for the others): one hash lookup per row."""
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return index.replace_strict(list(mapping), list(mapping.values()), default=None,
                                return_dtype=dtype)


def _chain(pairs: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    if not pairs:
        return otherwise
    expression: Any = pl.when(pairs[0][0]).then(pairs[0][1])
    for condition, value in pairs[1:]:
        expression = expression.when(condition).then(value)
    result: pl.Expr = expression.otherwise(otherwise)
    return result


@dataclass(frozen=True)
class _Document:
    """One document compiled: the index of the matching rule and what the outcome would be.

    Columns that are constant per rule (rule id, outcome, reason, SLA days…) are looked up by
    the rule's index; only amounts are computed per rule, and only for the rules that have one.
    """

    name: str
    index: pl.Expr  # the definition of f"_i{name}": 1-based rule position, 0 when none matched
    intermediate: dict[str, pl.Expr]  # computed once, before ``columns`` (which refer to them)
    columns: dict[str, pl.Expr]  # decision fields, plus "_cash" and "_borderline"
    rule_ids: dict[int, str]


def _compile_document(policy: Policy, name: str, applies: pl.Expr | None = None,
                      cash_only: bool = False) -> _Document:
    compiler = _Compiler()
    matched: list[pl.Expr] = []
    reach_flags: list[pl.Expr] = []
    for rule in policy.rules:
        before = len(compiler.borderline)
        parts = [_condition(c, compiler) for c in rule.conditions]
        matched.append(pl.all_horizontal(parts) if parts else pl.lit(True))
        reach_flags.append(pl.any_horizontal(compiler.borderline[before:])
                           if len(compiler.borderline) > before else pl.lit(False))
        del compiler.borderline[before:]
    index_definition: pl.Expr = pl.lit(0, dtype=pl.Int32)
    for position in range(len(policy.rules), 0, -1):
        index_definition = pl.when(matched[position - 1]).then(
            pl.lit(position, dtype=pl.Int32)).otherwise(index_definition)
    if applies is not None:
        index_definition = pl.when(applies).then(index_definition).otherwise(
            pl.lit(0, dtype=pl.Int32))
    index = pl.col(f"_i{name}")
    intermediate, columns = _outcome_columns(policy.rules, index, compiler, reach_flags,
                                             cash_only, f"_{name}")
    return _Document(name, index_definition.alias(f"_i{name}"), intermediate, columns,
                     {position: rule.id for position, rule in enumerate(policy.rules, 1)})


def _outcome_columns(rules: Sequence[Rule], index: pl.Expr, compiler: _Compiler,
                     reach_flags: list[pl.Expr], cash_only: bool, prefix: str
                     ) -> tuple[dict[str, pl.Expr], dict[str, pl.Expr]]:
    none_int = pl.lit(None, dtype=pl.Int64)
    values: list[tuple[pl.Expr, pl.Expr]] = []  # (here, amount before the minimum check)
    offered: list[tuple[pl.Expr, pl.Expr]] = []  # (here, an offer has a choice left)
    extension_days: list[tuple[pl.Expr, pl.Expr]] = []
    bonus_days: list[tuple[pl.Expr, pl.Expr]] = []
    minimums: dict[int, int] = {}
    amount_rules: list[int] = []
    refund_rules: list[int] = []
    offer_rules: list[int] = []
    borderline: list[pl.Expr] = []
    for position, rule in enumerate(rules, 1):
        here = index == position
        borderline.append(reach_flags[position - 1] & ((index == 0) | (index >= position)))
        spec = rule.then
        if spec.amount is not None:
            compiled = _amount(spec.amount, compiler)
            values.append((here, compiled.value))
            minimums[position] = spec.amount.min_amount
            amount_rules.append(position)
            if spec.outcome == "refund":
                refund_rules.append(position)
            borderline.append(here & compiled.borderline)
        elif spec.outcome == "offer" and not cash_only:
            refunds = [(_amount(c.amount, compiler), c.amount.min_amount)
                       for c in spec.choices if c.kind == "refund" and c.amount is not None]
            credits = [(_amount(c.amount, compiler), c.amount.min_amount)
                       for c in spec.choices if c.kind == "credit" and c.amount is not None]
            kept = [pl.when(r.value >= m).then(r.value) for r, m in refunds]
            best = pl.max_horizontal(kept) if kept else none_int
            extensions = [c for c in spec.choices if c.kind == "extension"]
            any_credit = (pl.any_horizontal([c.value >= m for c, m in credits]) if credits
                          else pl.lit(False))
            has_choice = pl.lit(True) if extensions else (best.is_not_null() | any_credit)
            values.append((here, best))
            offered.append((here, has_choice))
            offer_rules.append(position)
            flags = [r.borderline for r, _ in refunds] + [c.borderline for c, _ in credits]
            if extensions:
                days = _days(extensions[0].days, compiler)
                extra = _days(extensions[0].bonus_days, compiler)
                extension_days.append((here, days.value))
                bonus_days.append((here, extra.value))
                flags += [days.borderline, extra.borderline]
            if flags:
                borderline.append(here & pl.any_horizontal(flags))
    is_amount_rule = index.is_in(amount_rules) if amount_rules else pl.lit(False)
    is_offer_rule = index.is_in(offer_rules) if offer_rules else pl.lit(False)
    intermediate: dict[str, pl.Expr] = {
        "_value": _chain(values, none_int),
        "_is_amount": is_amount_rule,
        "_is_offer": is_offer_rule,
        "_offer_ok": is_offer_rule & _chain(offered, pl.lit(False)),
    }
    value = pl.col(f"{prefix}_value")
    is_amount = pl.col(f"{prefix}_is_amount")
    is_offer = pl.col(f"{prefix}_is_offer")
    offer_ok = pl.col(f"{prefix}_offer_ok")
    enough = is_amount & (value >= _lookup(index, minimums, pl.Int64()))
    is_refund = index.is_in(refund_rules) if refund_rules else pl.lit(False)
    cash = (pl.when(enough & is_refund).then(value).when(offer_ok).then(value.fill_null(0))
            .otherwise(pl.lit(0, dtype=pl.Int64)))
    columns: dict[str, pl.Expr] = {
        "_cash": cash,
        "_borderline": pl.any_horizontal(borderline) if borderline else pl.lit(False),
    }
    if cash_only:
        return intermediate, columns
    columns["_enough"] = enough
    outcomes = {p: r.then.outcome for p, r in enumerate(rules, 1)}
    outcomes[0] = "review"  # no rule matched: a person reviews it (as the scalar engine does)
    reasons = {p: r.then.reason for p, r in enumerate(rules, 1) if r.then.outcome == "deny"}
    literal_to = {p: r.then.to for p, r in enumerate(rules, 1)
                  if r.then.outcome == "redirect" and r.then.to}
    channel_to = [p for p, r in enumerate(rules, 1)
                  if r.then.outcome == "redirect" and not r.then.to]
    sla = {p: r.then.sla_days or 14 for p, r in enumerate(rules, 1)
           if r.then.outcome == "review"}
    sla[0] = 14
    hours = {p: r.then.hours or 0 for p, r in enumerate(rules, 1)
             if r.then.outcome == "troubleshoot_first"}
    short = (is_amount & ~enough) | (is_offer & ~offer_ok)
    columns.update({
        "outcome": pl.when(short).then(pl.lit("deny")).otherwise(
            _lookup(index, outcomes, pl.String())),
        "amount": pl.when(enough | offer_ok).then(value).otherwise(none_int),
        "reason": pl.when(is_amount & ~enough & (value.fill_null(0) <= 0)).then(
            pl.lit("nothing_refundable")).when(is_amount & ~enough).then(
            pl.lit("below_minimum")).when(is_offer & ~offer_ok).then(
            pl.lit("nothing_refundable")).otherwise(_lookup(index, reasons, pl.String())),
        "to": (pl.when(index.is_in(channel_to)).then(pl.col("channel")).otherwise(
            _lookup(index, literal_to, pl.String())) if channel_to
            else _lookup(index, literal_to, pl.String())),
        "due_by": pl.col("requested_at") + pl.duration(
            days=_lookup(index, sla, pl.Int64())),
        "retry_after": pl.coalesce("troubleshooting_started_at", "requested_at")
        + pl.duration(hours=_lookup(index, hours, pl.Int64())),
        "extension_days": _chain(extension_days, none_int),
        "bonus_days": _chain(bonus_days, none_int),
    })
    return intermediate, columns


class VectorPolicy:
    """A merchant policy and its statutory floor compiled to Polars expressions."""

    def __init__(self, policy: Policy, floor: Sequence[Policy] = ()) -> None:
        self.policy = policy
        self.floor = tuple(floor)
        self.merchant = _compile_document(policy, "m")
        self.packs = [_compile_document(pack, f"p{i}",
                                        pl.col("country").is_in(sorted(pack.countries)),
                                        cash_only=True)
                      for i, pack in enumerate(self.floor)]

    def evaluate(self, prepared: pl.DataFrame, *, exact: Prepared | None = None) -> pl.DataFrame:
        """Decide every row of a ``prepare``d frame; one column per ``DECISION_COLUMNS``.

        Borderline rows are decided again by the scalar engine from the source rows in
        ``exact`` (pass the ``Prepared`` the frame came from); without it they are left as the
        float path computed them and ``_borderline`` tells which they are.
        """
        documents = [*self.packs, self.merchant]
        frame = prepared.lazy().with_columns(*(d.index for d in documents))
        frame = frame.with_columns(*(expression.alias(f"_{d.name}{key}")
                                     for d in documents
                                     for key, expression in d.intermediate.items()))
        frame = frame.with_columns(*(expression.alias(f"_{d.name}{key}")
                                     for d in documents for key, expression in d.columns.items()))
        # The best statutory refund (the first pack wins ties), then the floor.
        cashes = [pl.col(f"_{d.name}_cash") for d in self.packs]
        best_cash = pl.max_horizontal(cashes) if cashes else pl.lit(0, dtype=pl.Int64)
        frame = frame.with_columns(best_cash.alias("_best_cash"))
        best = _chain([((pl.col("_best_cash") > 0) & (pl.col(f"_{d.name}_cash")
                                                      == pl.col("_best_cash")),
                        pl.lit(i, dtype=pl.Int32)) for i, d in enumerate(self.packs)],
                      pl.lit(None, dtype=pl.Int32))
        frame = frame.with_columns(best.alias("_best"))
        below_floor = pl.col("_best").is_not_null() & (pl.col("_m_cash") < pl.col("_best_cash"))
        is_review = pl.col("_moutcome") == "review"
        floor_wins = below_floor & ~is_review
        pack_rule = _chain([(pl.col("_best") == i, _lookup(pl.col(f"_i{d.name}"), d.rule_ids,
                                                           pl.String()))
                            for i, d in enumerate(self.packs)], pl.lit(None, dtype=pl.String))
        pack_ref = _lookup(pl.col("_best"), {i: pack.ref for i, pack in enumerate(self.floor)},
                           pl.String())
        outputs: list[pl.Expr] = [
            pl.when(floor_wins).then(pl.lit("refund")).otherwise(pl.col("_moutcome"))
            .alias("outcome"),
            pl.when(floor_wins).then(pack_rule).otherwise(
                _lookup(pl.col("_im"), self.merchant.rule_ids, pl.String())).alias("rule"),
            pl.when(floor_wins).then(pack_ref).otherwise(pl.lit(self.policy.ref))
            .alias("decided_by"),
            pl.when(floor_wins).then(pl.col("_best_cash")).otherwise(pl.col("_mamount"))
            .alias("amount"),
        ]
        for column in ("reason", "to", "due_by", "retry_after", "extension_days", "bonus_days"):
            outputs.append(pl.when(floor_wins).then(None).otherwise(pl.col(f"_m{column}"))
                           .alias(column))
        outputs.append(pl.when(below_floor & is_review).then(pl.col("_best_cash"))
                       .otherwise(pl.lit(None, dtype=pl.Int64)).alias("minimum_amount"))
        borderline = pl.any_horizontal([pl.col(f"_{d.name}_borderline") for d in documents])
        result = frame.select(pl.col(_ROW), *outputs, borderline.alias("_borderline")).collect()
        if exact is not None:
            result = self._recheck(result, exact)
        return result

    def _recheck(self, result: pl.DataFrame, exact: Prepared) -> pl.DataFrame:
        rows = result.filter(pl.col("_borderline"))[_ROW].to_list()
        if not rows:
            return result
        source = exact.source.filter(pl.col(_ROW).is_in(rows))
        fixes = [{_ROW: row[_ROW], **decision_row(decide(
            self.policy, parse_facts({k: v for k, v in row.items() if k in FACTS}),
            self.floor))} for row in _scalar_rows(source)]
        patch = pl.DataFrame(fixes, schema=result.drop("_borderline").schema)
        patch = patch.select(result.drop("_borderline").columns)
        return result.update(patch, on=_ROW, include_nulls=True).with_columns(
            pl.col(_ROW).is_in(rows).alias("_borderline"))


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


__all__ = ["DECISION_COLUMNS", "REASONS", "Prepared", "VectorPolicy", "decision_row",
           "derive_columns", "prepare"]
