"""The statutory packs shipped with Refundable (``statutory/*.toml``), loaded once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .document import load_policy
from .model import Policy

PACK_DIRECTORY = Path(__file__).parent / "statutory"


@cache
def load_floor(directory: str | None = None) -> tuple[Policy, ...]:
    """Every statutory pack, in file-name order. Packs are documents like any policy."""
    folder = Path(directory) if directory else PACK_DIRECTORY
    packs = tuple(load_policy(path) for path in sorted(folder.glob("*.toml")))
    for pack in packs:
        if pack.kind != "statutory":
            raise ValueError(f"{pack.path} is not a statutory pack (kind = 'statutory')")
    return packs
