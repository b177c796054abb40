"""``Idempotency-Key`` on every POST that creates something, moves money or changes state.

- Same key + same request (method, path, JSON body) → the stored response (status and JSON),
  without running the change again; the replay carries ``Idempotent-Replayed: true``.
- Same key + a different request → 409 ``idempotency_key_reused``.
- Keys belong to a caller (``Principal.idempotency_scope``): two callers never collide.

Safe under concurrent retries: the ``IdempotencyRecord`` row is inserted *in the same
transaction* as the change it records, under the unique constraint (principal, key). A second
request with the key waits on that insert (PostgreSQL's unique index; SQLite's write lock) until
the first commits, then finds its row and replays it. If the first fails, nothing is stored and
the retry runs afresh. The change and its stored response commit together or not at all.

Answers that are errors of the request (4xx, e.g. 422 for a canceled subscription) are stored
and replayed too, as Stripe does; an unexpected failure (500) stores nothing. Validation errors
(400) are answered before this layer, so they are never stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse

from .auth import Principal
from .errors import ApiError, error_of, error_response
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
Execute = Callable[[], tuple[int, dict[str, Any]]]


def request_hash(method: str, path: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": payload},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise ApiError(400, f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable "
                       "ASCII characters (a UUID is a good choice).",
                       code="idempotency_key_invalid", param=HEADER)
    return key


def _replay(record: IdempotencyRecord, method: str, path: str, body_hash: str
            ) -> JsonResponse:
    if (record.method, record.path, record.body_hash) != (method, path, body_hash):
        return error_response(ApiError(
            409, f"This {HEADER} was already used for another request (different endpoint or "
            "body). Use a new key for a new request; reuse a key only to retry the same one.",
            type="idempotency_error", code="idempotency_key_reused", param=HEADER))
    response = JsonResponse(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _stored(principal: Principal, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(
        principal=principal.idempotency_scope, key=key).first()


def idempotent(request: HttpRequest, *, principal: Principal, key: str,
               payload: dict[str, Any], execute: Execute) -> JsonResponse:
    """Run ``execute`` (→ status, JSON body) at most once for ``key``; answer from the store
    when the key was seen. ``payload`` is the validated body (what "same body" compares)."""
    key = _check_key(key)
    method = request.method or "POST"
    path = request.path[:300]
    body_hash = request_hash(method, path, payload)
    record = _stored(principal, key)
    if record is not None:
        return _replay(record, method, path, body_hash)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    key=key, principal=principal.idempotency_scope, method=method, path=path,
                    body_hash=body_hash, status_code=0, response={})
        except IntegrityError:
            record = None  # a concurrent request with this key committed first
        if record is not None:
            try:
                with transaction.atomic():
                    status, body = execute()
            except Exception as exc:
                error = error_of(exc)
                if error is None:
                    raise  # unexpected: roll everything back, store nothing (→ 500)
                status, body = error.status, error.body()
            record.status_code = status
            record.response = body
            record.save(update_fields=["status_code", "response"])
            return JsonResponse(body, status=status)
    record = _stored(principal, key)
    if record is None:  # the other request failed and stored nothing: run it here
        return idempotent(request, principal=principal, key=key, payload=payload,
                          execute=execute)
    return _replay(record, method, path, body_hash)
