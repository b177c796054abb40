"""Whole command against whole command: ``backtest --engine vector`` vs ``--engine scalar``.

Builds bench/out/history-5m.parquet and bench/out/history-50k.parquet (the first 50 k rows of the
same generated history), then for each example policy runs, as subprocesses timed on the wall
clock from start to exit (interpreter start, imports, reading the file, the summary and the JSON
output included):

    .venv/bin/refundable backtest --policy P --history history-5m.parquet  --engine vector \
        --json --no-progress
    .venv/bin/refundable backtest --policy P --history history-50k.parquet --engine scalar \
        --json --no-progress

and reports the time per row of each and their ratio (median of ``--repeat`` runs, 3).

Target (issue): ``backtest --engine vector`` on 5 M rows at least 30 times faster per row than
``--engine scalar`` on 50 k rows of the same history.

    .venv/bin/python bench/commands.py [--vector-rows 5m] [--scalar-rows 50k] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    POLICIES,
    ROOT,
    format_machine,
    history_path,
    log,
    machine,
    median,
    parse_rows,
    rows_label,
    table,
)

TARGET_RATIO = 30.0
COMMAND = ROOT / ".venv" / "bin" / "refundable"


def _command() -> list[str]:
    if COMMAND.is_file():
        return [str(COMMAND)]
    return [sys.executable, "-m", "refundable"]


def run_backtest(policy: Path, history: Path, engine: str) -> dict[str, Any]:
    """One ``refundable backtest`` run: wall-clock seconds and its JSON summary."""
    argv = [*_command(), "backtest", "--policy", str(policy), "--history", str(history),
            "--engine", engine, "--json", "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr}")
    summary = json.loads(done.stdout)
    return {"wall_s": wall, "cpu_s": cpu, "internal_s": summary.get("seconds"),
            "rows": summary["rows"],
            "decided": summary["decided"], "invalid": summary["invalid"],
            "rechecked": summary.get("rechecked_exactly"),
            "outcomes": {k: v["count"] for k, v in summary["outcomes"].items()}}


def startup_s(repeat: int = 3) -> float:
    """Wall clock of a command that does almost nothing (``check`` of one policy)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([*_command(), "check", str(POLICIES[0])], capture_output=True,
                       check=True, cwd=ROOT)
        runs.append(time.perf_counter() - started)
    return median(runs)


def run(vector_rows: int = 5_000_000, scalar_rows: int = 50_000,
        repeat: int = 3) -> dict[str, Any]:
    big = history_path(vector_rows)
    small = history_path(scalar_rows, head_of=big)  # the first rows of the same history
    start = startup_s()
    log(f"commands: `refundable check` (start-up, imports) takes {start:.2f} s")
    results = []
    for policy in POLICIES:
        vector_runs = []
        scalar_runs = []
        for attempt in range(repeat):
            vector_runs.append(run_backtest(policy, big, "vector"))
            scalar_runs.append(run_backtest(policy, small, "scalar"))
            log(f"commands: {policy.stem} run {attempt + 1}/{repeat}: vector "
                f"{rows_label(vector_rows)} {vector_runs[-1]['wall_s']:.2f} s, scalar "
                f"{rows_label(scalar_rows)} {scalar_runs[-1]['wall_s']:.2f} s")
        vector_s = median([r["wall_s"] for r in vector_runs])
        scalar_s = median([r["wall_s"] for r in scalar_runs])
        vector_per_row = vector_s / vector_rows
        scalar_per_row = scalar_s / scalar_rows
        ratio = scalar_per_row / vector_per_row
        results.append({
            "policy": policy.stem,
            "vector_wall_s": vector_s, "vector_runs_s": [r["wall_s"] for r in vector_runs],
            "vector_internal_s": median([r["internal_s"] for r in vector_runs]),
            "vector_us_per_row": vector_per_row * 1e6,
            "vector_cpu_s": median([r["cpu_s"] for r in vector_runs]),
            "vector_rechecked": vector_runs[-1]["rechecked"],
            "vector_invalid": vector_runs[-1]["invalid"],
            "scalar_wall_s": scalar_s, "scalar_runs_s": [r["wall_s"] for r in scalar_runs],
            "scalar_internal_s": median([r["internal_s"] for r in scalar_runs]),
            "scalar_us_per_row": scalar_per_row * 1e6,
            "scalar_cpu_s": median([r["cpu_s"] for r in scalar_runs]),
            "ratio": ratio,
            "ratio_runs": [(s["wall_s"] / scalar_rows) / (v["wall_s"] / vector_rows)
                           for v, s in zip(vector_runs, scalar_runs, strict=True)],
            "cpu_ratio": (median([r["cpu_s"] for r in scalar_runs]) / scalar_rows)
            / (median([r["cpu_s"] for r in vector_runs]) / vector_rows),
            "target_ratio": TARGET_RATIO, "target_met": ratio >= TARGET_RATIO,
        })
    return {"load_after": [round(x, 2) for x in os.getloadavg()],
            "vector_rows": vector_rows, "scalar_rows": scalar_rows, "repeat": repeat,
            "vector_history": big.name, "scalar_history": small.name, "startup_s": start,
            "command": " ".join(_command()), "policies": results}


def _spread(runs: list[float]) -> str:
    """The fastest and the slowest of several runs (the machine is shared: noise shows here)."""
    return f"{min(runs):.2f}–{max(runs):.2f}"


def render(result: dict[str, Any]) -> str:
    vector_rows, scalar_rows = result["vector_rows"], result["scalar_rows"]
    lines = [f"Whole command against whole command (wall clock, median of {result['repeat']}; "
             f"statutory floor on): `backtest --engine vector` on {vector_rows:,} rows "
             f"({result['vector_history']}) vs `--engine scalar` on {scalar_rows:,} rows "
             f"({result['scalar_history']}, its first rows). Start-up of the command alone "
             f"(`refundable check`): {result['startup_s']:.2f} s.", ""]
    rows = []
    for entry in result["policies"]:
        ratios = entry["ratio_runs"]
        rows.append([entry["policy"], f"{entry['vector_wall_s']:.2f}",
                     _spread(entry["vector_runs_s"]),
                     f"{entry['vector_internal_s']:.2f}", f"{entry['vector_cpu_s']:.2f}",
                     f"{entry['vector_us_per_row']:.2f}",
                     f"{entry['scalar_wall_s']:.2f}", _spread(entry["scalar_runs_s"]),
                     f"{entry['scalar_internal_s']:.2f}",
                     f"{entry['scalar_cpu_s']:.2f}", f"{entry['scalar_us_per_row']:.1f}",
                     f"{entry['ratio']:.1f}×", f"{min(ratios):.0f}–{max(ratios):.0f}×",
                     "met" if entry["target_met"] else "MISSED",
                     f"{entry['cpu_ratio']:.1f}×"])
    lines.append(table(["policy", "vector s", "runs", "(inside)", "cpu s", "µs/row", "scalar s",
                        "runs", "(inside)", "cpu s", "µs/row", "ratio", "per pair", "≥ 30×",
                        "cpu ratio"], rows, "lrrrrrrrrrrrrlr"))
    lines.append("")
    lines.append(f"Load average at the end: {' '.join(str(x) for x in result['load_after'])}.")
    lines.append("runs = the fastest and the slowest run; per pair = the ratio of each vector "
                 "run to the scalar run made right after it, lowest and highest.")
    lines.append("(inside) = the `seconds` the command reports itself (reading the history to "
                 "the summary, without interpreter start-up and imports); cpu s = CPU seconds "
                 "of the child process, all threads; ratio = scalar wall time per row / vector "
                 "wall time per row (the target's measure); cpu ratio = the same with CPU time, "
                 "less sensitive to other work on the machine.")
    rechecked = ", ".join(f"{e['policy']} {e['vector_rechecked']:,}" for e in result["policies"])
    lines.append(f"Rows re-checked exactly by the vector command: {rechecked}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vector-rows", default="5m", help="rows for --engine vector (5m)")
    parser.add_argument("--scalar-rows", default="50k", help="rows for --engine scalar (50k)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (3)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    result = {"machine": machine(),
              "commands": run(parse_rows(args.vector_rows), parse_rows(args.scalar_rows),
                              args.repeat)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_machine(result["machine"]))
        print()
        print(render(result["commands"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
