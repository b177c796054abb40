"""Fixtures of the API tests: keys, clients and a small business, all through real rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from .support import TODAY, Account, bearer, key_for, make_account, session_client


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    """The API uses the real clock: set it to ``TODAY`` (ticking, for real timestamps)."""
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def write_key() -> str:
    return key_for("read", "write")


@pytest.fixture
def read_key() -> str:
    return key_for("read")


@pytest.fixture
def integrator(write_key: str) -> Client:
    """A client sending a read+write API key on every request."""
    return Client(headers=bearer(write_key))


@pytest.fixture
def account() -> Account:
    return make_account()


@pytest.fixture
def other() -> Account:
    """Another customer, with the same kinds of records."""
    return make_account()


@pytest.fixture
def as_customer(account: Account) -> Client:
    """The account's customer signed in to the portal (CSRF not enforced: see test_auth)."""
    return session_client(account.customer)
