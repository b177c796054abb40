"""Named points on the refund path where the crash test kills the process (SIGKILL).

Production never arms them: ``crashpoint`` is one comparison with ``None``. The crash test
(``tools/crash_test.py``) arms one point for one refund in a forked worker, so the process dies
exactly there — no cleanup, no ``finally``, no commit — as a power cut or an OOM kill would.
"""

from __future__ import annotations

import os
import signal

POINTS = ("before_provider_call", "after_provider_call", "before_commit", "after_commit")

_armed: tuple[str, str] | None = None


def crash_arm(point: str, refund_id: str) -> None:
    if point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; one of {', '.join(POINTS)}")
    global _armed
    _armed = (point, refund_id)


def crashpoint(point: str, refund_id: str) -> None:
    if _armed is not None and _armed == (point, refund_id):
        os.kill(os.getpid(), signal.SIGKILL)
