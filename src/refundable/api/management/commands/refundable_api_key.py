"""Create, list and revoke integrator API keys.

    manage.py refundable_api_key create --name "Shop backend" --scope read --scope write
    manage.py refundable_api_key list
    manage.py refundable_api_key revoke <prefix>

``create`` prints the key once (``rk_<prefix>_<secret>``); only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ....audit.services import Actor
from ...auth import SCOPES
from ...models import ApiKey
from ...services import ApiKeyError, api_key_create, api_key_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API keys for integrators (JSON API at /api/v1/)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="create a key and print it once")
        create.add_argument("--name", required=True, help="who or what uses the key")
        create.add_argument("--scope", action="append", choices=SCOPES, dest="scopes",
                            help="read (GET) and/or write (POST); repeat the option for both "
                                 "(default: read)")
        commands.add_parser("list", help="list keys (prefix, name, scopes, state)")
        revoke = commands.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("manage.py refundable_api_key")
        try:
            if options["action"] == "create":
                api_key, plaintext = api_key_create(actor=actor, name=options["name"],
                                                    scopes=options["scopes"] or ["read"])
                self.stdout.write(f"Created API key {api_key.prefix} ({api_key.name}), "
                                  f"scopes: {', '.join(api_key.scopes)}.")
                self.stdout.write("Keep it now; it is not stored and cannot be shown again:")
                self.stdout.write(plaintext)
            elif options["action"] == "revoke":
                api_key = api_key_revoke(actor=actor, prefix=options["prefix"])
                self.stdout.write(f"Revoked API key {api_key.prefix} ({api_key.name}).")
            else:
                for api_key in ApiKey.objects.order_by("created_at", "id"):
                    state = (f"revoked {api_key.revoked_at:%Y-%m-%d}" if api_key.revoked_at
                             else "active")
                    self.stdout.write(f"{api_key.prefix}  {state:<18} "
                                      f"{','.join(api_key.scopes):<11} {api_key.name}")
        except ApiKeyError as exc:
            raise CommandError(str(exc)) from exc
