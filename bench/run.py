"""Run every benchmark with its defaults and print the figures, the machine and the date.

    make bench                       # = .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --quick          # smaller sizes, one run each (a smoke test)
    .venv/bin/python bench/run.py --only decide,vector --json

The full run generates (once, cached under bench/out/) histories of 1 M, 5 M and 10 M rows and
takes about 3 minutes on the shared 2-core machine, plus about a minute and a half to generate
the histories the first time. The results are also written to
bench/out/results-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time

import commands
import decide
import vector
from common import OUT, format_machine, log, machine

PARTS = ("decide", "vector", "commands")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated subset of {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true",
                        help="200 k / 1 M rows and fewer runs: a smoke test, not the figures")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    started = time.perf_counter()
    results: dict[str, object] = {"machine": machine()}
    load: dict[str, list[float]] = {}  # 1-minute load average before and after each part
    if "decide" in chosen:
        load["decide"] = [os.getloadavg()[0]]
        results["decide"] = decide.run(rounds=10 if args.quick else 50)
        load["decide"].append(os.getloadavg()[0])
    if "vector" in chosen:
        load["vector"] = [os.getloadavg()[0]]
        results["vector"] = (vector.run([200_000], repeat=2, full_repeat=1, scalar_rows=5_000)
                             if args.quick else vector.run([1_000_000, 10_000_000]))
        load["vector"].append(os.getloadavg()[0])
    if "commands" in chosen:
        load["commands"] = [os.getloadavg()[0]]
        results["commands"] = (commands.run(1_000_000, 10_000, repeat=1) if args.quick
                               else commands.run())
        load["commands"].append(os.getloadavg()[0])
    results["load_average_1min"] = load
    results["total_s"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    saved = OUT / f"results-{stamp}{'-quick' if args.quick else ''}.json"
    saved.write_text(json.dumps(results, indent=2))
    log(f"results written to {saved}")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"Refundable benchmarks — {format_machine(results['machine'])}")  # type: ignore[arg-type]
    print("The machine is shared: other work may run at the same time; rerun to compare.")
    renderers = {"decide": decide.render, "vector": vector.render, "commands": commands.render}
    for part in PARTS:
        if part in results:
            print()
            print(f"== {part} " + "=" * (70 - len(part)))
            print(renderers[part](results[part]))  # type: ignore[arg-type]
            before, after = load[part]
            print(f"(1-minute load average {before:.2f} before, {after:.2f} after; "
                  f"2 cores)")
    print()
    print(f"total {results['total_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
