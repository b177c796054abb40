"""The ``refundable`` command as people and scripts use it: ``decide``, ``check``, ``backtest``.

Each behaviour is checked through the real entry point, either in a child process
(``python -m refundable``: exit codes, stdout/stderr, no traceback) or in-process through
``refundable.cli.main`` with ``capsys``. Exit codes are a contract: 0 ok, 1 invalid input, 2
wrong usage.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from refundable.cli import main
from refundable.policy import load_policy
from refundable.synthetic import generate_history, write_history

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
ANNUAL = POLICIES / "annual-60-day-guarantee.toml"
IPTV = POLICIES / "iptv-72-hours.toml"
BILLING = POLICIES / "billing-desk.toml"
NBSP = "\u00a0"
ANNUAL_REF = load_policy(ANNUAL).ref  # id@version, as decisions and summaries name a policy
IPTV_REF = load_policy(IPTV).ref
BILLING_RULES = len(load_policy(BILLING).rules)

ANNUAL_FR: dict[str, Any] = {  # day 41 of an annual plan bought directly: full refund
    "plan_period": "year", "channel": "direct",
    "purchased_at": "2026-03-02T10:00:00+01:00", "period_end": "2027-03-02T10:00:00+01:00",
    "amount": 8999, "currency": "EUR", "country": "FR",
    "requested_at": "2026-04-12T15:30:00+02:00", "reason": "dissatisfied",
    "payment_method": "card",
}
ANNUAL_US = {**ANNUAL_FR, "country": "US", "currency": "USD"}


def run(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m refundable ARGS`` in a child process, as a script would run it."""
    return subprocess.run([sys.executable, "-m", "refundable", *map(str, args)],
                          capture_output=True, text=True, input=stdin, timeout=120,
                          cwd=ROOT, check=False)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


# -- decide ---------------------------------------------------------------------------------------

def test_decide_prints_a_readable_decision_in_the_customers_language(tmp_path: Path) -> None:
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    result = run("decide", "--policy", ANNUAL, "--facts", facts)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first = out.splitlines()[0]
    assert first.startswith("REFUND")
    assert f"89,99{NBSP}€" in first  # French money for a French customer
    assert "Remboursement intégral de 89,99" in out  # the rule's message, in French
    assert "money-back-60-days" in out
    assert ANNUAL_REF in out
    # the explanation: every rule tried, the matching one marked, with why
    assert f"✗ {ANNUAL_REF} monthly-not-refundable: plan_period is year, expected month" in out
    assert f"✓ {ANNUAL_REF} money-back-60-days" in out
    assert "days_since_purchase is 41" in out
    assert result.stderr == ""


def test_decide_in_english_for_an_english_speaking_customer(tmp_path: Path) -> None:
    facts = write_json(tmp_path / "facts.json", ANNUAL_US)
    result = run("decide", "--policy", ANNUAL, "--facts", facts)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("REFUND  $89.99")
    assert "Full refund of $89.99 under the 60-day money-back guarantee" in result.stdout


def test_decide_language_option_overrides_the_customers(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    assert main(["decide", "--policy", str(ANNUAL), "--facts", str(facts),
                 "--language", "en"]) == 0
    out = capsys.readouterr().out
    assert "€89.99" in out
    assert "Full refund of €89.99" in out


def test_decide_json_is_the_decision_contract(tmp_path: Path) -> None:
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    result = run("decide", "--policy", ANNUAL, "--facts", facts, "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "refund"
    assert decision["amount"] == 8999
    assert decision["currency"] == "EUR"
    assert decision["rule"] == "money-back-60-days"
    assert decision["policy"] == ANNUAL_REF
    assert "60 jours" in decision["message"]
    explanation = decision["explanation"]
    assert isinstance(explanation, list) and explanation
    assert all({"rule", "matched", "why"} <= set(entry) for entry in explanation)
    matched = [entry["rule"] for entry in explanation if entry["matched"]]
    assert matched[-1] == "money-back-60-days"


def test_decide_json_offer_and_facts_from_stdin() -> None:
    facts = (ROOT / "examples" / "facts" / "iptv-outage.json").read_text(encoding="utf-8")
    result = run("decide", "--policy", IPTV, "--facts", "-", "--json", stdin=facts)
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "offer"
    kinds = {choice["kind"]: choice for choice in decision["choices"]}
    assert kinds["refund"]["amount"] == json.loads(facts)["amount"]
    assert kinds["extension"]["days"] >= 1
    assert decision["default"] == "extension"


def test_decide_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = write_json(tmp_path / "facts.json", {**ANNUAL_FR, "plan_period": "month",
                                                 "period_end": "2026-04-02T10:00:00+02:00"})
    assert main(["decide", "--policy", str(ANNUAL), "--facts", str(facts), "--json"]) == 0
    captured = capsys.readouterr()
    decision = json.loads(captured.out)
    assert decision["outcome"] == "deny"
    assert decision["reason"] == "monthly_plans_not_refundable"
    assert "amount" not in decision
    assert captured.err == ""


# -- bad facts: exit 1, the field named, no traceback ----------------------------------------------

BAD_FACTS = [
    pytest.param({**ANNUAL_FR, "amount": -100}, "amount", "negative", id="negative-amount"),
    pytest.param({**ANNUAL_FR, "purchased_at": "2026-03-02T10:00:00"}, "purchased_at",
                 "no UTC offset", id="date-without-offset"),
    pytest.param({**ANNUAL_FR, "reason": "changed_my_mind"}, "reason", "unknown value",
                 id="unknown-reason"),
    pytest.param({k: v for k, v in ANNUAL_FR.items() if k != "currency"}, "currency",
                 "is required", id="missing-currency"),
    pytest.param({**ANNUAL_FR, "usage_fraction": 1.5}, "usage_fraction", "between 0 and 1",
                 id="usage-above-1"),
    pytest.param({**ANNUAL_FR, "requested_at": "2026-03-01T10:00:00+01:00"}, "requested_at",
                 "before purchased_at", id="request-before-purchase"),
    pytest.param({**ANNUAL_FR, "days_since_purchase": 3}, "days_since_purchase", "derived",
                 id="derived-fact-given"),
]


@pytest.mark.parametrize(("facts", "field", "message"), BAD_FACTS)
def test_bad_facts_name_the_field(tmp_path: Path, facts: dict[str, Any], field: str,
                                  message: str) -> None:
    path = write_json(tmp_path / "facts.json", facts)
    result = run("decide", "--policy", ANNUAL, "--facts", path)
    assert result.returncode == 1
    no_traceback(result)
    assert result.stdout == ""
    assert f"{field}: " in result.stderr
    assert message in result.stderr
    assert str(path) in result.stderr


@pytest.mark.parametrize(("facts", "field", "message"), BAD_FACTS)
def test_bad_facts_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              facts: dict[str, Any], field: str, message: str) -> None:
    path = write_json(tmp_path / "facts.json", facts)
    assert main(["decide", "--policy", str(ANNUAL), "--facts", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("refundable decide: ")
    assert f"{field}: " in captured.err and message in captured.err


@pytest.mark.parametrize(("content", "message"), [
    pytest.param('{"plan_period": "year",', "not valid JSON", id="not-json"),
    pytest.param('["year", 8999]', "must be a JSON object", id="not-an-object"),
    pytest.param("8999", "must be a JSON object", id="a-number"),
])
def test_facts_file_that_is_not_a_json_object(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "facts.json"
    path.write_text(content, encoding="utf-8")
    result = run("decide", "--policy", ANNUAL, "--facts", path)
    assert result.returncode == 1
    no_traceback(result)
    assert message in result.stderr
    assert str(path) in result.stderr


def test_missing_facts_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    result = run("decide", "--policy", ANNUAL, "--facts", missing)
    assert result.returncode == 1
    no_traceback(result)
    assert str(missing) in result.stderr
    assert "cannot read the facts file" in result.stderr


# -- bad policies: exit 1 with file:line [field] ---------------------------------------------------

BAD_POLICY = """\
id = "broken"
version = 1
title.en = "Broken"
title.fr = "Cassée"

[[rules]]
id = "refund-everything"
when.plan_period = "fortnight"
then = "refund"
message.en = "Refunded."
message.fr = "Remboursé."
"""


def test_bad_policy_names_file_line_and_field(tmp_path: Path) -> None:
    policy = tmp_path / "broken.toml"
    policy.write_text(BAD_POLICY, encoding="utf-8")
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    result = run("decide", "--policy", policy, "--facts", facts)
    assert result.returncode == 1
    no_traceback(result)
    assert result.stdout == ""
    assert f"{policy}:8 [rules[1].when.plan_period]" in result.stderr
    assert "'fortnight'" in result.stderr


def test_policy_that_is_not_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "broken.toml"
    policy.write_text('id = "x"\nversion = = 1\n', encoding="utf-8")
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    assert main(["decide", "--policy", str(policy), "--facts", str(facts)]) == 1
    err = capsys.readouterr().err
    assert f"{policy}:2" in err
    assert "not valid TOML" in err


def test_missing_policy_file(tmp_path: Path) -> None:
    facts = write_json(tmp_path / "facts.json", ANNUAL_FR)
    result = run("decide", "--policy", tmp_path / "nope.toml", "--facts", facts)
    assert result.returncode == 1
    no_traceback(result)
    assert "nope.toml" in result.stderr
    assert "cannot read" in result.stderr


# -- check ----------------------------------------------------------------------------------------

def test_check_valid_policies() -> None:
    result = run("check", ANNUAL, IPTV, BILLING)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(": ok" in line for line in lines)
    assert lines[0] == f"{ANNUAL}: ok — {ANNUAL_REF}, {len(load_policy(ANNUAL).rules)} rules"
    assert lines[2].endswith(f", {BILLING_RULES} rules")


def test_check_reports_every_invalid_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(BAD_POLICY.replace('then = "refund"', 'then = "refund_all"'),
                      encoding="utf-8")
    result = run("check", ANNUAL, broken)
    assert result.returncode == 1
    no_traceback(result)
    assert f"{ANNUAL}: ok" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line]
    assert f"{broken}:8 [rules[1].when.plan_period]" in result.stderr
    assert f"{broken}:9 [rules[1].then]" in result.stderr
    assert len(errors) == 2


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(BAD_POLICY, encoding="utf-8")
    assert main(["check", "--json", str(IPTV), str(broken)]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [entry["valid"] for entry in report] == [True, False]
    assert report[0]["policy"] == IPTV_REF
    assert report[0]["rules"] > 5
    (error,) = report[1]["errors"]
    assert error == {"path": str(broken), "line": 8, "field": "rules[1].when.plan_period",
                     "message": error["message"]}
    assert "fortnight" in error["message"]
    assert main(["check", "--json", str(IPTV)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["valid"] is True


def test_check_a_missing_file(tmp_path: Path) -> None:
    result = run("check", tmp_path / "missing.toml")
    assert result.returncode == 1
    no_traceback(result)
    assert "missing.toml" in result.stderr


# -- usage errors: exit 2 -------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    pytest.param([], id="no-command"),
    pytest.param(["refund-everything"], id="unknown-command"),
    pytest.param(["decide", "--policy", "p.toml"], id="missing-facts-option"),
    pytest.param(["decide", "--facts", "f.json", "--policy"], id="option-without-value"),
    pytest.param(["check"], id="check-without-files"),
    pytest.param(["backtest", "--policy", "p.toml", "--history", "h.csv", "--engine", "fast"],
                 id="unknown-engine"),
    pytest.param(["backtest", "--policy", "p.toml", "--history", "h.csv", "--colour"],
                 id="unknown-option"),
    pytest.param(["decide", "--policy", "p", "--facts", "f", "--language", "de"],
                 id="unsupported-language"),
])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "usage: refundable" in err


def test_usage_error_in_a_child_process() -> None:
    result = run("decide", "--policy", ANNUAL)
    assert result.returncode == 2
    no_traceback(result)
    assert "--facts" in result.stderr
    assert result.stdout == ""


def test_help_exits_0() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("decide", "check", "backtest"):
        assert command in result.stdout


# -- backtest -------------------------------------------------------------------------------------

ROWS = 400


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return generate_history(ROWS, seed=11)


@pytest.fixture(scope="module")
def histories(history: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) \
        -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("histories")
    return {"csv": write_history(history, folder / "history.csv"),
            "parquet": write_history(history, folder / "history.parquet")}


def backtest_json(*args: str | Path) -> dict[str, Any]:
    result = run("backtest", *args, "--json")
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in ("seconds", "engine")}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_backtest_json_summary(histories: dict[str, Path], kind: str) -> None:
    summary = backtest_json("--policy", IPTV, "--history", histories[kind])
    assert summary["policy"] == IPTV_REF
    assert summary["rows"] == ROWS
    assert summary["invalid"] == 0 and summary["errors"] == []
    assert summary["decided"] == ROWS
    outcomes, rules = summary["outcomes"], summary["rules"]
    assert sum(entry["count"] for entry in outcomes.values()) == summary["decided"]
    assert sum(entry["count"] for entry in rules.values()) == summary["decided"]
    assert set(outcomes) <= {"refund", "deny", "review", "troubleshoot_first", "offer",
                             "redirect", "credit", "fee"}
    for table in (outcomes, rules):
        for entry in table.values():
            assert isinstance(entry["count"], int) and entry["count"] > 0
            assert isinstance(entry["amount"], int) and entry["amount"] >= 0
            assert sum(entry["amounts"].values()) == entry["amount"]
    assert outcomes["refund"]["amount"] > 0
    assert outcomes["deny"]["amount"] == 0
    assert set(outcomes["refund"]["amounts"]) <= {"EUR", "GBP", "USD"}
    # money by rule adds up to money by outcome
    assert sum(entry["amount"] for entry in rules.values()) == \
        sum(entry["amount"] for entry in outcomes.values())
    assert any(key.startswith("statutory-") for key in rules)  # the floor at work
    assert "full-refund-within-72-hours" in rules


def test_csv_and_parquet_give_the_same_summary(histories: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    summaries = []
    for kind in ("csv", "parquet"):
        assert main(["backtest", "--policy", str(ANNUAL), "--history", str(histories[kind]),
                     "--json"]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
    assert summaries[0]["outcomes"] == summaries[1]["outcomes"]
    assert summaries[0]["rules"] == summaries[1]["rules"]


@pytest.mark.parametrize("policy", [IPTV, ANNUAL, BILLING])
def test_scalar_and_vector_backtests_agree(histories: dict[str, Path], policy: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    summaries = {}
    for engine in ("scalar", "vector"):
        assert main(["backtest", "--policy", str(policy), "--history", str(histories["csv"]),
                     "--engine", engine, "--json"]) == 0
        summaries[engine] = json.loads(capsys.readouterr().out)
        assert summaries[engine]["engine"] == engine
    assert summaries["scalar"]["outcomes"] == summaries["vector"]["outcomes"]
    assert summaries["scalar"]["rules"] == summaries["vector"]["rules"]
    assert summaries["scalar"]["decided"] == summaries["vector"]["decided"] == ROWS


def test_backtest_readable_output(histories: dict[str, Path]) -> None:
    result = run("backtest", "--policy", IPTV, "--history", histories["csv"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{IPTV_REF} on {histories['csv']}: {ROWS} rows, {ROWS} decided, 0 invalid" in out
    assert "by outcome" in out and "by rule" in out
    refund = next(line for line in out.splitlines() if line.strip().startswith("refund "))
    assert re.search(r"\d+\.\d %", refund)  # a share
    assert "€" in refund  # money, by currency
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def modified_iptv(tmp_path: Path) -> Path:
    """The IPTV policy with its full-refund window at 96 hours instead of 72 (next version)."""
    text = IPTV.read_text(encoding="utf-8")
    assert text.count("when.hours_since_purchase = { max = 72 }") == 1
    text = text.replace("when.hours_since_purchase = { max = 72 }",
                        "when.hours_since_purchase = { max = 96 }")
    version = load_policy(IPTV).version
    text = text.replace(f"version = {version}", f"version = {version + 1}", 1)
    path = tmp_path / "iptv-96-hours.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_backtest_against_shows_what_changes(histories: dict[str, Path], tmp_path: Path) -> None:
    candidate = modified_iptv(tmp_path)
    summary = backtest_json("--policy", candidate, "--against", IPTV,
                            "--history", histories["csv"])
    assert summary["policy"] == load_policy(candidate).ref
    against = summary["against"]
    assert against["policy"] == IPTV_REF
    assert against["decisions_compared"] == ROWS
    changed = against["decisions_changed"]
    assert changed > 0
    assert sum(move["count"] for move in against["transitions"]) == changed
    # a longer full-refund window only ever turns decisions into (larger) refunds
    assert {move["to"] for move in against["transitions"]} == {"refund"}
    assert against["refunded_after"] > against["refunded_before"]
    assert against["refunded_delta"] == against["refunded_after"] - against["refunded_before"]
    by_currency = against["refunded_by_currency"]
    assert sum(money["delta"] for money in by_currency.values()) == against["refunded_delta"]
    rules = summary["rules"]
    baseline = backtest_json("--policy", IPTV, "--history", histories["csv"])["rules"]
    moved = rules["full-refund-within-72-hours"]["count"] - \
        baseline["full-refund-within-72-hours"]["count"]
    assert 0 < moved <= changed


def test_backtest_against_readable_and_identical_policies(histories: dict[str, Path],
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) \
        -> None:
    candidate = modified_iptv(tmp_path)
    assert main(["backtest", "--policy", str(candidate), "--against", str(IPTV),
                 "--history", str(histories["parquet"])]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("against "))
    assert re.fullmatch(rf"against {IPTV_REF}: \d+ of {ROWS} decisions change", line)
    assert "→ refund" in out
    assert main(["backtest", "--policy", str(IPTV), "--against", str(IPTV),
                 "--history", str(histories["parquet"]), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)["against"]
    assert same["decisions_changed"] == 0
    assert same["transitions"] == []
    assert same["refunded_delta"] == 0


def test_backtest_reports_invalid_rows_and_decides_the_others(
        history: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = history.with_columns(pl.col("amount").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("fortnight"))
        .otherwise(pl.col("plan_period")).alias("plan_period"),
        pl.when(pl.int_range(pl.len()) == 4).then(pl.col("purchased_at").str.slice(0, 19))
        .otherwise(pl.col("purchased_at")).alias("purchased_at"),
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("-100"))
        .otherwise(pl.col("amount")).alias("amount"))
    path = write_history(frame, tmp_path / "with-errors.csv")
    expected = [(3, "plan_period"), (5, "purchased_at"), (8, "amount")]
    for engine in ("vector", "scalar"):
        assert main(["backtest", "--policy", str(ANNUAL), "--history", str(path),
                     "--engine", engine, "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["rows"] == ROWS
        assert summary["invalid"] == 3
        assert summary["decided"] == ROWS - 3
        assert sum(entry["count"] for entry in summary["outcomes"].values()) == ROWS - 3
        assert [(e["row"], e["field"]) for e in summary["errors"]] == expected, engine
    result = run("backtest", "--policy", ANNUAL, "--history", path)
    assert result.returncode == 0, result.stderr
    assert f"{ROWS} rows, {ROWS - 3} decided, 3 invalid" in result.stdout
    assert "row 3: plan_period:" in result.stdout
    assert "row 5: purchased_at: has no UTC offset" in result.stdout
    assert "row 8: amount:" in result.stdout


def test_backtest_history_missing_a_required_column(history: pl.DataFrame,
                                                    tmp_path: Path) -> None:
    path = write_history(history.drop("amount"), tmp_path / "no-amount.csv")
    result = run("backtest", "--policy", IPTV, "--history", path)
    assert result.returncode == 1
    no_traceback(result)
    assert result.stdout == ""
    assert str(path) in result.stderr
    assert "missing column(s) amount" in result.stderr


@pytest.mark.parametrize("problem", ["missing", "not-a-history", "derived-column"])
def test_backtest_unreadable_histories(history: pl.DataFrame, tmp_path: Path, problem: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.parquet"
    if problem == "not-a-history":
        path.write_text("plan_period,amount\nyear,1\n", encoding="utf-8")
    elif problem == "derived-column":
        path = write_history(history.with_columns(pl.lit(3).alias("days_since_purchase")), path)
    assert main(["backtest", "--policy", str(IPTV), "--history", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(path) in captured.err
    if problem == "derived-column":
        assert "days_since_purchase" in captured.err


def test_backtest_bad_policy(histories: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(BAD_POLICY, encoding="utf-8")
    result = run("backtest", "--policy", IPTV, "--against", broken,
                 "--history", histories["csv"])
    assert result.returncode == 1
    no_traceback(result)
    assert f"{broken}:8 [rules[1].when.plan_period]" in result.stderr


def _backtest_in_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run a backtest with stderr on a pseudo-terminal; return the exit code and what it shows."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "refundable", "backtest", *map(str, args)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closes when the process exits
                break
            if not chunk:
                break
            shown += chunk
        code = process.wait(timeout=120)
    finally:
        os.close(leader)
    return code, shown.decode("utf-8", "replace")


def test_progress_bar_in_a_terminal_only(histories: dict[str, Path]) -> None:
    code, shown = _backtest_in_a_terminal("--policy", IPTV, "--history", histories["csv"])
    assert code == 0
    assert f"backtest {IPTV_REF}" in shown
    assert f"/{ROWS} " in shown  # done / total rows
    assert "rows/s" in shown
    code, shown = _backtest_in_a_terminal("--policy", IPTV, "--history", histories["csv"],
                                          "--no-progress")
    assert code == 0
    assert f"backtest {IPTV_REF}" not in shown


def test_backtest_on_a_history_without_rows(history: pl.DataFrame, tmp_path: Path) -> None:
    path = write_history(history.clear(), tmp_path / "empty.csv")
    scalar = run("backtest", "--policy", IPTV, "--history", path, "--engine", "scalar", "--json")
    assert scalar.returncode == 0
    assert json.loads(scalar.stdout)["decided"] == 0
    result = run("backtest", "--policy", IPTV, "--history", path, "--json")
    no_traceback(result)
    assert result.returncode == 0
    assert json.loads(result.stdout)["outcomes"] == {}
