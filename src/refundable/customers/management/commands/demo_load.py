"""``manage.py demo_load``: load the demo business into an empty database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...demo import CUSTOMER_EMAIL, DEMO_PASSWORDS, demo_load


class Command(BaseCommand):
    help = "Load the demo business (customers, subscriptions, orders, requests, tickets)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = demo_load()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Demo loaded: {summary.customers} customers, {summary.subscriptions} subscriptions, "
            f"{summary.requests} refund requests, {summary.tickets} tickets.\n"
            f"  customer  {CUSTOMER_EMAIL} / {DEMO_PASSWORDS['customer']}\n"
            f"  agent     agent / {DEMO_PASSWORDS['agent']}\n"
            f"  operator  operator / {DEMO_PASSWORDS['operator']}")
