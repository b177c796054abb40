"""Fixtures of the desk's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """Uploads go to a temporary MEDIA_ROOT."""
    root = tmp_path / "uploads"
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()
