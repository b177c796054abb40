"""REFUNDABLE_PG_PREPARE_THRESHOLD: when psycopg prepares the API's hot read on PostgreSQL."""

from __future__ import annotations

import pytest

from refundable.settings import database_from_url

URL = "postgresql://refundable@127.0.0.1:5432/refundable"


@pytest.mark.parametrize(("value", "threshold"), [(None, 5), ("3", 3), ("0", 0),
                                                  (" OFF ", None)])
def test_the_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  value: str | None,
                                                  threshold: int | None) -> None:
    if value is None:
        monkeypatch.delenv("REFUNDABLE_PG_PREPARE_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("REFUNDABLE_PG_PREPARE_THRESHOLD", value)
    assert database_from_url(URL)["OPTIONS"] == {"prepare_threshold": threshold}


@pytest.mark.parametrize("value", ["five", "-1", "2.5"])
def test_a_bad_threshold_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("REFUNDABLE_PG_PREPARE_THRESHOLD", value)
    with pytest.raises(RuntimeError, match="REFUNDABLE_PG_PREPARE_THRESHOLD must be a number"):
        database_from_url(URL)
