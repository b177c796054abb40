"""Cursor pagination, Stripe-like: newest first, ``limit`` (1–200, default 50), and either
``starting_after=<id>`` (the last id of the previous page) or the opaque ``cursor`` the previous
page returned as ``next_cursor``.

Pages are keyset pages on the primary key (``id < after``), so they stay stable while rows are
added and cost the same on page 1 and page 10 000. A cursor is only a position: send the same
filters with it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from ninja import Field, Schema

from .errors import ApiError

M = TypeVar("M", bound=Model)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURSOR_VERSION = "v1"


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"How many objects to return, 1 to {MAX_LIMIT}.")
    starting_after: int | None = Field(
        None, ge=1, description="An object id: return the objects after it in the list "
                                "(the last id of the previous page).")
    cursor: str | None = Field(None, description="The previous page's next_cursor "
                                                 "(opaque; instead of starting_after).")


def cursor_encode(after_id: int) -> str:
    raw = f"{_CURSOR_VERSION}:{after_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    """The id a cursor points after; a 400 naming ``cursor`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        after = int(value)
        if version != _CURSOR_VERSION or after < 1:
            raise ValueError(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "Invalid cursor: pass the next_cursor of a previous page "
                       "unchanged.", code="parameter_invalid", param="cursor") from exc
    return after


def paginate(queryset: QuerySet[M], params: PageParams,
             serialize: Callable[[M], Any]) -> dict[str, Any]:
    """One page of ``queryset``, newest (highest id) first, as the list envelope."""
    if params.cursor is not None and params.starting_after is not None:
        raise ApiError(400, "Pass either starting_after or cursor, not both.",
                       code="parameter_invalid", param="cursor")
    after = (cursor_decode(params.cursor) if params.cursor is not None
             else params.starting_after)
    if after is not None:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset.order_by("-pk")[: params.limit + 1])
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {"object": "list", "data": [serialize(row) for row in rows], "has_more": has_more,
            "next_cursor": cursor_encode(rows[-1].pk) if has_more else None}
