"""``make demo``: what the engine does today, on the bundled examples.

Checks the example policies, decides every example listed in examples/README.md (with the
statutory floor), then backtests the example history with each policy and compares the IPTV
policy with a 7-day variant. Until the web application exists, this is the main job.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from .cli import main as refundable

ROOT = Path(__file__).resolve().parents[2]
_EXAMPLE = re.compile(r"^- (\S+) (\S+): (.+)$")


def examples(readme: Path) -> list[tuple[str, str, str]]:
    """(policy path, facts path, description) for each example listed in the README."""
    found = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = _EXAMPLE.match(line)
        if match:
            found.append((match.group(1), match.group(2), match.group(3)))
    return found


def banner(text: str) -> None:
    print()
    print("=" * 100)
    print(text)
    print("=" * 100)


def run() -> int:
    policies = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "policies").glob("*.toml"))
    banner("refundable check policies/*.toml")
    status = refundable(["check", *[str(ROOT / p) for p in policies]])
    for policy, facts, description in examples(ROOT / "examples" / "README.md"):
        banner(f"refundable decide --policy {policy} --facts {facts}\n  ({description})")
        status |= refundable(["decide", "--policy", str(ROOT / policy),
                              "--facts", str(ROOT / facts)])
    history = ROOT / "examples" / "history.csv"
    for policy in policies:
        banner(f"refundable backtest --policy {policy} --history examples/history.csv")
        status |= refundable(["backtest", "--policy", str(ROOT / policy),
                              "--history", str(history)])
    iptv = ROOT / "policies" / "iptv-72-hours.toml"
    with tempfile.TemporaryDirectory() as folder:
        variant = Path(folder) / "iptv-7-days.toml"
        text = iptv.read_text(encoding="utf-8")
        text = text.replace('id = "iptv-72-hours"', 'id = "iptv-7-days"', 1)
        text = text.replace("when.hours_since_purchase = { max = 72 }",
                            "when.hours_since_purchase = { max = 168 }")
        variant.write_text(text, encoding="utf-8")
        banner("What if the IPTV full-refund window were 7 days instead of 72 hours?\n"
               "refundable backtest --policy iptv-7-days.toml --against policies/iptv-72-hours.toml"
               " --history examples/history.csv")
        status |= refundable(["backtest", "--policy", str(variant), "--against", str(iptv),
                              "--history", str(history)])
    print()
    print("Try it yourself: .venv/bin/refundable --help  (docs/policies.md explains the format)")
    return status


if __name__ == "__main__":
    sys.exit(run())
