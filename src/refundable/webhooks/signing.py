"""What a delivery sends: the JSON body and the ``Refundable-Signature`` header, and the check
integrators run on their side (``webhook_signature_verify``, the reference implementation).

The header is ``t=<unix seconds>,v1=<hex>`` where ``<hex>`` is HMAC-SHA256, keyed with the
endpoint's secret (its UTF-8 bytes, ``whsec_`` prefix included), of ``"<t>." + body``: the
timestamp is signed with the body, so a captured request cannot be replayed later than the
receiver's tolerance. While a rotated secret is still valid the header carries two ``v1``
values, one per secret; a receiver accepts the request when any of them matches its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the module itself needs no Django: integrators' code can import it
    from .models import WebhookEvent

SECRET_PREFIX = "whsec_"
EVENT_PREFIX = "evt_"
SIGNATURE_HEADER = "Refundable-Signature"
EVENT_ID_HEADER = "Refundable-Event-Id"


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def event_id_new() -> str:
    return EVENT_PREFIX + secrets.token_hex(12)


def webhook_body(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed for ``event``: ``{"created", "data", "id", "type"}``.

    Keys are sorted so the body is the same whatever order the database returns JSON in
    (PostgreSQL's jsonb reorders keys), which keeps every attempt of an event byte-identical.
    """
    envelope: dict[str, Any] = {"id": event.public_id, "type": event.type,
                                "created": int(event.created_at.timestamp()),
                                "data": event.data}
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def _sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, body: bytes, secrets_in_use: list[str], timestamp: int) -> str:
    """``t=<timestamp>,v1=<hex>[,v1=<hex>]``, one ``v1`` per secret."""
    parts = [f"t={timestamp}"] + [f"v1={_sign(s, timestamp, body)}" for s in secrets_in_use]
    return ",".join(parts)


def webhook_signature_verify(*, payload: bytes, header: str, secret: str,
                             tolerance: int = 300, now: float | None = None) -> bool:
    """True when ``header`` (the ``Refundable-Signature`` value) signs ``payload`` (the raw
    request body, before any JSON parsing) with ``secret``, and its timestamp is within
    ``tolerance`` seconds of ``now`` (default: the current time). Any malformed header is
    simply False.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _sign(secret, timestamp, payload)
    # Constant-time comparison: no timing hint about how much of a forged signature was right.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
