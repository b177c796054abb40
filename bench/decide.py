"""Single-decision latency of the scalar engine, per example policy, with the statutory floor.

For each policy in policies/*.toml, on a set of representative raw facts (generated history
rows, as a JSON request would carry them), times one call at a time with
``time.perf_counter_ns`` over many rounds after a warm-up, and prints the median, p90 and p99
per call of:

- ``decide``: ``decide(policy, facts, floor)`` on already-parsed facts (the engine alone);
- ``parse+decide``: ``parse_facts(raw)`` then ``decide`` (validation and derived facts included);
- ``decide+to_dict``: ``decide`` then ``decision.to_dict()`` (JSON contract, with the rendered
  explanation and the messages in both languages).

Target (DESIGN.md, "Quality bars"; issue): median single decision ≤ 20 µs in-process for each
example policy with the floor.

    .venv/bin/python bench/decide.py [--facts 200] [--rounds 50] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from common import POLICIES, SEED, format_machine, log, machine, summary_ns, table
from refundable.policy import Policy, decide, load_floor, load_policy, parse_facts
from refundable.synthetic import generate_history

TARGET_MEDIAN_US = 20.0


def raw_facts(count: int, seed: int = SEED) -> list[dict[str, Any]]:
    """Generated history rows as JSON facts: real booleans, a list of documents, no nulls."""
    facts = []
    for row in generate_history(count, seed=seed).to_dicts():
        clean: dict[str, Any] = {}
        for name, value in row.items():
            if value is None or value == "":
                continue
            if name == "documents":
                value = [d.strip() for d in str(value).split(";") if d.strip()]
            clean[name] = value
        facts.append(clean)
    return facts


def timer_overhead_ns(repeat: int = 200_000) -> float:
    """Median cost of two back-to-back perf_counter_ns calls (included in every sample)."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(repeat):
        start = clock()
        samples.append(clock() - start)
    samples.sort()
    return float(samples[len(samples) // 2])


def measure(call: Callable[[Any], object], inputs: list[Any], rounds: int,
            warmup: int = 2) -> list[int]:
    """Time ``call(x)`` once per input per round; returns every sample in nanoseconds."""
    for _ in range(warmup):
        for item in inputs:
            call(item)
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for _ in range(rounds):
        for item in inputs:
            start = clock()
            call(item)
            append(clock() - start)
    return samples


def bench_policy(policy: Policy, floor: tuple[Policy, ...], raws: list[dict[str, Any]],
                 rounds: int) -> dict[str, Any]:
    parsed = [parse_facts(raw) for raw in raws]
    decisions = [decide(policy, facts, floor) for facts in parsed]
    outcomes = Counter(d.outcome for d in decisions)
    floor_won = sum(d.floor_applied for d in decisions)
    trials = sum(len(d.trials) for d in decisions) / len(decisions)

    def engine(facts: dict[str, Any]) -> object:
        return decide(policy, facts, floor)

    def validated(raw: dict[str, Any]) -> object:
        return decide(policy, parse_facts(raw), floor)

    def rendered(facts: dict[str, Any]) -> object:
        return decide(policy, facts, floor).to_dict()

    def parse_only(raw: dict[str, Any]) -> object:
        return parse_facts(raw)

    measures = {}
    for name, call, inputs in (("decide", engine, parsed),
                               ("parse+decide", validated, raws),
                               ("decide+to_dict", rendered, parsed),
                               ("parse_facts alone", parse_only, raws)):
        measures[name] = summary_ns(measure(call, inputs, rounds))
    return {"policy": policy.ref, "facts": len(raws), "rounds": rounds,
            "outcomes": dict(outcomes.most_common()), "floor_decided": floor_won,
            "rules_tried_mean": round(trials, 1), "measures": measures,
            "target_median_us": TARGET_MEDIAN_US,
            "target_met": measures["decide"]["median_us"] <= TARGET_MEDIAN_US}


def run(facts: int = 200, rounds: int = 50, seed: int = SEED) -> dict[str, Any]:
    floor = load_floor()
    raws = raw_facts(facts, seed)
    log(f"decide: {len(raws)} facts × {rounds} rounds per measure, "
        f"{len(floor)} statutory packs in the floor")
    results = []
    # Keep the collector from landing in the middle of a timed call more than it would in use;
    # it stays enabled (a service runs with it), its pauses show up in p99.
    gc.collect()
    for path in POLICIES:
        policy = load_policy(path)
        log(f"decide: {policy.ref}")
        results.append(bench_policy(policy, floor, raws, rounds))
    return {"timer_overhead_ns": timer_overhead_ns(), "floor": [p.ref for p in floor],
            "policies": results}


def render(result: dict[str, Any]) -> str:
    lines = [f"Single decision, in-process, with the statutory floor "
             f"({', '.join(result['floor'])}); µs per call; perf_counter_ns overhead "
             f"≈ {result['timer_overhead_ns']:.0f} ns per sample, not subtracted.", ""]
    rows = []
    for entry in result["policies"]:
        for name, stats in entry["measures"].items():
            rows.append([entry["policy"], name, f"{stats['median_us']:.1f}",
                         f"{stats['p90_us']:.1f}", f"{stats['p99_us']:.1f}",
                         f"{stats['mean_us']:.1f}", f"{stats['samples']:,}"])
    lines.append(table(["policy", "measure", "median", "p90", "p99", "mean", "samples"], rows,
                       "llrrrrr"))
    lines.append("")
    for entry in result["policies"]:
        median = entry["measures"]["decide"]["median_us"]
        verdict = "met" if entry["target_met"] else "MISSED"
        outcomes = ", ".join(f"{k} {v}" for k, v in entry["outcomes"].items())
        lines.append(f"{entry['policy']}: decide median {median:.1f} µs vs target ≤ "
                     f"{entry['target_median_us']:.0f} µs — {verdict}  "
                     f"(sample: {outcomes}; floor decided {entry['floor_decided']}; "
                     f"{entry['rules_tried_mean']} rules tried on average)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=200, help="number of raw facts (200)")
    parser.add_argument("--rounds", type=int, default=50,
                        help="timed passes over all facts per measure (50)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)
    result = {"machine": machine(), "decide": run(args.facts, args.rounds, args.seed)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_machine(result["machine"]))
        print()
        print(render(result["decide"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
