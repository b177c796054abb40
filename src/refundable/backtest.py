"""Backtests: run a facts history through a policy (vector or scalar path) and summarise it.

A history is a CSV or Parquet file, one facts row per line, columns named as the facts
(docs/policies.md). Rows that fail validation are counted and reported, never decided.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from .policy import FactsError, Policy, decide, parse_facts
from .policy.facts import FACTS
from .policy.vector import DECISION_COLUMNS, VectorPolicy, _scalar_rows, decision_row, prepare

CHUNK_ROWS = 1_000_000
SCALAR_CHUNK_ROWS = 5_000
VECTOR_WORKERS = 2  # chunks decided at once (see run_vector)


DECISION_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.UInt32(), "outcome": pl.String(), "rule": pl.String(),
    "decided_by": pl.String(), "amount": pl.Int64(), "reason": pl.String(),
    "to": pl.String(), "due_by": pl.Datetime("us", "UTC"),
    "retry_after": pl.Datetime("us", "UTC"), "extension_days": pl.Int64(),
    "bonus_days": pl.Int64(), "minimum_amount": pl.Int64()}


class HistoryError(Exception):
    """The history file cannot be read; the message says why."""


def read_history(path: str | Path) -> pl.DataFrame:
    """Read a CSV (all columns as text; the facts parser types them) or Parquet history."""
    name = str(path)
    file = Path(path)
    if not file.is_file():
        raise HistoryError(f"{name}: no such file")
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            frame = pl.read_parquet(file)
        else:
            frame = pl.read_csv(file, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HistoryError(f"{name}: cannot read it as "
                           f"{'Parquet' if file.suffix.lower() in ('.parquet', '.pq') else 'CSV'}"
                           f": {first_line}") from None
    missing = [n for n, spec in FACTS.items() if spec.required and n not in frame.columns]
    if missing:
        raise HistoryError(f"{name}: missing column(s) {', '.join(missing)} (required facts)")
    return frame


@dataclass
class RowError:
    row: int  # 1-based data row (the header is not counted)
    field: str
    message: str


@dataclass
class Result:
    """Decisions for every valid row (``decisions``, with ``_row``) and the rejected rows."""

    decisions: pl.DataFrame
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    rechecked: int = 0  # borderline rows re-decided by the scalar engine


def _progress(total: int, label: str, enabled: bool | None) -> tqdm[Any]:
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=label, unit=" rows", unit_scale=True, disable=not show,
                file=sys.stderr, leave=False)


def _chunks(frame: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    for start in range(0, frame.height, size):
        yield frame.slice(start, size)


def run_vector(policy: Policy, floor: tuple[Policy, ...], history: pl.DataFrame, *,
               progress: bool | None = None) -> Result:
    """Decide every row with the compiled (Polars) evaluator, a chunk at a time.

    ``VECTOR_WORKERS`` chunks are decided at once: Polars spreads each query over the cores,
    but reading the date-times (NumPy) runs on one, so a second chunk keeps the other core
    busy meanwhile. Text fields of the decisions are Enum columns (see ``VectorPolicy``).
    """
    compiled = VectorPolicy(policy, floor)

    def decide_chunk(offset: int) -> tuple[int, pl.DataFrame, pl.DataFrame, int]:
        chunk = history.slice(offset, CHUNK_ROWS)
        prepared = prepare(chunk)
        decided = compiled.evaluate(prepared.frame, exact=prepared)
        rechecked = int(decided["_borderline"].sum())
        # Lazy: an eager operation would copy every column of the chunk into one piece.
        decided = decided.lazy().drop("_borderline").with_columns(
            pl.col("_row") + offset).collect()
        return chunk.height, decided, prepared.errors, rechecked

    parts: list[pl.DataFrame] = []
    errors: list[RowError] = []
    rechecked = 0
    offsets = range(0, history.height, CHUNK_ROWS)
    with _progress(history.height, f"backtest {policy.ref}", progress) as bar, \
            ThreadPoolExecutor(max_workers=VECTOR_WORKERS) as pool:
        for offset, (height, decided, chunk_errors, flagged) in zip(
                offsets, pool.map(decide_chunk, offsets), strict=True):
            rechecked += flagged
            parts.append(decided)
            errors.extend(RowError(int(r["_row"]) + offset + 1, r["field"], r["message"])
                          for r in chunk_errors.iter_rows(named=True))
            bar.update(height)
    decisions = pl.concat(parts) if parts else pl.DataFrame(schema=DECISION_SCHEMA)
    return Result(decisions, errors, history.height, rechecked)


def run_scalar(policy: Policy, floor: tuple[Policy, ...], history: pl.DataFrame, *,
               progress: bool | None = None) -> Result:
    """Decide every row with the scalar engine, one ``parse_facts`` + ``decide`` per row."""
    rows: list[dict[str, Any]] = []
    errors: list[RowError] = []
    known = set(FACTS)
    with _progress(history.height, f"backtest {policy.ref} (scalar)", progress) as bar:
        number = 0
        for chunk in _chunks(history, SCALAR_CHUNK_ROWS):
            for raw in _scalar_rows(chunk):
                number += 1
                try:
                    facts = parse_facts({k: v for k, v in raw.items() if k in known})
                except FactsError as exc:
                    errors.append(RowError(number, exc.field, exc.message))
                    continue
                rows.append({"_row": number - 1, **decision_row(decide(policy, facts, floor))})
            bar.update(chunk.height)
    schema = DECISION_SCHEMA
    return Result(pl.DataFrame(rows, schema=schema, orient="row") if rows
                  else pl.DataFrame(schema=schema), errors, history.height)


def summarise(result: Result, policy: Policy, currency_of: pl.Series | None = None) \
        -> dict[str, Any]:
    """``{"outcomes": {...}, "rules": {...}, "rows": N, "decided": N, "invalid": N}``.

    Rules are keyed by id, statutory ones as ``pack-id:rule-id``. Money (``amount``) is the
    sum of decision amounts in minor units: refunds, credits and fees as decided, offers by
    their refund choice. ``amounts`` splits it by currency.
    """
    frame = result.decisions
    keys = ["outcome", "rule", "decided_by"]
    if currency_of is not None and frame.height:
        currency = currency_of.cast(pl.String).gather(frame["_row"]).alias("_currency")
    else:
        currency = pl.repeat("", frame.height, dtype=pl.String, eager=True).alias("_currency")
    # One lazy pass over the decisions (eager operations copy the chunks of a large frame
    # into one); the two tables are built from its few groups.
    grouped = frame.lazy().select(*keys, "amount").with_columns(currency).group_by(
        *keys, "_currency").agg(pl.len().alias("count"),
                                pl.col("amount").fill_null(0).sum().alias("amount")).collect()
    outcomes: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    for row in grouped.iter_rows(named=True):
        if row["rule"] is None:
            rule_key = "(no rule matched)"
        elif row["decided_by"] == policy.ref:
            rule_key = row["rule"]
        else:
            rule_key = f"{row['decided_by'].split('@')[0]}:{row['rule']}"
        for table, key in ((outcomes, row["outcome"]), (rules, rule_key)):
            entry = table.setdefault(key, {"count": 0, "amount": 0, "amounts": {}})
            entry["count"] += row["count"]
            entry["amount"] += row["amount"]
            if row["_currency"]:
                entry["amounts"][row["_currency"]] = \
                    entry["amounts"].get(row["_currency"], 0) + row["amount"]
    return {
        "policy": policy.ref,
        "rows": result.rows,
        "decided": result.decisions.height,
        "invalid": len(result.errors),
        "rechecked_exactly": result.rechecked,
        "outcomes": _by_count(outcomes),
        "rules": _by_count(rules),
        "errors": [{"row": e.row, "field": e.field, "message": e.message}
                   for e in result.errors[:20]],
    }


def _by_count(table: dict[str, Any]) -> dict[str, Any]:
    """Largest count first, then by name; currencies in alphabetical order."""
    for entry in table.values():
        entry["amounts"] = dict(sorted(entry["amounts"].items()))
    return dict(sorted(table.items(), key=lambda item: (-item[1]["count"], item[0])))


def compare(baseline: Result, candidate: Result, currency_of: pl.Series | None = None) \
        -> dict[str, Any]:
    """What changes from ``baseline`` (``--against``) to ``candidate`` (``--policy``).

    ``refunded_*`` add minor units across currencies (meaningful for one currency);
    ``refunded_by_currency`` keeps them apart.
    """
    joined = baseline.decisions.select("_row", *DECISION_COLUMNS).join(
        candidate.decisions.select("_row", *DECISION_COLUMNS), on="_row", suffix="_new")
    joined = joined.with_columns(
        currency_of.gather(joined["_row"]).alias("_currency") if currency_of is not None
        and joined.height else pl.lit("").alias("_currency"))
    by_currency: dict[str, dict[str, int]] = {}
    if joined.height:
        sums = joined.group_by("_currency").agg(
            pl.col("amount").filter(pl.col("outcome") == "refund").sum().alias("before"),
            pl.col("amount_new").filter(pl.col("outcome_new") == "refund").sum().alias("after"))
        for row in sums.sort("_currency").iter_rows(named=True):
            before, after = int(row["before"] or 0), int(row["after"] or 0)
            by_currency[row["_currency"] or "?"] = {"before": before, "after": after,
                                                    "delta": after - before}
    moved = joined.filter((pl.col("outcome") != pl.col("outcome_new"))
                          | (pl.col("amount").fill_null(0) != pl.col("amount_new").fill_null(0)))
    refund_before = int(joined.filter(pl.col("outcome") == "refund")["amount"].sum() or 0)
    refund_after = int(joined.filter(pl.col("outcome_new") == "refund")["amount_new"].sum() or 0)
    transitions = moved.group_by("outcome", "outcome_new").agg(
        pl.len().alias("count"),
        (pl.col("amount_new").fill_null(0) - pl.col("amount").fill_null(0)).sum()
        .alias("amount_delta")).sort("count", descending=True)
    return {
        "decisions_compared": joined.height,
        "decisions_changed": moved.height,
        "refunded_before": refund_before,
        "refunded_after": refund_after,
        "refunded_delta": refund_after - refund_before,
        "refunded_by_currency": by_currency,
        "transitions": [{"from": r["outcome"], "to": r["outcome_new"], "count": r["count"],
                         "amount_delta": r["amount_delta"]}
                        for r in transitions.iter_rows(named=True)],
    }
