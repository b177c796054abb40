"""API keys: created with their plaintext once, stored as a hash, revoked; the command."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from refundable.audit.models import AuditEvent
from refundable.audit.services import Actor

from ..models import ApiKey
from ..services import ApiKeyError, api_key_create, api_key_revoke
from .support import bearer, get

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_and_audits_without_the_secret() -> None:
    api_key, plaintext = api_key_create(actor=Actor("operator", "olga"), name="Shop backend",
                                        scopes=["write", "read", "read"])
    assert plaintext.startswith(f"rk_{api_key.prefix}_") and len(plaintext) > 40
    assert api_key.scopes == ["read", "write"]
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    secret = plaintext.split("_", 2)[2]
    assert secret not in str(list(ApiKey.objects.values()))
    event = AuditEvent.objects.get(action="api_key.create")
    assert event.actor == "operator:olga" and secret not in str(event.after)
    assert get(Client(headers=bearer(plaintext)), "/customers").status_code == 200


@pytest.mark.parametrize(("name", "scopes"), [("", ["read"]), ("x", []), ("x", ["admin"])])
def test_create_refuses_bad_input(name: str, scopes: list[str]) -> None:
    with pytest.raises(ApiKeyError):
        api_key_create(actor=Actor.system(), name=name, scopes=scopes)


def test_revoke_is_audited_once() -> None:
    api_key, _plaintext = api_key_create(actor=Actor.system(), name="x", scopes=["read"])
    api_key_revoke(actor=Actor.system(), prefix=api_key.prefix)
    api_key_revoke(actor=Actor.system(), prefix=api_key.prefix)
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1
    with pytest.raises(ApiKeyError):
        api_key_revoke(actor=Actor.system(), prefix="nope")


def test_the_management_command_creates_lists_and_revokes() -> None:
    out = StringIO()
    call_command("refundable_api_key", "create", "--name", "CRM sync", "--scope", "read",
                 "--scope", "write", stdout=out)
    plaintext = out.getvalue().strip().splitlines()[-1]
    assert plaintext.startswith("rk_")
    client = Client(headers=bearer(plaintext))
    assert get(client, "/customers").status_code == 200
    prefix = plaintext.split("_")[1]
    listing = StringIO()
    call_command("refundable_api_key", "list", stdout=listing)
    assert prefix in listing.getvalue() and "read,write" in listing.getvalue()
    call_command("refundable_api_key", "revoke", prefix, stdout=StringIO())
    assert get(client, "/customers").status_code == 401
    with pytest.raises(CommandError, match="no API key"):
        call_command("refundable_api_key", "revoke", "nope", stdout=StringIO())


def test_the_command_defaults_to_read_only() -> None:
    out = StringIO()
    call_command("refundable_api_key", "create", "--name", "BI export", stdout=out)
    assert ApiKey.objects.get().scopes == ["read"]
