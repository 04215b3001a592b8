"""Fixtures for the integration tests: the embedded default configuration in a folder of its own,
seeded as scripts/demo seeds it, and the same after one real ``erpbridge run --once``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

X12 = ROOT / "mappings" / "x12"


def seed_demo_site(root: Path) -> Path:
    """config.example.toml as ``root/config.toml``, with MEGAMART's two 850s in its inbound folder and
    the WMS's ship notice and inventory advice in the WMS drop folders (what scripts/demo seeds)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config.example.toml", root / "config.toml")
    inbound = root / "var" / "partners" / "megamart" / "inbound"
    inbound.mkdir(parents=True)
    for name in ("850_004010.edi", "850_005010.edi"):
        shutil.copy(SAMPLES / "valid" / name, inbound / name)
    wms = root / "var" / "wms" / "outbound"
    (wms / "ship-notices").mkdir(parents=True)
    (wms / "inventory").mkdir(parents=True)
    shutil.copy(
        X12 / "ship-notice-to-856.samples" / "856_004010.input.json", wms / "ship-notices" / "asn-1.json"
    )
    shutil.copy(
        X12 / "inventory-advice-to-846.samples" / "846_004010.input.json", wms / "inventory" / "inv-1.json"
    )
    return root


@pytest.fixture(scope="session")
def _ran_demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded site after one real ``erpbridge run --once`` (made once per test process)."""
    root = seed_demo_site(tmp_path_factory.mktemp("ran-demo") / "site")
    r = subprocess.run(
        [sys.executable, "-m", "erpbridge", "run", "--once", "--quiet", "--config", "config.toml"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return root


@pytest.fixture
def ran_site(_ran_demo_site: Path, tmp_path: Path) -> Path:
    """A copy of the site after ``erpbridge run --once``: its folders and its SQLite ledger, for one
    test to change as it likes. Two 850s were acknowledged, translated and archived; an 856 and an
    846 were sent to MEGAMART."""
    target = tmp_path / "site"
    shutil.copytree(_ran_demo_site, target)
    return target
