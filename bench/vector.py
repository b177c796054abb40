"""Throughput of the vectorised (Polars) evaluator on generated histories of 1 M and 10 M rows.

For each size: the history is generated once and cached as Parquet under bench/out/ (git-ignored),
read, and ``prepare``d (typing, validation, derived facts). Then, for each example policy with
the statutory floor:

- ``evaluate``: ``VectorPolicy(policy, floor).evaluate(prepared.frame)`` on rows already in
  memory and prepared — one warm-up, then the median of ``--repeat`` runs (5);
- ``prepare``: ``prepare(history)`` alone, median of ``--full-repeat`` runs (3);
- ``full path``: ``prepare`` + ``evaluate(..., exact=prepared)`` including the exact scalar
  re-check of borderline rows, as ``backtest --engine vector`` does it (median of
  ``--full-repeat``), with the number of rows re-checked;
- ``scalar``: ``backtest.run_scalar`` in-process on the first ``--scalar-rows`` rows (20 k) of
  the same history, for the vector/scalar per-row ratio.

Histories larger than ``--chunk-rows`` (1 M, as ``backtest`` does) are prepared and evaluated a
chunk at a time, the times summed; ``--chunk-rows 0`` evaluates them in one frame.

Target (issue): the vector path ≥ 5 million decisions per second in-process on 1 M rows already
in memory on this 2-core machine.

    .venv/bin/python bench/vector.py [--rows 1m,10m] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any

import polars as pl

from common import (
    POLICIES,
    format_machine,
    history_path,
    log,
    machine,
    median,
    parse_rows,
    peak_rss_mb,
    rows_label,
    table,
)
from refundable.backtest import read_history, run_scalar
from refundable.policy import Policy, load_floor, load_policy
from refundable.policy.vector import Prepared, VectorPolicy, prepare

TARGET_ROWS_PER_SECOND = 5_000_000
TARGET_ROWS = 1_000_000
CHUNK_ROWS = 1_000_000


def _chunks(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    if size <= 0 or frame.height <= size:
        return [frame]
    return [frame.slice(start, size) for start in range(0, frame.height, size)]


def _timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _timed_cpu(action: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (all threads of this process) of ``action()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def _prepare_all(chunks: list[pl.DataFrame]) -> list[Prepared]:
    return [prepare(chunk) for chunk in chunks]


def _evaluate_all(compiled: VectorPolicy, prepared: list[Prepared]) -> int:
    """Evaluate every chunk (no exact re-check); the number of borderline rows flagged."""
    flagged = 0
    for part in prepared:
        result = compiled.evaluate(part.frame)
        flagged += int(result["_borderline"].sum())
    return flagged


def _full_path(compiled: VectorPolicy, chunks: list[pl.DataFrame]) -> int:
    """prepare + evaluate with the exact re-check, chunk by chunk; rows re-checked."""
    rechecked = 0
    for chunk in chunks:
        prepared = prepare(chunk)
        result = compiled.evaluate(prepared.frame, exact=prepared)
        rechecked += int(result["_borderline"].sum())
    return rechecked


def bench_size(rows: int, policies: list[Policy], floor: tuple[Policy, ...], repeat: int,
               full_repeat: int, chunk_rows: int, scalar_rows: int) -> dict[str, Any]:
    path = history_path(rows)
    read_s, history = _timed(lambda: read_history(path))
    chunks = _chunks(history, chunk_rows)
    log(f"vector {rows_label(rows)}: read {path.name} in {read_s:.2f} s; "
        f"{len(chunks)} chunk(s) of ≤ {chunks[0].height:,} rows")
    first_s, prepared = _timed(lambda: _prepare_all(chunks))
    valid = sum(p.frame.height for p in prepared)
    invalid = sum(p.errors.height for p in prepared)
    prepare_runs = [first_s]
    for _ in range(max(0, full_repeat - 1)):
        prepare_runs.append(_timed(lambda: _prepare_all(chunks))[0])
        gc.collect()
    prepare_s = median(prepare_runs)
    log(f"vector {rows_label(rows)}: prepare median {prepare_s:.2f} s "
        f"({rows / prepare_s / 1e6:.2f} M rows/s), {valid:,} valid, {invalid:,} invalid")
    scalar_frame = history.head(scalar_rows) if scalar_rows else None
    results = []
    for policy in policies:
        compile_s, compiled = _timed(lambda policy=policy: VectorPolicy(policy, floor))
        _evaluate_all(compiled, prepared)  # warm-up
        runs, cpu_runs = [], []
        flagged = 0
        for _ in range(repeat):
            elapsed, cpu, flagged = _timed_cpu(
                lambda compiled=compiled: _evaluate_all(compiled, prepared))
            runs.append(elapsed)
            cpu_runs.append(cpu)
        evaluate_s = median(runs)
        full_runs, full_cpu_runs = [], []
        rechecked = 0
        for _ in range(full_repeat):
            elapsed, cpu, rechecked = _timed_cpu(
                lambda compiled=compiled: _full_path(compiled, chunks))
            full_runs.append(elapsed)
            full_cpu_runs.append(cpu)
            gc.collect()
        full_s = median(full_runs)
        entry: dict[str, Any] = {
            "policy": policy.ref, "compile_s": compile_s,
            "evaluate_s": evaluate_s, "evaluate_runs_s": runs,
            "evaluate_cpu_s": median(cpu_runs),
            "evaluate_rows_per_s": rows / evaluate_s,
            "borderline_flagged": flagged,
            "full_path_s": full_s, "full_path_runs_s": full_runs,
            "full_path_cpu_s": median(full_cpu_runs),
            "full_path_rows_per_s": rows / full_s, "rechecked_exactly": rechecked,
        }
        if scalar_frame is not None:
            scalar_s, _ = _timed(
                lambda policy=policy: run_scalar(policy, floor, scalar_frame, progress=False))
            per_row_scalar = scalar_s / scalar_frame.height
            entry.update({
                "scalar_rows": scalar_frame.height, "scalar_s": scalar_s,
                "scalar_rows_per_s": scalar_frame.height / scalar_s,
                "ratio_full_path": per_row_scalar / (full_s / rows),
                "ratio_evaluate": per_row_scalar / (evaluate_s / rows),
            })
        if rows == TARGET_ROWS:
            entry["target_rows_per_s"] = TARGET_ROWS_PER_SECOND
            entry["target_met"] = entry["evaluate_rows_per_s"] >= TARGET_ROWS_PER_SECOND
        log(f"vector {rows_label(rows)}: {policy.ref}: evaluate {evaluate_s:.2f} s "
            f"({rows / evaluate_s / 1e6:.2f} M rows/s), full path {full_s:.2f} s, "
            f"{rechecked:,} re-checked")
        results.append(entry)
        gc.collect()
    return {"rows": rows, "history": str(path.name), "read_s": read_s,
            "chunks": max(1, -(-rows // chunk_rows)) if chunk_rows > 0 else 1,
            "chunk_rows": chunk_rows if chunk_rows > 0 and rows > chunk_rows else rows,
            "valid": valid, "invalid": invalid, "prepare_s": prepare_s,
            "prepare_runs_s": prepare_runs, "prepare_rows_per_s": rows / prepare_s,
            "policies": results, "peak_rss_mb": peak_rss_mb()}


def run(sizes: list[int] | None = None, repeat: int = 5, full_repeat: int = 3,
        chunk_rows: int = CHUNK_ROWS, scalar_rows: int = 20_000) -> dict[str, Any]:
    floor = load_floor()
    policies = [load_policy(path) for path in POLICIES]
    results = []
    for rows in sizes or [1_000_000, 10_000_000]:
        results.append(bench_size(rows, policies, floor, repeat, full_repeat, chunk_rows,
                                  scalar_rows))
    return {"repeat": repeat, "full_repeat": full_repeat, "floor": [p.ref for p in floor],
            "sizes": results, "load_after": [round(x, 2) for x in os.getloadavg()]}


def _rate(value: float) -> str:
    return f"{value / 1e6:.2f} M/s"


def _spread(runs: list[float], digits: int = 2) -> str:
    """The fastest and the slowest of several runs (the machine is shared: noise shows here)."""
    return f"{min(runs):.{digits}f}–{max(runs):.{digits}f}"


def render(result: dict[str, Any]) -> str:
    lines = [f"Vector path, in-process, with the statutory floor; evaluate = median of "
             f"{result['repeat']} runs after a warm-up, prepare and full path = median of "
             f"{result['full_repeat']}.", ""]
    for size in result["sizes"]:
        rows = size["rows"]
        chunking = (f"in {size['chunks']} chunks of {size['chunk_rows']:,} rows (as backtest "
                    f"does), times summed" if size["chunks"] > 1 else "as one frame")
        lines.append(f"{rows:,} rows ({size['history']}, {chunking}; {size['valid']:,} valid, "
                     f"{size['invalid']:,} invalid): read {size['read_s']:.2f} s, prepare "
                     f"{size['prepare_s']:.2f} s = {_rate(size['prepare_rows_per_s'])}; "
                     f"peak RSS {size['peak_rss_mb']:,.0f} MB")
        table_rows = []
        for entry in size["policies"]:
            row = [entry["policy"], f"{entry['evaluate_s']:.3f}",
                   _spread(entry["evaluate_runs_s"], 3),
                   f"{entry['evaluate_cpu_s']:.2f}", _rate(entry["evaluate_rows_per_s"]),
                   f"{entry['full_path_s']:.2f}", _spread(entry["full_path_runs_s"]),
                   f"{entry['full_path_cpu_s']:.2f}",
                   _rate(entry["full_path_rows_per_s"]), f"{entry['rechecked_exactly']:,}"]
            if "scalar_rows" in entry:
                row += [f"{entry['scalar_rows_per_s'] / 1e3:.1f} k/s",
                        f"{entry['ratio_full_path']:.0f}×", f"{entry['ratio_evaluate']:.0f}×"]
            else:
                row += ["-", "-", "-"]
            table_rows.append(row)
        lines.append(table(["policy", "evaluate s", "runs", "cpu s", "evaluate", "full path s",
                            "runs", "cpu s", "full path", "re-checked", "scalar", "ratio full",
                            "ratio eval"], table_rows, "lrrrrrrrrrrrr"))
        lines.append("")
        for entry in size["policies"]:
            if "target_met" in entry:
                verdict = "met" if entry["target_met"] else "MISSED"
                lines.append(f"{entry['policy']}: evaluate {_rate(entry['evaluate_rows_per_s'])}"
                             f" on 1 M prepared rows vs target ≥ 5.00 M/s — {verdict}")
        lines.append("")
    lines.append(f"Load average at the end: {' '.join(str(x) for x in result['load_after'])}.")
    lines.append("evaluate: VectorPolicy.evaluate on prepared rows in memory; runs: the fastest "
                 "and the slowest run; full path: prepare + "
                 "evaluate + exact re-check of borderline rows; scalar: run_scalar in-process "
                 "(rows → parse_facts → decide → decision_row); ratio = scalar time per row / "
                 "vector time per row (wall clock); cpu s = CPU seconds of all threads (2 cores: "
                 "up to twice the wall clock when Polars runs in parallel).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1m,10m",
                        help="comma-separated sizes, e.g. 1m,10m or 200k (default 1m,10m)")
    parser.add_argument("--repeat", type=int, default=5, help="timed evaluate runs (5)")
    parser.add_argument("--full-repeat", type=int, default=3,
                        help="timed prepare and full-path runs (3)")
    parser.add_argument("--chunk-rows", default="1m",
                        help="process larger histories in chunks of this size (1m; 0 = whole)")
    parser.add_argument("--scalar-rows", default="20k",
                        help="rows for the in-process scalar comparison (20k; 0 = skip)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    sizes = [parse_rows(s) for s in args.rows.split(",") if s.strip()]
    result = {"machine": machine(),
              "vector": run(sizes, args.repeat, args.full_repeat, parse_rows(args.chunk_rows),
                            parse_rows(args.scalar_rows))}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_machine(result["machine"]))
        print()
        print(render(result["vector"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
