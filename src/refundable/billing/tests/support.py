"""Helpers for tests of invoice PDFs."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pytest

# What cffi raises when WeasyPrint's import cannot dlopen Pango (e.g. libpango1.0-0 not installed).
MISSING_PANGO = ("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared "
                 "object file: No such file or directory")


class _MissingSystemLibraries(importlib.abc.MetaPathFinder):
    """Makes ``import weasyprint`` fail the way it fails on a machine without Pango."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "weasyprint" or fullname.startswith("weasyprint."):
            raise OSError(MISSING_PANGO)
        return None


def without_pango(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the rest of the test, importing WeasyPrint raises the ``OSError`` of a server whose
    Pango libraries are missing. This machine has them, so the failure is injected at the import
    system: the already imported modules are set aside (``monkeypatch`` puts them back)."""
    for name in [n for n in sys.modules if n == "weasyprint" or n.startswith("weasyprint.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_MissingSystemLibraries(), *sys.meta_path])
