"""The body of ``GET /refund-requests/{id}`` without building pydantic models per request.

The API's most frequent call reads one request (``refunds.selectors.refund_request_read``)
and renders it here. The body is byte for byte what ninja renders for ``RefundRequestOut``
(``tests/test_rendering.py`` compares the two on requests in every shape):

- the request's own fields and its refunds are encoded with ninja's encoder, in the schema's
  field order;
- the latest frozen decision is rendered once with ``DecisionOut`` and its JSON text reused.
  A ``refunds.Decision`` row is never edited (a new decision is a new row), so the text
  cannot go stale. It is kept per process, at most ``DECISION_CACHE_SIZE`` decisions, keyed
  by the decision's id *and* creation time, and a decision saved in this process is dropped
  from the cache (tests roll back and reuse ids).

Rendering the decision (its explanation is most of the body) with pydantic on every GET cost
about as much as the rest of the view (docs/benchmarks-api.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from ninja.responses import NinjaJSONEncoder

from ..refunds.models import Decision
from ..refunds.selectors import RefundRead, RefundRequestRead
from .schemas import DecisionOut

# What ninja's renderer sends (NinjaAPI.get_content_type), so both paths answer alike.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
DECISION_CACHE_SIZE = 2048  # a few kB each: at most about 10 MB per process

# The same encoder and settings as ninja's JSONRenderer (json.dumps(data, cls=...)).
_encode = NinjaJSONEncoder().encode


class DecisionJsonCache:
    """Rendered decisions, least recently used dropped first; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[int, tuple[datetime, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, decision_id: int, created_at: datetime) -> str | None:
        with self._lock:
            entry = self._entries.get(decision_id)
            if entry is None or entry[0] != created_at:
                return None
            self._entries.move_to_end(decision_id)
            return entry[1]

    def put(self, decision_id: int, created_at: datetime, text: str) -> None:
        with self._lock:
            self._entries[decision_id] = (created_at, text)
            self._entries.move_to_end(decision_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, decision_id: int) -> None:
        with self._lock:
            self._entries.pop(decision_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


decision_json_cache = DecisionJsonCache(DECISION_CACHE_SIZE)


def decision_forget(sender: type[Decision], instance: Decision, **kwargs: Any) -> None:
    """post_save / post_delete receiver (``apps.py``): a decision written here is read anew."""
    if instance.pk is not None:
        decision_json_cache.forget(instance.pk)


def decision_json(decision_id: int, created_at: datetime) -> str:
    """The JSON text of ``DecisionOut`` for the decision, rendered at most once per process."""
    text = decision_json_cache.get(decision_id, created_at)
    if text is None:
        decision = Decision.objects.get(pk=decision_id)
        text = _encode(DecisionOut.of(decision).model_dump())
        # Keyed by the creation time read with the request (the same row's value).
        decision_json_cache.put(decision_id, created_at, text)
    return text


def _refund(refund: RefundRead) -> dict[str, Any]:
    # RefundOut's fields, in its order
    return {"object": "refund", "id": refund.id, "amount": refund.amount,
            "currency": refund.currency, "status": refund.status, "provider": refund.provider,
            "created_at": refund.created_at, "settled_at": refund.settled_at,
            "expected_from": refund.expected_from, "expected_by": refund.expected_by,
            "failure_reason": refund.failure_reason}


def refund_request_json(read: RefundRequestRead) -> bytes:
    """The body of ``RefundRequestOut`` for ``read``, as ninja would render it."""
    # RefundRequestOut's fields in its order; decision and refunds, its last two, follow.
    head = _encode({
        "object": "refund_request", "id": read.id, "customer": read.customer_id,
        "charge": read.charge_id, "order": read.order_id, "reason": read.reason,
        "description": read.description, "channel": read.channel, "status": read.status,
        "currency": read.currency, "approved_amount": read.approved_amount,
        "created_at": read.created_at, "sla_due_at": read.sla_due_at,
        "troubleshooting_state": read.troubleshooting_state})
    decision = ("null" if read.decision_id is None or read.decision_created_at is None
                else decision_json(read.decision_id, read.decision_created_at))
    refunds = _encode([_refund(refund) for refund in read.refunds])
    return f'{head[:-1]}, "decision": {decision}, "refunds": {refunds}}}'.encode()
