"""Who is calling: an integrator's API key, or a customer signed in to the portal.

- ``Authorization: Bearer rk_<prefix>_<secret>``: an API key (``services.api_key_create``).
  It sees every customer of the business. Scopes: ``read`` for GET, ``write`` for POST
  (``write`` includes ``read``). A bad, unknown or revoked key is a 401 — the session is not
  tried then; a key without the scope is a 403.
- The portal's Django session: a signed-in *customer* sees and changes only their own data
  (every lookup is filtered by their customer id, so another customer's id is a 404). POSTs
  need Django's CSRF token (``X-CSRFToken`` header), exactly like the portal's forms.

The principal found is ``request.auth`` (see ``principal_of``).

A key verified by a process is remembered there for ``REFUNDABLE_API_KEY_CACHE_SECONDS``
(default 2; 0 turns it off), which saves a database round trip on almost every request: a
key revoked elsewhere (the management command, another worker) is refused by every process
within that time, and at once by the process that revoked it.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from ..audit.services import Actor
from ..customers.selectors import customer_id_of_user
from .errors import ApiError
from .selectors import ApiKeyRead, api_key_by_prefix

SCOPES = ("read", "write")
KEY_PREFIX = "rk"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_KEY_CACHE_SECONDS = 2.0  # unless settings.REFUNDABLE_API_KEY_CACHE_SECONDS says otherwise


def key_hash(plaintext: str) -> str:
    """What is stored for a key: the sha256 of the whole token (never the token)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def split_key(plaintext: str) -> tuple[str, str] | None:
    """``rk_<prefix>_<secret>`` → (prefix, secret); None when it does not have that shape."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class Principal:
    """The caller of one request.

    ``customer_id`` is the only customer whose data the caller may see — None for an
    integrator key, which sees them all. ``idempotency_scope`` keeps one caller's
    Idempotency-Keys apart from another's.
    """

    kind: str  # "api_key" or "customer"
    customer_id: int | None
    scopes: frozenset[str]
    actor: Actor
    idempotency_scope: str
    api_key_id: int | None = None

    @property
    def refund_channel(self) -> str:
        return "api" if self.kind == "api_key" else "web"


def principal_of(request: HttpRequest) -> Principal:
    principal = getattr(request, "auth", None)
    if not isinstance(principal, Principal):  # only when an endpoint forgot auth
        raise ApiError(401, "Authentication required.", code="unauthenticated")
    return principal


def _require_scope(scopes: frozenset[str], method: str) -> None:
    needed = "read" if method in SAFE_METHODS else "write"
    if needed in scopes or (needed == "read" and "write" in scopes):
        return
    raise ApiError(403, f"This API key lacks the '{needed}' scope needed for {method} "
                   "requests.", code="insufficient_scope")


class ApiKeyCache:
    """Keys this process verified lately, by the sha256 of the whole token.

    Only a key whose token matched its stored hash and that was not revoked is kept, so
    made-up tokens cannot fill it; it holds at most ``size`` keys (the oldest go first). An
    entry is used for ``ttl`` seconds of the wall clock after it was read, never after the
    clock went back.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[float, ApiKeyRead]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str, ttl: float) -> ApiKeyRead | None:
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None or not 0 <= time.time() - entry[0] < ttl:
            return None
        return entry[1]

    def put(self, digest: str, api_key: ApiKeyRead) -> None:
        with self._lock:
            self._entries[digest] = (time.time(), api_key)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, prefix: str) -> None:
        """Drop the key with this prefix (it was revoked here)."""
        with self._lock:
            for digest in [d for d, (_, key) in self._entries.items() if key.prefix == prefix]:
                del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


api_key_cache = ApiKeyCache()


def api_key_cache_seconds() -> float:
    return float(getattr(settings, "REFUNDABLE_API_KEY_CACHE_SECONDS", API_KEY_CACHE_SECONDS))


class ApiKeyAuth(HttpBearer):
    """An integrator's API key in ``Authorization: Bearer rk_<prefix>_<secret>``."""

    openapi_bearerFormat = "rk_<prefix>_<secret>"
    openapi_description = ("An integrator API key (manage.py refundable_api_key). Scopes: "
                           "read (GET), write (POST; includes read). Sees every customer.")

    def __call__(self, request: HttpRequest) -> Principal | None:
        header = request.headers.get("Authorization")
        if not header:
            return None  # try the session
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "The Authorization header must be 'Bearer "
                           "rk_<prefix>_<secret>'.", code="api_key_invalid")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        digest = key_hash(token)
        ttl = api_key_cache_seconds()
        api_key = api_key_cache.get(digest, ttl) if ttl > 0 else None
        if api_key is None:
            api_key = self._verified(token, digest)
            if ttl > 0:
                api_key_cache.put(digest, api_key)
        scopes = frozenset(api_key.scopes)
        _require_scope(scopes, request.method or "GET")
        return Principal(kind="api_key", customer_id=None, scopes=scopes,
                         actor=Actor("integrator", f"{api_key.name} ({api_key.prefix})"),
                         idempotency_scope=f"key:{api_key.id}", api_key_id=api_key.id)

    @staticmethod
    def _verified(token: str, digest: str) -> ApiKeyRead:
        """The key of ``token`` read from the database; a 401 unless it matches and is not
        revoked."""
        parts = split_key(token)
        api_key = api_key_by_prefix(prefix=parts[0]) if parts else None
        # The hash is compared even for an unknown prefix (constant work either way).
        stored = api_key.key_hash if api_key else key_hash("")
        if not hmac.compare_digest(stored, digest) or api_key is None:
            raise ApiError(401, "Invalid API key.", code="api_key_invalid")
        if api_key.revoked_at is not None:
            raise ApiError(401, "This API key was revoked.", code="api_key_revoked")
        return api_key


class CustomerSessionAuth(APIKeyCookie):
    """The portal's session cookie: a signed-in customer, limited to their own data."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = ("The customer portal's session (sign in at /). Only the signed-in "
                           "customer's own data; POSTs need the X-CSRFToken header.")

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Principal | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        customer_id = customer_id_of_user(user_id=user.pk)
        if customer_id is None:
            raise ApiError(403, "This signed-in account is not a customer's; integrations "
                           "use an API key.", code="not_a_customer")
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ApiError(403, "CSRF check failed: send the csrftoken cookie's value in the "
                           "X-CSRFToken header.", code="csrf_failed")
        return Principal(kind="customer", customer_id=customer_id,
                         scopes=frozenset(SCOPES), actor=Actor("customer", str(customer_id),
                                                               user=user),
                         idempotency_scope=f"customer:{customer_id}")

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        return self(request)  # __call__ does the work; kept for ninja's abstract interface
