"""A site with many documents for the crash and two-process tests, and the checks that nothing was
lost, duplicated or numbered twice.

A site is a folder with a configuration modelled on config.example.toml (MEGAMART's 850s in, our
856s and 846s out, local folders for the partner, the ERP and the WMS) and a ledger (a SQLite file
in the folder, or a PostgreSQL URL). :func:`build_site` fills it with distinct, valid inputs made
from the bundled samples: 850 interchanges (each with its own ISA13, GS06 and PO number, alternating
004010 and 005010) and canonical ShipNotice and InventoryAdvice JSON (each with its own shipment or
advice number; some files hold a list of documents). :func:`check_site` reads back everything the
runs wrote, the files with the X12 reader and the ledger with :class:`~erpbridge.ledger.Ledger`,
and returns what is wrong, one line each.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erpbridge.formats.x12 import decode
from erpbridge.ledger import Direction, Ledger, State
from erpbridge.ledger.chain import canonical_json
from erpbridge.model import from_json, to_json
from erpbridge.transports.base import DEFAULT_IGNORE, is_ignored
from tests.conftest import ROOT, SAMPLES

X12 = ROOT / "mappings" / "x12"
PARTNER = "megamart"
IN_FLOW = "megamart_orders_in"
SHIP_FLOW = "megamart_ship_notices_out"
INVENTORY_FLOW = "megamart_inventory_out"

# -- TOML fragments the integration tests' configurations share -------------------------------------
# They are str.format templates like the configurations they go into (literal braces doubled); the
# fields they leave to fill are named where they are defined.

#: The [erpbridge] and [ledger] tables of a site in the test's folder (a SQLite ledger in var/).
ERPBRIDGE = """\
[erpbridge]
isa_qualifier = "ZZ"
isa_id = "NWOUTFITTERS"
archive = "var/archive"
quarantine = "var/quarantine"
outbox = "var/outbox"

[ledger]
url = "sqlite:///var/ledger.sqlite3"
"""

#: The 3PL as a partner (it sends no X12 of its own: no ack, no endpoint).
BLUERIVER3PL = """
[partners.blueriver3pl]
isa_qualifier = "ZZ"
isa_id = "BLUERIVER3PL"
version = "004010"
"""

#: The WMS as a folder endpoint under var/wms.
WMS_FOLDER = """
[endpoints.wms]
type = "folder"
root = "var/wms"
"""

#: S/4HANA over OData (SAP's mock server): fields odata_url, sap_client, sap_user; the password
#: comes from S4_TEST_PASSWORD.
S4_ODATA = """
[endpoints.s4]
type = "sap_odata"
url = "{odata_url}"
client = "{sap_client}"
mapping = "mappings/sap/purchase-order-to-sales-order.yaml"
connect_timeout = "5s"
timeout = "15s"
auth = {{ user = "{sap_user}", password = {{ env = "S4_TEST_PASSWORD" }} }}
"""


def _settings(settings: dict[str, str]) -> str:
    return "".join(f"{key} = {value}\n" for key, value in settings.items())


def megamart(endpoint: str, **settings: str) -> str:
    """MEGAMART as a partner whose files go through ``endpoint``; ``settings`` are further keys of
    the table, each value as TOML writes it (``ack_window='"4h"'``)."""
    return (
        '\n[partners.megamart]\nisa_qualifier = "ZZ"\nisa_id = "MEGAMART"\nversion = "004010"\nack = "997"\n'
        + _settings(settings)
        + f'endpoint = "{endpoint}"\n'
    )


def sftp_endpoint(name: str, **settings: str) -> str:
    """An SFTP endpoint ``name`` on the sshd fixture (fields port, user, known_hosts, private_key);
    ``settings`` are further keys of the table, each value as TOML writes it."""
    return (
        f"\n[endpoints.{name}]\n"
        'type = "sftp"\nhost = "127.0.0.1"\nport = {port}\nusername = "{user}"\n'
        'known_hosts = "{known_hosts}"\nprivate_key = "{private_key}"\nconnect_timeout = "5s"\n'
        + _settings(settings)
        + 'io_timeout = "10s"\n'
    )


def netsuite_tba(endpoint: str) -> str:
    """The [endpoints.<endpoint>.auth] table of a NetSuite endpoint signing with token-based
    authentication, the four secrets from NS_CONSUMER_KEY, NS_CONSUMER_SECRET, NS_TOKEN_ID and
    NS_TOKEN_SECRET (the NetSuite emulator's fixture sets them)."""
    return (
        f"\n[endpoints.{endpoint}.auth]\n"
        'consumer_key = {{ env = "NS_CONSUMER_KEY" }}\nconsumer_secret = {{ env = "NS_CONSUMER_SECRET" }}\n'
        'token_id = {{ env = "NS_TOKEN_ID" }}\ntoken_secret = {{ env = "NS_TOKEN_SECRET" }}\n'
    )


CONFIG = """\
# modelled on config.example.toml: one partner, local folders, the ERP and the WMS as folders
[erpbridge]
isa_qualifier = "ZZ"
isa_id = "NWOUTFITTERS"
archive = "var/archive"
quarantine = "var/quarantine"
outbox = "var/outbox"

[ledger]
url = "{ledger_url}"
busy_timeout = "30s"

[partners.megamart]
name = "MegaMart Stores"
isa_qualifier = "ZZ"
isa_id = "MEGAMART"
version = "004010"
ack = "997"
ack_window = "4h"
endpoint = "megamart"

[endpoints.megamart]
type = "local"
root = "var/partners/megamart"

[endpoints.erp]
type = "folder"
root = "var/erp"

[endpoints.wms]
type = "folder"
root = "var/wms"

[flows.megamart_orders_in]
direction = "in"
partner = "megamart"
source = {{ folder = "inbound", archive = "archive" }}
target = {{ endpoint = "erp", folder = "purchase-orders" }}
acks = {{ folder = "outbound" }}
documents = ["x12/850", "x12/997"]
every = "1m"

[flows.megamart_ship_notices_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/ship-notices", archive = "archive/ship-notices" }}
target = {{ folder = "outbound" }}
documents = {{ ShipNotice = "x12/856" }}
every = "1m"

[flows.megamart_inventory_out]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/inventory", archive = "archive/inventory" }}
target = {{ folder = "outbound" }}
documents = {{ InventoryAdvice = "x12/846" }}
every = "1m"
"""


@dataclass
class Site:
    """Where a site is and what was put into it."""

    root: Path
    ledger_url: str
    #: ISA13 of each inbound interchange -> its PO number
    inbound: dict[str, str] = field(default_factory=dict)
    #: idempotency key the runner gives each outbound document -> (kind, its number)
    outbound: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def partner(self) -> Path:
        return self.var / "partners" / PARTNER

    @property
    def erp(self) -> Path:
        return self.var / "erp" / "purchase-orders"

    @property
    def documents(self) -> int:
        return len(self.inbound) + len(self.outbound)

    def erpbridge(self, *args: str, stdout: Path, stderr: Path) -> subprocess.Popen[bytes]:
        """``python -m erpbridge ARGS`` in the site's folder, its output going to files."""
        with stdout.open("ab") as out, stderr.open("ab") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "erpbridge", *args], cwd=self.root, stdout=out, stderr=err
            )


def _segments(template: bytes) -> list[list[str]]:
    text = template.decode("ascii")
    return [s.strip("\r\n").split("*") for s in text.split("~") if s.strip("\r\n")]


def purchase_order(template: bytes, isa13: int, gs06: int, po_number: str) -> bytes:
    """The template interchange with its own ISA13/IEA02, GS06/GE02 and PO number (BEG03)."""
    out = []
    for seg in _segments(template):
        seg = list(seg)
        if seg[0] == "ISA":
            seg[13] = f"{isa13:09d}"  # fixed width: the ISA stays 106 characters
        elif seg[0] == "IEA":
            seg[2] = f"{isa13:09d}"
        elif seg[0] == "GS":
            seg[6] = str(gs06)
        elif seg[0] == "GE":
            seg[2] = str(gs06)
        elif seg[0] == "BEG":
            seg[3] = po_number
        out.append("*".join(seg) + "~\n")
    return "".join(out).encode("ascii")


def _write_json(path: Path, value: Any) -> bytes:
    data = (json.dumps(value, indent=2) + "\n").encode()
    path.write_bytes(data)
    return data


def build_site(
    root: Path,
    *,
    ledger_url: str | None = None,
    inbound: int = 500,
    ship_notices: int = 250,
    inventory: int = 250,
) -> Site:
    """A site in ``root`` with ``inbound`` 850 interchanges, ``ship_notices`` ShipNotice and
    ``inventory`` InventoryAdvice documents waiting (every fifth outbound file holds three)."""
    root.mkdir(parents=True, exist_ok=True)
    url = ledger_url or f"sqlite:///{root / 'var' / 'ledger.sqlite3'}"
    site = Site(root, url)
    (root / "config.toml").write_text(CONFIG.format(ledger_url=url), encoding="utf-8")
    inbox = site.partner / "inbound"
    inbox.mkdir(parents=True)
    templates = [(SAMPLES / "valid" / n).read_bytes() for n in ("850_004010.edi", "850_005010.edi")]
    for n in range(inbound):
        isa13, po = 500_000 + n, f"47{n:08d}"
        data = purchase_order(templates[n % 2], isa13=isa13, gs06=30_000 + n, po_number=po)
        (inbox / f"po-{n:05d}.edi").write_bytes(data)
        site.inbound[f"{isa13:09d}"] = po
    wms = site.var / "wms" / "outbound"
    specs = [
        (
            SHIP_FLOW,
            "ship-notices",
            X12 / "ship-notice-to-856.samples" / "856_004010.input.json",
            "shipment_id",
            "SHP",
            ship_notices,
        ),
        (
            INVENTORY_FLOW,
            "inventory",
            X12 / "inventory-advice-to-846.samples" / "846_004010.input.json",
            "advice_number",
            "INV",
            inventory,
        ),
    ]
    for flow, folder, sample, key, prefix, count in specs:
        (wms / folder).mkdir(parents=True)
        template = json.loads(sample.read_text(encoding="utf-8"))
        kind = str(template["kind"])
        n = 0
        while n < count:
            size = min(3 if n % 5 == 0 else 1, count - n)
            docs = []
            for i in range(size):
                doc = copy.deepcopy(template)
                doc[key] = f"{prefix}{n + i:08d}"
                docs.append(doc)
            _write_json(wms / folder / f"{prefix.lower()}-{n:05d}.json", docs if size > 1 else docs[0])
            for doc in docs:  # the runner's key: the document's content, as the model checked it,
                # without when the export was made (a ShipNotice's notice date and time)
                checked = to_json(from_json(kind, doc))
                when = ("notice_date", "notice_time") if kind == "ShipNotice" else ()
                content = canonical_json({k: v for k, v in checked.items() if k not in when})
                site.outbound[f"{flow}:{kind}:{hashlib.sha256(content.encode()).hexdigest()}"] = (
                    kind,
                    doc[key],
                )
            n += size
    return site


def events_count(site: Site) -> int:
    """How many events the ledger holds (0 before it exists); read without taking any lock."""
    import sqlite3

    path = site.ledger_url.removeprefix("sqlite:///")
    if not Path(path).exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT max(id) FROM events").fetchone()
    except sqlite3.OperationalError:  # the schema is being created
        return 0
    return int(row[0] or 0)


def _walk(folder: Path) -> Iterable[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


def _cut_put(path: Path) -> bool:
    """Whether ``path`` is what a put cut short by SIGKILL leaves (the transports' temporary name
    ``.NAME.RANDOM.part``, holding the start of what is now, complete, under ``NAME``)."""
    m = re.fullmatch(r"\.(.+)\.[0-9a-f]{8}\.part", path.name)
    final = path.with_name(m.group(1)) if m else None
    return final is not None and final.is_file() and final.read_bytes().startswith(path.read_bytes())


def check_site(site: Site, ledger: Ledger, *, cut_puts: list[str] | None = None) -> list[str]:
    """Everything that is wrong with the site after the runs: lost, duplicated or half-done work,
    reused control numbers, a broken hash chain, temporary files. Empty when all is well.

    With ``cut_puts``, a temporary file that a put killed half-way left (its complete file is
    there under its name, put again by the next run) is listed there instead of being a problem:
    nothing removes such leftovers yet (docs/transports.md), and nothing ever lists them."""
    problems: list[str] = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    # -- the ledger ------------------------------------------------------------------------------
    expect(ledger.verify() > 0, "the event chain is empty")
    inbound_docs = ledger.find(partner=PARTNER, direction=Direction.IN, limit=100_000)
    by_isa13 = Counter(d.isa13 for d in inbound_docs)
    expect(
        set(by_isa13) == set(site.inbound),
        f"inbound documents by ISA13: {len(set(site.inbound) - set(by_isa13))} missing, "
        f"{len(set(by_isa13) - set(site.inbound))} unexpected",
    )
    expect(
        all(n == 1 for n in by_isa13.values()),
        f"inbound ISA13s recorded twice: {sorted(k for k, n in by_isa13.items() if n > 1)[:5]}",
    )
    expect(
        all(d.state == State.ARCHIVED for d in inbound_docs),
        "inbound documents not archived: "
        + ", ".join(
            sorted({f"{d.isa13}={d.state.value}" for d in inbound_docs if d.state != State.ARCHIVED})[:8]
        ),
    )
    outbound_docs = ledger.find(partner=PARTNER, direction=Direction.OUT, limit=100_000)
    sets = [d for d in outbound_docs if d.kind in ("x12/856", "x12/846")]
    acks = [d for d in outbound_docs if d.kind == "x12/997"]
    others = [d for d in outbound_docs if d not in sets and d not in acks]
    expect(not others, f"unexpected outbound documents: {[(d.kind, d.state.value) for d in others][:5]}")
    keys = Counter(d.idempotency_key for d in sets)
    expect(
        set(keys) == set(site.outbound) and all(n == 1 for n in keys.values()),
        f"outbound documents by idempotency key: {len(set(site.outbound) - set(keys))} missing, "
        f"{len(set(keys) - set(site.outbound))} unexpected, {sum(n > 1 for n in keys.values())} twice",
    )
    expect(
        all(d.state == State.SENT for d in sets),
        "outbound documents not sent: "
        + ", ".join(
            sorted({f"{d.kind} {d.isa13}={d.state.value}" for d in sets if d.state != State.SENT})[:8]
        ),
    )
    acked: Counter[str] = Counter()
    for ack in acks:
        for link in ledger.links(ack.id):
            if link.from_document == ack.id and link.relation.value == "acknowledges":
                acked[link.to_document] += 1
    expect(
        acked == Counter({d.id: 1 for d in inbound_docs}),
        f"our 997s in the ledger: {len(acks)} for {len(inbound_docs)} interchanges, "
        f"{sum(n > 1 for n in acked.values())} acknowledged twice",
    )
    expect(
        all(d.state == State.ARCHIVED for d in acks),
        "our 997s not archived: "
        + ", ".join(sorted({f"{d.isa13}={d.state.value}" for d in acks if d.state != State.ARCHIVED})[:8]),
    )
    entered: dict[str, Counter[str]] = {}
    after = 0
    while page := ledger.events(after=after, limit=5000):
        for event in page:
            if event.document_id is not None and event.to_state is not None:
                entered.setdefault(event.document_id, Counter())[event.to_state.value] += 1
        after = page[-1].id
    twice = sorted(
        f"{doc_id} {state}"
        for doc_id, states in entered.items()
        if "retry_wait" not in states  # a retry enters its work state again
        for state, n in states.items()
        if n > 1
    )
    expect(not twice, f"documents that entered a state twice (advanced twice): {twice[:5]}")
    counts = ledger.counts()
    attention = {
        f"{d.value} {s.value}": n
        for (d, s), n in counts.items()
        if s not in (State.ARCHIVED, State.SENT) and n
    }
    expect(not attention, f"documents neither archived nor sent: {attention}")
    expect(not ledger.dead_letters(include_resolved=True), "dead letters or quarantined documents")

    # -- the ERP folder: one canonical purchase order per inbound interchange ---------------------
    pos: Counter[str] = Counter()
    for path in site.erp.iterdir() if site.erp.is_dir() else ():
        if is_ignored(path.name, DEFAULT_IGNORE):
            continue
        doc = json.loads(path.read_bytes())
        pos[doc["po_number"]] += 1
        isa13 = doc["meta"]["interchange_control_number"]
        expect(
            site.inbound.get(isa13) == doc["po_number"],
            f"{path.name}: PO {doc['po_number']} does not come from interchange {isa13}",
        )
    expect(
        set(pos) == set(site.inbound.values()),
        f"purchase orders in the ERP folder: {len(set(site.inbound.values()) - set(pos))} missing, "
        f"{len(set(pos) - set(site.inbound.values()))} unexpected",
    )
    expect(
        all(n == 1 for n in pos.values()),
        f"PO numbers delivered twice: {[p for p, n in pos.items() if n > 1][:5]}",
    )

    # -- what we wrote to the partner: read back with the X12 reader ------------------------------
    numbers: dict[str, Counter[str]] = {"ISA13": Counter(), "GS06": Counter(), "ST02": Counter()}
    written: Counter[tuple[str, str]] = Counter()
    ack_for: Counter[str] = Counter()
    for path in sorted((site.partner / "outbound").iterdir()):
        if is_ignored(path.name, DEFAULT_IGNORE):
            continue
        result = decode(path.read_bytes())
        errors = [f for f in result.findings if f.severity == "error"]
        expect(not errors, f"{path.name}: {errors[:1]}")
        for inter in result.document["interchanges"]:
            isa13 = inter["ISA"]["ISA13"]
            numbers["ISA13"][isa13] += 1
            expect(path.name.endswith(f"_{isa13}.edi"), f"{path.name} holds interchange {isa13}")
            for group in inter["groups"]:
                gs06 = group["GS"]["GS06"]
                numbers["GS06"][gs06] += 1
                for tset in group["sets"]:
                    set_id, st02 = tset["ST"]["ST01"], tset["ST"]["ST02"]
                    numbers["ST02"][st02] += 1
                    if set_id == "856":
                        written[("ShipNotice", tset["BSN"]["BSN02"])] += 1
                    elif set_id == "846":
                        written[("InventoryAdvice", tset["BIA"]["BIA03"])] += 1
                    elif set_id == "997":
                        ack_for[tset["AK1"]["AK102"]] += 1
                    else:
                        problems.append(f"{path.name}: unexpected set {set_id}")
    for level, seen in numbers.items():
        repeats = [n for n, c in seen.items() if c > 1]
        expect(not repeats, f"{level} repeated in what we sent to {PARTNER}: {repeats[:5]}")
    wanted = Counter(site.outbound.values())
    expect(
        written == wanted,
        f"856/846 files: {len(set(wanted) - set(written))} documents missing, "
        f"{sum(n > 1 for n in written.values())} written twice, {len(set(written) - set(wanted))} unexpected",
    )
    inbound_gs06 = Counter(str(30_000 + int(i) - 500_000) for i in site.inbound)
    expect(
        ack_for == inbound_gs06,
        f"997 files: {sum(ack_for.values())} for {len(site.inbound)} interchanges "
        f"({len(set(inbound_gs06) - set(ack_for))} missing, {sum(n > 1 for n in ack_for.values())} twice)",
    )

    # -- nothing left behind ---------------------------------------------------------------------
    left = []
    for path in _walk(site.var):
        if not is_ignored(path.name, DEFAULT_IGNORE):
            continue
        if cut_puts is not None and _cut_put(path):
            cut_puts.append(str(path.relative_to(site.root)))
        else:
            left.append(str(path.relative_to(site.root)))
    expect(not left, f"temporary files left: {sorted(left)[:5]}")
    for folder in (
        site.partner / "inbound",
        site.var / "wms" / "outbound" / "ship-notices",
        site.var / "wms" / "outbound" / "inventory",
    ):
        rest = sorted(p.name for p in folder.iterdir())
        expect(not rest, f"{folder.relative_to(site.root)} still holds {rest[:5]}")
    quarantined = sorted(p.name for p in _walk(site.var / "quarantine"))
    expect(not quarantined, f"quarantined files: {quarantined[:5]}")
    return problems
