"""Where mappings are found: by file name, in partner folders before the standard ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def kind_stem(kind: str) -> str:
    """A canonical kind as mapping files name it: ``PurchaseOrder`` -> ``purchase-order``."""
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in kind).lstrip("-")


def find_mappings(pattern: str, folders: Iterable[Path | None]) -> list[Path]:
    """The mapping files matching ``pattern`` (``850-to-*.yaml``) in the first folder that has any.

    Give a partner's folder before ``mappings/x12/``: the partner's mapping wins.
    """
    for folder in folders:
        if folder is not None and folder.is_dir():
            found = sorted(folder.glob(pattern))
            if found:
                return found
    return []


__all__ = ["find_mappings", "kind_stem"]
