"""A verified API key is remembered for a few seconds per process, never beyond."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refundable.audit.services import Actor

from ..auth import API_KEY_CACHE_SECONDS, ApiKeyCache, api_key_cache
from ..models import ApiKey
from ..selectors import ApiKeyRead
from ..services import api_key_revoke
from .support import API, TODAY, assert_error, bearer, get

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _still_clock() -> Iterator[time_machine.Traveller]:
    api_key_cache.clear()
    with time_machine.travel(TODAY, tick=False) as clock:
        yield clock


def _key_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert get(client, "/customers").status_code == 200
    return sum(1 for q in queries if ApiKey._meta.db_table in q["sql"])


def test_a_verified_key_is_not_read_again_for_a_while(
        integrator: Client, _still_clock: time_machine.Traveller) -> None:
    assert _key_queries(integrator) == 1
    assert _key_queries(integrator) == 0
    _still_clock.shift(API_KEY_CACHE_SECONDS)
    assert _key_queries(integrator) == 1


def test_a_key_revoked_by_another_process_is_refused_within_the_ttl(
        write_key: str, _still_clock: time_machine.Traveller) -> None:
    client = Client(headers=bearer(write_key))
    assert get(client, "/customers").status_code == 200
    # what `refundable manage refundable_api_key revoke` does from its own process
    ApiKey.objects.filter(prefix=write_key.split("_")[1]).update(revoked_at=timezone.now())
    _still_clock.shift(API_KEY_CACHE_SECONDS - 0.5)
    assert get(client, "/customers").status_code == 200
    _still_clock.shift(0.5)
    assert_error(get(client, "/customers"), 401, "api_key_revoked")


def test_a_key_revoked_here_is_refused_at_once(write_key: str) -> None:
    client = Client(headers=bearer(write_key))
    assert get(client, "/customers").status_code == 200
    api_key_revoke(actor=Actor.system("tests"), prefix=write_key.split("_")[1])
    assert_error(get(client, "/customers"), 401, "api_key_revoked")


def test_another_secret_with_a_cached_keys_prefix_is_refused(write_key: str) -> None:
    assert get(Client(headers=bearer(write_key)), "/customers").status_code == 200
    prefix = write_key.split("_")[1]
    forged = Client(headers=bearer(f"rk_{prefix}_{'x' * 43}"))
    assert_error(forged.get(f"{API}/customers"), 401, "api_key_invalid")


def test_a_zero_ttl_reads_the_key_every_time(integrator: Client, settings: Any) -> None:
    settings.REFUNDABLE_API_KEY_CACHE_SECONDS = 0
    assert [_key_queries(integrator) for _ in range(3)] == [1, 1, 1]


def _key(prefix: str) -> ApiKeyRead:
    return ApiKeyRead(id=1, name="n", prefix=prefix, key_hash="h", scopes=["read"],
                      revoked_at=None)


def test_the_cache_ignores_an_entry_once_the_clock_went_back(
        _still_clock: time_machine.Traveller) -> None:
    cache = ApiKeyCache()
    cache.put("digest", _key("abc"))
    assert cache.get("digest", ttl=2) is not None
    _still_clock.move_to(TODAY - timedelta(seconds=1))
    assert cache.get("digest", ttl=2) is None


def test_the_cache_is_bounded_and_forgets_by_prefix() -> None:
    cache = ApiKeyCache(size=2)
    for digest, prefix in (("d1", "p1"), ("d2", "p2"), ("d3", "p3")):
        cache.put(digest, _key(prefix))
    assert [cache.get(d, ttl=2) is not None for d in ("d1", "d2", "d3")] == [False, True, True]
    cache.forget("p2")
    assert cache.get("d2", ttl=2) is None and cache.get("d3", ttl=2) is not None
