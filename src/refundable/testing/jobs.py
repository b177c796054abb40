"""Run the queued jobs the way the worker does (django-tasks-db's db_worker, batch mode)."""

from __future__ import annotations

from django.core.management import call_command


def run_queued_jobs() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
