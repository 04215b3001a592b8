"""Issue 4's proofs over SFTP, end to end: MEGAMART's server is a real OpenSSH sshd on 127.0.0.1.

- The server stopped mid-run means retries, and no half-written file is seen or consumed: sshd is
  killed at a chosen point of a pass (from the runner's progress callback, or from inside an
  upload), the pass finishes, what was in flight waits for a retry or was never touched, nothing is
  quarantined, and once sshd is back (same port, same host key) and the retry time has come, one
  more pass completes everything exactly once.
- A malformed file means quarantine, a negative acknowledgment and a reason a person can read.
- A 997 we recorded but never put (the process died in between) is still put by the next run, even
  when the partner's file has gone meanwhile.

The runs are in-process (``pipeline.Runner`` on a SQLite ledger) with a clock the tests move, so
retry times come without waiting. sshd is killed with SIGKILL, with every session process it forked.
"""

from __future__ import annotations

import getpass
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paramiko
import pytest

from erpbridge.config import load_config
from erpbridge.formats.x12 import decode
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.pipeline import Runner, Summary
from erpbridge.transports.base import DEFAULT_IGNORE, is_ignored
from tests.conftest import ROOT, SAMPLES
from tests.integration.sites import ERPBRIDGE, WMS_FOLDER, megamart, sftp_endpoint
from tests.transports.conftest import FIXTURES, Keys, SshServer, require_sshd

PARTNER = "megamart"
IN_FLOW = "megamart_orders_in"
SHIP_FLOW = "megamart_ship_notices_out"
LATER = timedelta(minutes=30)  # past every first backoff (1m doubling, jitter) and the 5m claim lease
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

CONFIG = (
    ERPBRIDGE
    + megamart("megamart_sftp", name='"MegaMart Stores"', ack_window='"4h"')
    + sftp_endpoint("megamart_sftp", banner_timeout='"5s"', auth_timeout='"10s"', channel_timeout='"5s"')
    + """
[endpoints.erp]
type = "folder"
root = "var/erp"
"""
    + WMS_FOLDER
    + """
[flows.megamart_orders_in]
direction = "in"
partner = "megamart"
source = {{ folder = "megamart/inbound", archive = "megamart/archive" }}
target = {{ endpoint = "erp", folder = "purchase-orders" }}
acks = {{ folder = "megamart/outbound" }}
documents = ["x12/850", "x12/997"]
every = "1m"

[flows.megamart_ship_notices_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/ship-notices", archive = "archive/ship-notices" }}
target = {{ folder = "megamart/outbound" }}
documents = {{ ShipNotice = "x12/856" }}
every = "1m"
"""
)


# -- the inputs ---------------------------------------------------------------------------------


def purchase_order(n: int, *, broken: bool = False) -> bytes:
    """The sample 850 with its own ISA13, GS06 and PO number; ``broken``: BEG03 (mandatory) empty
    and SE01 off by one, so the set must be rejected."""
    segments = []
    for raw in (SAMPLES / "valid" / "850_004010.edi").read_text("ascii").split("~"):
        seg = raw.strip("\r\n").split("*")
        if seg == [""]:
            continue
        if seg[0] == "ISA":
            seg[13] = f"{isa13_of(n)}"  # fixed width: the ISA stays 106 characters
        elif seg[0] == "IEA":
            seg[2] = isa13_of(n)
        elif seg[0] in ("GS", "GE"):
            seg[6 if seg[0] == "GS" else 2] = gs06_of(n)
        elif seg[0] == "BEG":
            seg[3] = "" if broken else po_number_of(n)
        elif seg[0] == "SE" and broken:
            seg[1] = str(int(seg[1]) + 1)
        segments.append("*".join(seg) + "~\n")
    return "".join(segments).encode("ascii")


def isa13_of(n: int) -> str:
    return f"{700_000 + n:09d}"


def gs06_of(n: int) -> str:
    return str(7_000 + n)


def po_number_of(n: int) -> str:
    return f"4700{n:06d}"


def ship_notice(n: int) -> bytes:
    sample = ROOT / "mappings" / "x12" / "ship-notice-to-856.samples" / "856_004010.input.json"
    doc = json.loads(sample.read_text(encoding="utf-8"))
    doc["shipment_id"] = shipment_of(n)
    return (json.dumps(doc, indent=2) + "\n").encode()


def shipment_of(n: int) -> str:
    return f"SHP7{n:07d}"


# -- the site: MEGAMART on sshd, the ERP and the WMS as folders, a ledger -----------------------


@dataclass
class Site:
    """One test's world: the partner's sshd and folders, our configuration, a clock."""

    root: Path
    server: SshServer
    clock: list[datetime] = field(default_factory=lambda: [START])
    pos: list[int] = field(default_factory=list)
    shipments: list[int] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    def partner(self, role: str) -> Path:
        """A folder of MEGAMART's, on the server's disk."""
        return self.server.sftp_root / PARTNER / role

    def configure(self, old: str, new: str) -> None:
        """Change the configuration file: ``old`` (which must be in it once) becomes ``new``."""
        text = self.config.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        self.config.write_text(text.replace(old, new), encoding="utf-8")

    def named_in(self, text: str) -> bool:
        """Whether a message names this server (``sftp://user@127.0.0.1:PORT`` or ``[127.0.0.1]:PORT``)."""
        return any(f"{host}:{self.server.port}" in text for host in ("@127.0.0.1", "[127.0.0.1]"))

    @property
    def erp(self) -> Path:
        return self.root / "var" / "erp" / "purchase-orders"

    @property
    def wms(self) -> Path:
        return self.root / "var" / "wms" / "outbound" / "ship-notices"

    @property
    def quarantine(self) -> Path:
        return self.root / "var" / "quarantine"

    def drop_po(self, n: int, data: bytes | None = None, name: str | None = None) -> str:
        """MEGAMART puts a file into its folder for us (written in place: it is not running)."""
        name = name or f"po-{n}.edi"
        (self.partner("inbound") / name).write_bytes(purchase_order(n) if data is None else data)
        if data is None:
            self.pos.append(n)
        return name

    def drop_ship_notice(self, n: int) -> None:
        self.wms.mkdir(parents=True, exist_ok=True)
        (self.wms / f"asn-{n}.json").write_bytes(ship_notice(n))
        self.shipments.append(n)

    def runner(
        self, *, worker: str = "first", progress: Callable[..., None] = lambda *a, **k: None
    ) -> tuple[Runner, Ledger]:
        config = load_config(self.config)
        ledger = Ledger.open(config.ledger.reveal_url(), clock=lambda: self.clock[0])
        runner = Runner(
            config,
            ledger,
            mappings_root=ROOT / "mappings",
            worker=worker,
            settle=True,
            now=lambda: self.clock[0],
            progress=progress,
        )
        return runner, ledger


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    require_sshd()
    return Keys.generate(tmp_path_factory.mktemp("flow-keys"))


@pytest.fixture
def site(keys: Keys, tmp_path: Path) -> Iterator[Site]:
    """sshd serving a copy of sftp_fixtures/ (MEGAMART's folders), and a configuration for it."""
    sftp_root = tmp_path / "server"
    shutil.copytree(FIXTURES, sftp_root)
    server = SshServer(tmp_path / "sshd", keys, sftp_root)
    server.start()
    root = tmp_path / "site"
    (root / "var").mkdir(parents=True)
    (root / "config.toml").write_text(
        CONFIG.format(
            port=server.port,
            user=getpass.getuser(),
            known_hosts=server.known_hosts("known_hosts"),
            private_key=keys.client,
        ),
        encoding="utf-8",
    )
    yield Site(root, server)
    server.stop()


# -- what we look at --------------------------------------------------------------------------


def names(folder: Path) -> list[str]:
    """Every file in a folder, temporary and hidden names included (but the fixture's .gitkeep)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != ".gitkeep")


def finished(folder: Path) -> list[str]:
    """The files a partner (or the ERP) would pick up: no temporary names."""
    return [n for n in names(folder) if not is_ignored(n, DEFAULT_IGNORE)]


def temporary(folder: Path) -> list[str]:
    return [n for n in names(folder) if is_ignored(n, DEFAULT_IGNORE)]


def sent_to_partner(site: Site) -> Counter[tuple[str, str]]:
    """What MEGAMART finds in its outbound folder, read with the X12 reader: (set, what it is about).

    Every file must be complete, valid X12 whose name is its ISA13; a half-written file fails here."""
    found: Counter[tuple[str, str]] = Counter()
    for name in finished(site.partner("outbound")):
        result = decode((site.partner("outbound") / name).read_bytes())
        errors = [str(f) for f in result.findings if f.severity == "error"]
        assert not errors, f"{name} is not a complete, valid interchange: {errors[:2]}"
        [inter] = result.document["interchanges"]
        assert name.endswith(f"_{inter['ISA']['ISA13']}.edi"), name
        for group in inter["groups"]:
            for tset in group["sets"]:
                if tset["ST"]["ST01"] == "997":
                    found[("997", str(tset["AK1"]["AK102"]))] += 1
                elif tset["ST"]["ST01"] == "856":
                    found[("856", str(tset["BSN"]["BSN02"]))] += 1
                else:
                    found[(str(tset["ST"]["ST01"]), "?")] += 1
    return found


def delivered_to_erp(site: Site) -> Counter[str]:
    """PO numbers in the ERP folder; each file must be complete JSON."""
    assert temporary(site.erp) == []
    return Counter(json.loads((site.erp / n).read_bytes())["po_number"] for n in finished(site.erp))


def states(ledger: Ledger, kind: str, direction: Direction) -> Counter[State]:
    return Counter(d.state for d in ledger.find(partner=PARTNER, direction=direction, kind=kind, limit=1000))


def assert_nothing_needs_a_person(site: Site, ledger: Ledger, summary: Summary) -> None:
    assert not summary.failed, summary.problems
    counts = ledger.counts()
    assert not any(counts.get((d, s)) for d in Direction for s in (State.QUARANTINED, State.DEAD_LETTERED))
    assert ledger.dead_letters(include_resolved=True) == []
    assert names(site.quarantine / IN_FLOW) == names(site.quarantine / SHIP_FLOW) == []


def assert_in_flight_is_safe(site: Site, ledger: Ledger, summary: Summary) -> None:
    """After a pass the server died in: nothing lost, nothing half-visible, nothing given up on."""
    assert_nothing_needs_a_person(site, ledger, summary)
    assert any(site.named_in(p) for p in summary.problems), summary.problems  # says which server
    inbox = finished(site.partner("inbound"))
    archived = finished(site.partner("archive"))
    for doc in ledger.find(partner=PARTNER, direction=Direction.IN, limit=1000):
        assert doc.state in (State.ARCHIVED, State.RETRY_WAIT, State.VALIDATED), (doc.file_name, doc.state)
        if doc.state == State.VALIDATED:  # recorded with the chunk, postponed: free for the next pass
            assert doc.claimed_by is None and doc.attempts == 0, doc
            assert doc.file_name in inbox
            assert any(f"{doc.file_name}: postponed" in p for p in summary.problems), summary.problems
        elif doc.state == State.RETRY_WAIT:  # waits with a reason that names the server
            assert doc.last_error and doc.last_error.startswith("TransportError: ")
            assert site.named_in(doc.last_error), doc.last_error
            assert doc.file_name in inbox  # the partner's file stays until the work is done
        else:
            assert doc.file_name in archived
    recorded = {d.file_name for d in ledger.find(partner=PARTNER, direction=Direction.IN, limit=1000)}
    assert set(inbox) | set(archived) == {f"po-{n}.edi" for n in site.pos}  # nothing lost
    assert recorded <= set(inbox) | set(archived)
    for doc in ledger.find(partner=PARTNER, direction=Direction.OUT, kind="x12/856", limit=1000):
        assert doc.state in (State.SENT, State.RETRY_WAIT), doc.state
        if doc.state == State.RETRY_WAIT:
            assert doc.last_error and site.named_in(doc.last_error), doc.last_error
            assert doc.file_name in finished(site.wms)  # the WMS file stays until it is sent
    # no half-written file under a final name: every file the partner can see is whole, and each
    # belongs to a document the ledger says was sent
    on_server = sent_to_partner(site)
    acked = {
        str(int(d.isa13 or 0) - 700_000)
        for d in ledger.find(partner=PARTNER, direction=Direction.IN, states=[State.ARCHIVED], limit=1000)
    }
    assert {k for s, k in on_server if s == "997"} == {gs06_of(int(n)) for n in acked}
    sent = ledger.find(
        partner=PARTNER, direction=Direction.OUT, kind="x12/856", states=[State.SENT], limit=1000
    )
    assert sum(n for (s, _), n in on_server.items() if s == "856") == len(sent)
    assert delivered_to_erp(site) == Counter(po_number_of(int(n)) for n in acked)


def assert_complete(site: Site, ledger: Ledger) -> None:
    """Everything done exactly once: each PO delivered, acknowledged and archived, each 856 sent."""
    assert states(ledger, "x12", Direction.IN) == Counter({State.ARCHIVED: len(site.pos)})
    assert states(ledger, "x12/997", Direction.OUT) == Counter({State.ARCHIVED: len(site.pos)})
    assert states(ledger, "x12/856", Direction.OUT) == Counter({State.SENT: len(site.shipments)})
    assert delivered_to_erp(site) == Counter(po_number_of(n) for n in site.pos)
    assert sent_to_partner(site) == Counter(
        [("997", gs06_of(n)) for n in site.pos] + [("856", shipment_of(n)) for n in site.shipments]
    )
    assert finished(site.partner("inbound")) == []
    assert finished(site.partner("archive")) == sorted(f"po-{n}.edi" for n in site.pos)
    assert finished(site.wms) == []
    assert ledger.verify() > 0


# -- the SFTP server stopped mid-run ----------------------------------------------------------


class KillAt:
    """A progress callback that kills sshd the first time the pass reports ``marker`` (a file or a
    flow name). Whatever the shape of the progress report, it names what the pass is working on."""

    def __init__(self, server: SshServer, marker: str) -> None:
        self.server, self.marker, self.killed = server, marker, False

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        if not self.killed and self.marker in repr((args, kwargs)):
            self.server.stop()
            self.killed = True


@pytest.mark.parametrize(
    "marker",
    [
        "po-1.edi",  # before anything reached the server
        "po-3.edi",  # halfway through the partner's purchase orders
        SHIP_FLOW,  # between the flows: the POs are done, the 856s cannot go
        "asn-2.json",  # halfway through our ship notices
    ],
)
def test_sftp_server_stopped_mid_run_means_retries_then_everything_once(site: Site, marker: str) -> None:
    for n in range(1, 5):
        site.drop_po(n)
    for n in range(1, 4):
        site.drop_ship_notice(n)
    kill = KillAt(site.server, marker)
    r, ledger = site.runner(progress=kill)
    first = r.run_once()
    assert kill.killed
    assert_in_flight_is_safe(site, ledger, first)
    assert temporary(site.partner("outbound")) == [] and temporary(site.erp) == []
    assert first.counts[(SHIP_FLOW, "flow_error")] + first.counts[(SHIP_FLOW, "retry_wait")] >= 1

    # the server still down: the next pass fails again, transiently, and gives nothing up
    attempts = {d.id: d.attempts for d in ledger.find(partner=PARTNER, limit=1000)}
    site.clock[0] += LATER
    down = r.run_once()
    assert down.counts[(IN_FLOW, "flow_error")] == down.counts[(SHIP_FLOW, "flow_error")] == 1
    assert any("connection refused" in p for p in down.problems), down.problems
    assert {d.id: d.attempts for d in ledger.find(partner=PARTNER, limit=1000)} == attempts
    assert_in_flight_is_safe(site, ledger, down)

    # back on the same port with the same host key; the retry time has come
    site.server.start()
    site.clock[0] += LATER
    second = r.run_once()
    assert_nothing_needs_a_person(site, ledger, second)
    assert_complete(site, ledger)
    assert temporary(site.partner("outbound")) == []  # the kills fell between uploads

    # and a pass after that has nothing to do
    site.clock[0] += LATER
    third = r.run_once()
    assert third.table() == [] and third.problems == []
    assert_complete(site, ledger)
    ledger.close()


class KillDuringUpload:
    """sshd dies while we upload the first file whose name starts with ``prefix``: half of its bytes
    have reached the server's disk (under the temporary name), the rest never will."""

    def __init__(
        self, site: Site, prefix: str, monkeypatch: pytest.MonkeyPatch, *, crash: bool = False
    ) -> None:
        self.site, self.prefix, self.crash = site, prefix, crash
        self.seen_at_kill: list[str] | None = None
        self.partial: bytes = b""
        original = paramiko.sftp_file.SFTPFile.write

        def write(file: Any, data: Any) -> Any:
            outbound = site.partner("outbound")
            if self.seen_at_kill is None and any(
                n.startswith(f".{prefix}") and n.endswith(".part") for n in names(outbound)
            ):
                half = bytes(data)[: len(data) // 2]
                original(file, half)
                file.flush()
                file.stat()  # answered after the write before it: the server holds these bytes now
                self.seen_at_kill = names(outbound)
                [temp] = [n for n in self.seen_at_kill if n.startswith(f".{prefix}")]
                self.partial = (outbound / temp).read_bytes()
                if crash:  # the process dies here (kill -9): nothing after this line runs
                    raise Crash(f"crashed while uploading {temp}")
                site.server.stop()
                return original(file, bytes(data)[len(half) :])
            return original(file, data)

        monkeypatch.setattr(paramiko.sftp_file.SFTPFile, "write", write)


class Crash(BaseException):
    """The process dying: not an error erpbridge handles, so nothing catches it."""


@pytest.mark.parametrize("prefix", ["997_", "856_"])
def test_sftp_server_killed_during_an_upload_leaves_no_half_written_file(
    site: Site, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2):
        site.drop_po(n)
    for n in (1, 2):
        site.drop_ship_notice(n)
    upload = KillDuringUpload(site, prefix, monkeypatch)
    r, ledger = site.runner()
    first = r.run_once()
    assert upload.seen_at_kill is not None, "the upload was never reached"
    # at the moment the server died, the partner's folder held our bytes only under a temporary name
    assert [n for n in upload.seen_at_kill if n.startswith(prefix)] == []
    assert upload.partial and b"IEA" not in upload.partial  # half an interchange
    assert_in_flight_is_safe(site, ledger, first)
    failed = [d.kind for d in ledger.find(partner=PARTNER, limit=1000) if d.state == State.RETRY_WAIT]
    # the PO whose 997 was cut off; or the 856 cut off: the next one is not even written (no
    # control numbers spent, no attempt used) once a put on the flow's target failed. The other
    # PO, recorded with the first in one chunk, waits for the next pass without an attempt spent
    assert failed == (["x12"] if prefix == "997_" else ["x12/856"]), failed
    if prefix == "997_":
        assert first.counts[(IN_FLOW, "postponed")] == 1, first.counts
    step = "acknowledge" if prefix == "997_" else "put"
    assert any(f"will retry {step}" in p for p in first.problems), first.problems
    # sshd could not remove the temporary file as it died: it stays, under a name no listing shows
    [stale] = temporary(site.partner("outbound"))
    assert stale.startswith(f".{prefix}") and stale.endswith(".part")

    site.server.start()
    site.clock[0] += LATER
    second = r.run_once()
    assert_nothing_needs_a_person(site, ledger, second)
    assert_complete(site, ledger)
    [whole] = [n for n in finished(site.partner("outbound")) if n.startswith(prefix) and n[1:] in stale]
    assert (site.partner("outbound") / whole).read_bytes().startswith(upload.partial)
    assert temporary(site.partner("outbound")) == [stale]  # ignored by every listing, ours included
    ledger.close()


# -- a 997 recorded but never put ---------------------------------------------------------------


@pytest.mark.parametrize("partner_file", ["deleted", "archived"])
def test_a_997_written_but_not_put_before_a_crash_is_put_by_the_next_run(
    site: Site, partner_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.drop_po(1)
    site.drop_po(2)
    KillDuringUpload(site, "997_", monkeypatch, crash=True)
    r, ledger = site.runner(worker="crashed")
    with pytest.raises(Crash):
        r.run_once()
    ledger.close()
    with Ledger.open(load_config(site.config).ledger.reveal_url()) as after:
        recorded = after.find(partner=PARTNER)
    # what the crash left: both POs validated (recorded together, as one chunk), their 997s
    # written (control numbers allocated), neither put
    assert sorted((d.kind, d.state) for d in recorded) == [
        ("x12", State.VALIDATED),
        ("x12", State.VALIDATED),
        ("x12/997", State.WRITTEN),
        ("x12/997", State.WRITTEN),
    ]
    # the partner's file goes away before we come back (they withdrew it, or someone tidied up)
    inbound = site.partner("inbound") / "po-1.edi"
    if partner_file == "deleted":
        inbound.unlink()
    else:
        inbound.rename(site.partner("archive") / "po-1.edi")
    monkeypatch.undo()

    # a new process, after the dead one's claims expired
    site.clock[0] += LATER
    r, ledger = site.runner(worker="restarted")
    summary = r.run_once()
    assert_nothing_needs_a_person(site, ledger, summary)
    assert states(ledger, "x12/997", Direction.OUT) == Counter({State.ARCHIVED: 2})
    assert states(ledger, "x12", Direction.IN) == Counter({State.ARCHIVED: 2})
    assert sent_to_partner(site) == Counter({("997", gs06_of(1)): 1, ("997", gs06_of(2)): 1})
    assert delivered_to_erp(site) == Counter({po_number_of(1): 1, po_number_of(2): 1})
    assert finished(site.partner("inbound")) == []
    expected_archive = ["po-2.edi"] + (["po-1.edi"] if partner_file == "archived" else [])
    assert finished(site.partner("archive")) == sorted(expected_archive)
    ledger.close()


# -- a malformed file ---------------------------------------------------------------------------


def test_malformed_files_are_rejected_or_quarantined_with_a_readable_reason(site: Site) -> None:
    site.drop_po(1)
    broken = site.drop_po(2, purchase_order(2, broken=True), "broken.edi")
    unreadable = site.drop_po(3, (SAMPLES / "invalid" / "bad_isa_length.edi").read_bytes(), "bad-isa.edi")
    truncated = site.drop_po(4, (SAMPLES / "invalid" / "truncated.edi").read_bytes(), "truncated.edi")
    r, ledger = site.runner()
    summary = r.run_once()
    assert summary.failed  # erpbridge run --once exits 1
    quarantine = site.quarantine / IN_FLOW
    by_file = {d.file_name: d for d in ledger.find(partner=PARTNER, direction=Direction.IN)}

    # the good PO went through
    assert by_file["po-1.edi"].state == State.ARCHIVED
    assert delivered_to_erp(site) == Counter({po_number_of(1): 1})

    # the broken 850: a 997 rejecting it (AK5*R, AK9*R) on the server, with what is wrong
    acks = {}  # the group each 997 answers (AK102) -> the file's text
    for name in finished(site.partner("outbound")):
        data = (site.partner("outbound") / name).read_bytes()
        [inter] = decode(data).document["interchanges"]
        for group in inter["groups"]:
            for tset in group["sets"]:
                acks[str(tset["AK1"]["AK102"])] = data.decode()
    assert sorted(acks) == sorted([gs06_of(1), gs06_of(2), "1318"])  # none for the unreadable ISA
    text = acks[gs06_of(2)]
    assert "AK5*R" in text and "AK9*R*1*1*0" in text
    assert "AK4*3*324*1" in text  # BEG03 (element 324) mandatory and missing
    doc = by_file[broken]
    assert doc.state == State.ARCHIVED  # rejected, then archived: see ledger/states.py
    trail = [(e.to_state, e.step, e.detail) for e in ledger.events(doc.id)]
    assert (State.REJECTED, "acknowledge") in [(s, step) for s, step, _ in trail]
    [rejected_detail] = [d for s, _, d in trail if s == State.REJECTED]
    assert "BEG03" in json.dumps(rejected_detail)  # the ledger keeps why
    reason = (quarantine / f"{broken}.reason.txt").read_text()
    assert "BEG03" in reason and "mandatory" in reason and "SE01" in reason, reason
    assert (quarantine / broken).read_bytes() == purchase_order(2, broken=True)
    assert any(broken in p and "BEG03" in p for p in summary.problems), summary.problems

    # an ISA that cannot be read: no delimiters, so nothing to acknowledge; quarantined, with why
    doc = by_file[unreadable]
    assert doc.state == State.QUARANTINED
    assert doc.last_error and "ISA" in doc.last_error
    reason = (quarantine / f"{unreadable}.reason.txt").read_text()
    assert "ISA" in reason and reason.startswith("validate: "), reason
    assert [dl.reason for dl in ledger.dead_letters()] == [doc.last_error]

    # a readable ISA whose interchange stops early (ISA14 asks for a TA1): TA1 R 023, and a 997 R
    doc = by_file[truncated]
    assert doc.state == State.ARCHIVED
    ta1_file = acks["1318"]
    assert "TA1*000001018*" in ta1_file and "*R*023~" in ta1_file, ta1_file
    assert "AK9*R*" in ta1_file
    assert (quarantine / f"{truncated}.reason.txt").is_file()

    # every bad file left the partner's inbox; nothing was delivered for them
    assert finished(site.partner("inbound")) == []
    assert sorted(finished(site.partner("archive"))) == sorted([broken, unreadable, truncated, "po-1.edi"])
    again = r.run_once()
    assert not again.failed and again.counts[(IN_FLOW, "received")] == 0
    ledger.close()


def test_a_set_the_partners_guide_refuses_is_rejected_by_our_997(site: Site) -> None:
    """Our 997 says what validation said, partner overlay included: a set that breaks MEGAMART's
    implementation guide (here BIGBOX's 856 guide, which requires BSN05) is rejected, not accepted."""
    site.configure('version = "004010"\n', 'version = "004010"\noverlay = "BIGBOX"\n')
    site.configure('documents = ["x12/850", "x12/997"]', 'documents = ["x12/850", "x12/856", "x12/997"]')
    data = (SAMPLES / "valid" / "856_004010.edi").read_bytes()
    for a, b in ((b"NWOUTFITTERS   ", b"MEGAMART       "), (b"*NWOUTFITTERS*", b"*MEGAMART*")):
        data = data.replace(a, b"\0").replace(b, a).replace(b"\0", b)  # from MEGAMART to us
    data = data.replace(b"*1430*0001~", b"*1430~", 1)  # no BSN05: fine for X12, not for the guide
    name = site.drop_po(0, data, "asn.edi")
    r, ledger = site.runner()
    summary = r.run_once()
    [ack] = finished(site.partner("outbound"))
    text = (site.partner("outbound") / ack).read_text()
    assert "AK1*SH*4001~" in text and "AK5*R" in text and "AK9*R*1*1*0~" in text, text
    reason = (site.quarantine / IN_FLOW / f"{name}.reason.txt").read_text()
    assert "BSN05" in reason and "partner's guide" in reason, reason
    assert delivered_to_erp(site) == Counter()
    assert summary.counts[(IN_FLOW, "rejected")] == 1
    ledger.close()
