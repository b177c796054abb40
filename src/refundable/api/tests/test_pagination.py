"""Cursor pagination: newest first, limit, starting_after and the opaque cursor."""

from __future__ import annotations

import pytest
from django.test import Client

from refundable.testing.factories import CustomerFactory

from ..pagination import cursor_encode
from .support import assert_error, get

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_ids() -> list[int]:
    """Seven customers, their ids newest first (the lists' order)."""
    return sorted((CustomerFactory.create().pk for _ in range(7)), reverse=True)


def test_default_page_holds_everything_newest_first(integrator: Client,
                                                    customer_ids: list[int]) -> None:
    body = get(integrator, "/customers").json()
    assert [c["id"] for c in body["data"]] == customer_ids
    assert body["has_more"] is False and body["next_cursor"] is None
    assert body["object"] == "list"


def test_walk_the_pages_with_the_cursor(integrator: Client, customer_ids: list[int]) -> None:
    seen: list[int] = []
    params: dict[str, object] = {"limit": 3}
    pages = 0
    while True:
        body = get(integrator, "/customers", **params).json()
        pages += 1
        seen += [c["id"] for c in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        params = {"limit": 3, "cursor": body["next_cursor"]}
    assert seen == customer_ids and pages == 3


def test_starting_after_an_id(integrator: Client, customer_ids: list[int]) -> None:
    body = get(integrator, "/customers", limit=2, starting_after=customer_ids[1]).json()
    assert [c["id"] for c in body["data"]] == customer_ids[2:4]
    assert body["has_more"] is True
    assert body["next_cursor"] == cursor_encode(customer_ids[3])


def test_an_exact_last_page_says_no_more(integrator: Client, customer_ids: list[int]) -> None:
    body = get(integrator, "/customers", limit=7).json()
    assert len(body["data"]) == 7 and body["has_more"] is False


def test_new_rows_do_not_shift_the_next_page(integrator: Client,
                                             customer_ids: list[int]) -> None:
    first = get(integrator, "/customers", limit=3).json()
    CustomerFactory.create()  # newer than everything: appears on page 1, not on page 2
    second = get(integrator, "/customers", limit=3, cursor=first["next_cursor"]).json()
    assert [c["id"] for c in second["data"]] == customer_ids[3:6]


@pytest.mark.parametrize(("params", "param", "code"), [
    ({"limit": 0}, "limit", "parameter_invalid"),
    ({"limit": 201}, "limit", "parameter_invalid"),
    ({"limit": "ten"}, "limit", "parameter_invalid"),
    ({"starting_after": "abc"}, "starting_after", "parameter_invalid"),
    ({"cursor": "not-a-cursor"}, "cursor", "parameter_invalid"),
    ({"cursor": cursor_encode(5), "starting_after": 5}, "cursor", "parameter_invalid"),
])
def test_bad_paging_parameters_are_400(integrator: Client, params: dict[str, object],
                                       param: str, code: str) -> None:
    assert_error(get(integrator, "/customers", **params), 400, code, param)


def test_limit_bounds(integrator: Client, customer_ids: list[int]) -> None:
    assert len(get(integrator, "/customers", limit=200).json()["data"]) == 7
    assert len(get(integrator, "/customers", limit=1).json()["data"]) == 1


@pytest.mark.parametrize("path", ["/subscriptions", "/orders", "/refund-requests", "/tickets"])
def test_every_list_pages(integrator: Client, path: str) -> None:
    from .support import make_account

    for _ in range(3):
        make_account()
    first = get(integrator, path, limit=2).json()
    assert len(first["data"]) == 2 and first["has_more"] is True
    rest = get(integrator, path, limit=2, cursor=first["next_cursor"]).json()
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    ids = [item["id"] for item in first["data"] + rest["data"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
