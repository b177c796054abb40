"""A small fixed-window rate limiter on Django's cache (``settings.CACHES``).

``rate_limited(request, "sign_in")`` counts one attempt for the client address under the limit
``settings.REFUNDABLE_RATE_LIMITS["sign_in"]`` (attempts, seconds) and answers whether the
client is over it. Views answer 429 with a message saying how long to wait.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    limited: bool
    retry_after: int  # seconds until the window ends (0 when not limited)

    @property
    def retry_after_minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites
    # it, and trusting it would let anyone reset their own counter.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def hit(scope: str, key: str) -> Limit:
    """Count one attempt of ``key`` in ``scope``; limited once the count exceeds the limit."""
    attempts, window = settings.REFUNDABLE_RATE_LIMITS[scope]
    now = int(time.time())
    start = now - now % window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{start}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    if count > attempts:
        return Limit(True, max(1, start + window - now))
    return Limit(False, 0)


def rate_limited(request: HttpRequest, scope: str, *extra_keys: str) -> Limit:
    """Count an attempt for the client address (and each of ``extra_keys``, e.g. the e-mail
    tried, so spreading attempts over addresses does not help); the strictest answer wins."""
    results = [hit(scope, f"ip:{client_address(request)}")]
    results += [hit(scope, f"key:{key.strip().lower()}") for key in extra_keys if key.strip()]
    limited = [r for r in results if r.limited]
    return max(limited, key=lambda r: r.retry_after) if limited else Limit(False, 0)
