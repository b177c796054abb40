"""The crash test (``tools/crash_test.py``) in CI-sized batches, on SQLite and PostgreSQL.

Each run kills a refund worker with SIGKILL at one point of the path (or not at all), with
some runs losing the provider's request or answer; the reconciler then settles everything and
the books are checked. ``docs/reliability.md`` records the long runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[4] / "tools" / "crash_test.py"
RUNS = int(os.environ.get("REFUNDABLE_CRASH_RUNS", "250"))


def crash_test(database: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(TOOL), "--runs", str(RUNS), "--batch", "125",
         "--database", database, "--json"],
        capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert done.stdout, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def assert_exactly_once(result: dict[str, object]) -> None:
    assert result["problems"] == [] and result["worker_errors"] == 0, result
    assert result["ok"] is True
    kills = result["kills"]
    assert isinstance(kills, dict)
    # Every point of the path was hit by a real SIGKILL at least once.
    assert set(kills) >= {"before_provider_call", "after_provider_call", "before_commit",
                          "after_commit"}, kills
    assert result["runs"] == RUNS


def test_every_refund_is_executed_exactly_once_through_kills_on_sqlite() -> None:
    assert_exactly_once(crash_test("sqlite"))


def test_every_refund_is_executed_exactly_once_through_kills_on_postgresql() -> None:
    import psycopg

    url = os.environ.get("REFUNDABLE_TEST_POSTGRES",
                         "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {url} is not reachable under CI=true: {exc}")
        pytest.skip(f"PostgreSQL at {url} is not reachable")
    assert_exactly_once(crash_test("postgres"))
