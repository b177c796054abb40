"""API keys for integrators: created with their plaintext shown once, revoked, never stored.

Only the sha256 of the token is kept (``ApiKey.key_hash``); the ``prefix`` finds the row.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ..audit.services import Actor, audit_record, snapshot
from .auth import KEY_PREFIX, SCOPES, api_key_cache, key_hash
from .models import ApiKey

_FIELDS = ["name", "prefix", "scopes", "revoked_at"]


class ApiKeyError(Exception):
    """A key that cannot be created or changed as asked (message for people)."""


def api_key_create(*, actor: Actor, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """Create a key with ``scopes`` (``read``, ``write``). Returns the key and its plaintext
    ``rk_<prefix>_<secret>``, which is shown once and cannot be recovered."""
    name = name.strip()
    wanted = sorted(set(scopes))
    if not name:
        raise ApiKeyError("a name is required (who or what uses the key)")
    if not wanted or not set(wanted) <= set(SCOPES):
        raise ApiKeyError(f"scopes must be among {', '.join(SCOPES)}; got {wanted or 'none'}")
    with transaction.atomic():
        prefix = secrets.token_hex(4)
        while ApiKey.objects.filter(prefix=prefix).exists():
            prefix = secrets.token_hex(4)
        plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        api_key = ApiKey.objects.create(name=name[:100], prefix=prefix,
                                        key_hash=key_hash(plaintext), scopes=wanted)
        audit_record(actor=actor, action="api_key.create", obj=api_key,
                     after=snapshot(api_key, _FIELDS))
    return api_key, plaintext


def api_key_revoke(*, actor: Actor, prefix: str) -> ApiKey:
    """Revoke the key with ``prefix``. This process refuses it at once, every other process
    within ``REFUNDABLE_API_KEY_CACHE_SECONDS`` (a key verified lately is remembered that
    long: auth.py). Revoking twice is a no-op."""
    api_key_cache.forget(prefix)
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(prefix=prefix).first()
        if api_key is None:
            raise ApiKeyError(f"no API key with prefix {prefix!r}")
        if api_key.revoked_at is not None:
            return api_key
        before = snapshot(api_key, _FIELDS)
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        # Forgotten before and again after the commit: a request of this process in between
        # may have verified the key, not yet revoked, again.
        transaction.on_commit(lambda: api_key_cache.forget(prefix))
        audit_record(actor=actor, action="api_key.revoke", obj=api_key, before=before,
                     after=snapshot(api_key, _FIELDS))
    return api_key
