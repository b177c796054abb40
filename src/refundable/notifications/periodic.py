"""Periodic jobs on the database queue: a job that re-queues itself after each run.

django-tasks has no scheduler; a periodic batch is a task taking ``every_minutes`` that calls
``periodic_next`` when it ends (whatever happened to the run), started once by the worker with
``periodic_start``. Running a batch twice must be harmless: every batch here is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone


def periodic_next(task: Any, *, every_minutes: int) -> None:
    """Queue the next run of ``task`` in ``every_minutes`` (nothing when 0: a one-off run)."""
    if every_minutes > 0:
        task.using(run_after=timezone.now() + timedelta(minutes=every_minutes)).enqueue(
            every_minutes=every_minutes)


def periodic_start(task: Any, *, every_minutes: int) -> bool:
    """Queue ``task`` now unless a run is already waiting (for the worker to call when it
    starts, so that several workers or restarts keep one chain). True when it queued one."""
    from django_tasks_db.models import DBTaskResult

    if DBTaskResult.objects.filter(task_path=task.module_path, status="READY").exists():
        return False
    task.enqueue(every_minutes=every_minutes)
    return True
