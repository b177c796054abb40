"""Shared by the payments tests: the sandbox settles at once and the reconciler does not wait
(a test that wants a delay sets its own)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _settle_at_once(settings: Any) -> None:
    settings.REFUNDABLE_SANDBOX_SETTLE_SECONDS = 0
    settings.REFUNDABLE_RECONCILE_GRACE_SECONDS = 0
