"""Which policy governs a plan: documents loaded once per file version, plus the floor."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ..policy import Policy, load_floor, load_policy


@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int) -> Policy:
    return load_policy(path)


def policy_named(file_name: str) -> Policy:
    """The policy document ``file_name`` under ``REFUNDABLE_POLICY_DIR`` (reloaded if edited)."""
    path = Path(settings.REFUNDABLE_POLICY_DIR) / file_name
    return _load(str(path), path.stat().st_mtime_ns)


def statutory_floor() -> tuple[Policy, ...]:
    return load_floor()
