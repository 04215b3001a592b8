"""kill -9 at random points while 1,000 documents flow, then restart, repeated: nothing lost, nothing
duplicated, no control number reused (issue 4, "Proof").

A site (tests/integration/sites.py: a SQLite ledger, MEGAMART's folders, the ERP and WMS folders)
holds 500 inbound 850 interchanges and 500 outbound ShipNotice/InventoryAdvice documents.
``erpbridge run --once`` runs as a subprocess and is killed with SIGKILL when the ledger's event
count passes a random threshold (seeded; the test polls the count with a deadline, it never sleeps
to wait for anything), then restarted, several times; a last run goes to the end and one more must
find nothing to do. Then every input must have become exactly one ledger document and one output
file, with no control number repeated, nothing half done, the hash chain intact and no temporary
file left anywhere.

Reproduce a failure with the seed it prints: ``ERPBRIDGE_CRASH_SEED=N pytest tests/integration/test_crash.py``.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpbridge.ledger import Ledger
from tests.integration.sites import Site, build_site, check_site, events_count

KILLS = 7
RUN_DEADLINE = 120.0  # seconds one run may take before the test gives up on it
POLL = 0.002  # how often the ledger's progress is read while a run goes on


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder in /dev/shm when there is one: fsync (the ledger's synchronous=FULL, the folders'
    atomic writes) costs nothing there, and a process killed by SIGKILL loses nothing the kernel
    has, so what the test proves is the same. (A power cut is another matter, not tested here.)"""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="erpbridge-crash-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _run_until(
    site: Site, kill_at: int | None, n: int, seed: int, rng: random.Random | None = None
) -> tuple[int, int]:
    """Run ``erpbridge run --once``; with ``kill_at``, SIGKILL it once the ledger holds that many
    events (and a random 0-10 ms more, so that kills land in file I/O as well as just after a
    commit). Returns (exit code, events when it ended)."""
    out, err = site.root / f"run-{n}.out", site.root / f"run-{n}.err"
    proc = site.erpbridge("run", "--once", "--quiet", "--config", str(site.config), stdout=out, stderr=err)
    deadline = time.monotonic() + RUN_DEADLINE
    try:
        while True:
            try:
                code = proc.wait(timeout=POLL)
                return code, events_count(site)
            except subprocess.TimeoutExpired:
                pass
            if kill_at is not None and events_count(site) >= kill_at:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=(rng or random.Random(seed)).uniform(0, 0.01))  # where it lands
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return proc.returncode, events_count(site)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"seed {seed}: run {n} did not end within {RUN_DEADLINE} s\n{_tail(out)}\n{_tail(err)}"
                )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_at_random_points_loses_and_duplicates_nothing(fast_dir: Path) -> None:
    seed = int(os.environ.get("ERPBRIDGE_CRASH_SEED") or random.SystemRandom().randrange(1, 10**6))
    rng = random.Random(seed)
    site = build_site(fast_dir / "site", inbound=500, ship_notices=250, inventory=250)
    assert site.documents == 1000

    killed = 0
    history: list[str] = []
    for n in range(KILLS):
        # the first kill may hit the very start (the ledger being created and migrated)
        start = events_count(site)
        step = rng.choice([1, rng.randrange(2, 40)]) if n == 0 else rng.randrange(20, 800)
        code, reached = _run_until(site, start + step, n, seed, rng)
        history.append(f"run {n}: events {start} -> {reached}, exit {code}")
        if code == -signal.SIGKILL:
            killed += 1
            continue
        assert code == 0, f"seed {seed}: run {n} failed\n{_tail(site.root / f'run-{n}.out')}"
        break  # it finished before the kill point: everything is done
    assert killed >= 3, f"seed {seed}: only {killed} runs were killed: {history}"

    code, _ = _run_until(site, None, KILLS, seed)
    summary = (site.root / f"run-{KILLS}.out").read_text()
    assert code == 0, (
        f"seed {seed}: the last run failed: {history}\n{summary}\n{_tail(site.root / f'run-{KILLS}.err')}"
    )
    code, _ = _run_until(site, None, KILLS + 1, seed)
    again = (site.root / f"run-{KILLS + 1}.out").read_text()

    cut_puts: list[str] = []  # temporary files of puts that a kill cut short (see check_site)
    with Ledger.open(site.ledger_url, migrate=False) as ledger:
        problems = check_site(site, ledger, cut_puts=cut_puts)
    if code != 0 or "nothing to do" not in again:
        problems.insert(0, f"a run after the last one did something (exit {code}):\n{again}")
    assert not problems, f"seed {seed} ({'; '.join(history)}):\n" + "\n".join(problems)


def test_the_checks_see_lost_duplicated_and_left_over_work(tmp_path: Path) -> None:
    """The checks the crash and two-process tests rely on find what they are meant to find."""
    site = build_site(tmp_path / "site", inbound=4, ship_notices=3, inventory=2)
    code, _ = _run_until(site, None, 0, 0)
    assert code == 0, _tail(site.root / "run-0.out")
    with Ledger.open(site.ledger_url, migrate=False) as ledger:
        assert check_site(site, ledger) == []
        outbound = site.partner / "outbound"
        first_po = sorted(site.erp.iterdir())[0]
        shutil.copy(first_po, site.erp / "again.json")  # a PO delivered twice
        (sorted(outbound.glob("997_*.edi"))[0]).unlink()  # an acknowledgment lost
        asn = sorted(outbound.glob("856_*.edi"))[0]
        shutil.copy(asn, outbound / "856_999999999.edi")  # an 856 sent twice, numbers reused
        (outbound / ".997_000000042.edi.0a1b2c3d.part").write_bytes(b"ISA")  # a temp file left
        (site.partner / "inbound" / "late.edi").write_bytes(b"ISA")  # an input not processed
        cut = outbound / f".{asn.name}.0123abcd.part"
        cut.write_bytes(asn.read_bytes()[:100])  # a put cut short, then done again in full
        cut_puts: list[str] = []
        problems = "\n".join(check_site(site, ledger, cut_puts=cut_puts))
        assert cut_puts == [str(cut.relative_to(site.root))]
        assert str(cut.relative_to(site.root)) in "\n".join(check_site(site, ledger))
    for expected in (
        "PO numbers delivered twice",
        "997 files: 3 for 4 interchanges (1 missing, 0 twice)",
        "856_999999999.edi holds interchange",
        "ISA13 repeated",
        "GS06 repeated",
        "1 written twice",
        "temporary files left: ['var/partners/megamart/outbound/.997_000000042.edi.0a1b2c3d.part']",
        "inbound still holds ['late.edi']",
    ):
        assert expected in problems, f"{expected!r} not in:\n{problems}"
