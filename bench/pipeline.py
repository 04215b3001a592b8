"""Pipeline benchmark: erpbridge's flows end to end, batch throughput and landed → delivered latency.

baseline: the targets of issue 4 (no peer): at least 200 ten-line 850s per second in batch, and a
P50 under 1 s from a file landing in the partner's folder to its canonical JSON in the target
folder, at a steady 50 files per second. Both on SQLite and on PostgreSQL.

Run (after ``ERPBRIDGE_EXTRAS=dev,bench bash scripts/_venv.sh`` or ./scripts/test built .venv)::

    .venv/bin/python bench/pipeline.py                     # both backends, about 15 minutes
    .venv/bin/python bench/pipeline.py --quick             # 200-file batches, 15 s latency runs, ~3 min
    .venv/bin/python bench/pipeline.py --backends sqlite --skip latency --profile   # where time goes
    .venv/bin/python bench/pipeline.py --polls 100ms --driver loop --json /tmp/pipeline.json

Exit status: 0 when every target is met, 1 when one is not, 2 when the run itself went wrong
(a document not delivered, PostgreSQL not reachable for a backend that was asked for).

What it does, per backend (SQLite: a file in a fresh temporary folder on disk; PostgreSQL: a fresh
database ``erpbridge_bench_<pid>`` on 127.0.0.1:5432, trust auth, or the admin URL in
``ERPBRIDGE_BENCH_POSTGRES``; dropped at the end). The site is the shape of config.example.toml:
partner MEGAMART on a local folder endpoint, an inbound 850 flow that sends our 997s and delivers
canonical JSON to an ERP folder, and an outbound ShipNotice → 856 flow.

1. Batch throughput: N files (``--documents``, default 600) already in the inbound folder, then
   one ``pipeline.Runner.run_once()`` timed from start to end (``--repeat`` times, default 3, with
   fresh files each time; the best time counts): each file is recorded, validated,
   acknowledged (997 written with ledger control numbers, put, marked sent), mapped, delivered as
   canonical JSON and archived, every step a ledger transaction. Measured on:

   - ``850 small``: the target's "ten-line 850": an interchange of 15 segments whose transaction set
     has 11 (ST BEG REF DTM N1 N3 N4 PO1 PID CTT SE), cut from edi_samples/valid/850_004010.edi;
   - ``850 10-item``: the whole sample (10 PO1 lines, 39 segments in the set), the document
     bench/mapping_throughput.py calls a ten-line 850;
   - ``ShipNotice → 856``: N/2 canonical JSON files (mappings/x12/ship-notice-to-856.samples)
     checked, mapped, written with control numbers from the ledger, put into the partner's folder
     and marked sent.

   Every document is distinct: its own ISA13, GS06 and PO number (BEG03), or shipment ID. A
   warm-up pass first loads mappings and schemas. The pass must deliver every document or the run
   fails. Besides documents per second (wall clock), the note gives documents per CPU-second of
   this process, which the other work on a shared machine disturbs less, and the SQL statements
   and transactions (commits) per document over every run of the batch (a SQLAlchemy event
   listener counts them; the run's own polls included): the figure that does not move with the
   machine's load.

2. Latency, once per poll interval in ``--polls`` (default ``250ms,1s``), each on a fresh site: the
   daemon runs (``--driver daemon``: the real ``erpbridge run --config`` process, with every flow's
   ``every`` set to the poll interval; ``--driver loop``: ``Runner.run_once`` in a thread of this
   process on the same interval grid). After 5 warm-up files are through, a producer thread lands
   small 850s at a steady
   ``--rate`` (default 50/s) for ``--seconds``: each is written under a hidden temporary name and
   renamed into the inbound folder, and the time of the rename is the landing time. A file's
   latency is the time its canonical JSON appeared in the target folder (its inode change time:
   the local transport writes a temporary file and renames it, and the rename sets ctime) minus
   its landing time. Both are the same wall clock; file times have the kernel's tick granularity
   (a few ms). P50, P95 and the maximum are over every file. A daemon that cannot keep up gets as
   long again as the run (at least 60 s) to drain its backlog; files still not delivered then count
   as delivered at that moment (a lower bound), and the note says how many.

3. Prints the machine (cores, CPU, Python, SQLite, PostgreSQL and its durability settings, the
   file system under the site), a table of the figures, and PASS/FAIL against the targets.

``--profile`` adds, per backend, one more batch each way (``--profile-documents``, default 300)
with timers wrapped around the ledger's methods, X12 decoding, acknowledgments, writing, mapping,
the model check and the transport's operations: the wall time per document of each (exclusive: a
timed call inside another is subtracted from it), the SQL statements and transactions per
document, then the same batch again under cProfile for the functions with the most own time
(``--profile-top``, default 25; cProfile slows Python code, so read those as shares).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import json
import os
import platform
import pstats
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_850 = ROOT / "edi_samples" / "valid" / "850_004010.edi"
SAMPLE_SHIP_NOTICE = ROOT / "mappings" / "x12" / "ship-notice-to-856.samples" / "856_004010.input.json"

TARGET_BATCH = 200.0  # ten-line 850s per second, batch
TARGET_P50 = 1.0  # seconds, landed -> target written, at TARGET_RATE
TARGET_RATE = 50.0  # files per second

PASSWORD_ENV = "ERPBRIDGE_BENCH_LEDGER_PASSWORD"  # set from the admin URL's password, if it has one
FLOW_IN = "orders_in"
FLOW_OUT = "ship_notices_out"

CONFIG = """\
# written by bench/pipeline.py
[erpbridge]
isa_qualifier = "ZZ"
isa_id = "NWOUTFITTERS"
archive = "archive"
quarantine = "quarantine"
outbox = "outbox"

[ledger]
url = "{ledger_url}"
{ledger_password}
[partners.megamart]
isa_qualifier = "ZZ"
isa_id = "MEGAMART"
version = "004010"
ack = "997"
ack_window = "4h"
endpoint = "megamart"

[endpoints.megamart]
type = "local"
root = "partners/megamart"

[endpoints.erp]
type = "folder"
root = "erp"

[endpoints.wms]
type = "folder"
root = "wms"

[flows.{flow_in}]
direction = "in"
partner = "megamart"
source = {{ folder = "inbound", archive = "archive" }}
target = {{ endpoint = "erp", folder = "purchase-orders" }}
acks = {{ folder = "outbound" }}
documents = ["x12/850", "x12/997"]
every = "{poll}"

[flows.{flow_out}]
direction = "out"
partner = "megamart"
source = {{ endpoint = "wms", folder = "outbound/ship-notices", archive = "archive/ship-notices" }}
target = {{ folder = "outbound" }}
documents = {{ ShipNotice = "x12/856" }}
every = "{poll}"
"""


class BenchError(Exception):
    """The run went wrong (not a missed target): exit 2 with this message."""


# -- inputs -------------------------------------------------------------------------------------


def _segments(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text(encoding="ascii").split("~") if s.strip()]


def small_850_template() -> list[str]:
    """The sample 850 cut to a set of 11 segments: ST BEG REF DTM N1 N3 N4 PO1 PID CTT SE."""
    segs = _segments(SAMPLE_850)
    first = {}
    for s in segs:
        tag = s.split("*", 1)[0]
        key = s[:6] if tag in ("REF", "DTM") else tag
        first.setdefault(key, s)
    body = [first[k] for k in ("ISA", "GS", "ST", "BEG", "REF*DP", "DTM*00", "N1", "N3", "N4", "PO1", "PID")]
    qty = body[-2].split("*")[2]
    body.append(f"CTT*1*{qty}")
    body.append(f"SE*{len(body) - 1}*0001")  # ST..SE, without ISA and GS
    return [*body, "GE*1*1001", "IEA*1*000000101"]


def full_850_template() -> list[str]:
    return _segments(SAMPLE_850)


def make_850(template: list[str], n: int) -> bytes:
    """The template with ISA13/IEA02 ``n``, GS06/GE02 ``n`` and PO number BEN<n>: a distinct interchange."""
    isa13 = f"{n:09d}"
    out = []
    for seg in template:
        el = seg.split("*")
        if el[0] == "ISA":
            el[13] = isa13
        elif el[0] == "IEA":
            el[2] = isa13
        elif el[0] == "GS":
            el[6] = str(n)
        elif el[0] == "GE":
            el[2] = str(n)
        elif el[0] == "BEG":
            el[3] = f"BEN{n:09d}"
        out.append("*".join(el))
    return ("~\n".join(out) + "~\n").encode("ascii")


def make_ship_notice(template: dict[str, Any], n: int) -> bytes:
    doc = json.loads(json.dumps(template))
    doc["shipment_id"] = f"SHPBENCH{n:09d}"
    doc["bill_of_lading"] = f"BOLBENCH{n:09d}"
    return (json.dumps(doc, indent=2) + "\n").encode()


def target_name(n: int) -> str:
    """The canonical JSON the inbound flow delivers for interchange ``n`` (docs/pipeline.md)."""
    return f"PurchaseOrder-megamart-{n:09d}-0001.json"


def land(folder: Path, name: str, data: bytes) -> float:
    """Write ``name`` atomically into ``folder`` (hidden temporary name, then rename); the time of the rename."""
    tmp = folder / f".{name}.landing"
    tmp.write_bytes(data)
    os.rename(tmp, folder / name)
    return time.time()


# -- sites and ledgers --------------------------------------------------------------------------


def _postgres_admin() -> tuple[str | None, str]:
    import psycopg

    explicit = os.environ.get("ERPBRIDGE_BENCH_POSTGRES") or os.environ.get("ERPBRIDGE_TEST_POSTGRES")
    candidates = (
        [explicit] if explicit else [f"postgresql://{u}@127.0.0.1:5432/test" for u in ("postgres", "root")]
    )
    problems = []
    for url in candidates:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as exc:
            problems.append(f"{url}: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}")
    return None, "; ".join(problems)


@dataclass
class Site:
    """A folder with config.toml, the partner's and the ERP/WMS folders, and its ledger."""

    backend: str
    folder: Path
    ledger_url: str
    cleanup: Callable[[], None]
    db_info: dict[str, str] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.folder / "config.toml"

    @property
    def inbound(self) -> Path:
        return self.folder / "partners" / "megamart" / "inbound"

    @property
    def partner_outbound(self) -> Path:
        return self.folder / "partners" / "megamart" / "outbound"

    @property
    def targets(self) -> Path:
        return self.folder / "erp" / "purchase-orders"

    @property
    def wms_out(self) -> Path:
        return self.folder / "wms" / "outbound" / "ship-notices"


@contextlib.contextmanager
def site(backend: str, poll: str, workdir: Path | None, keep: bool) -> Iterator[Site]:
    folder = Path(tempfile.mkdtemp(prefix=f"erpbridge-bench-{backend}-", dir=workdir))
    drop: Callable[[], None] = lambda: None  # noqa: E731
    info: dict[str, str] = {}
    password = ""
    if backend == "sqlite":
        url = "sqlite:///ledger.sqlite3"
    else:
        import psycopg
        import sqlalchemy as sa

        admin, why = _postgres_admin()
        if admin is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise BenchError(
                f"PostgreSQL is not reachable ({why}); start it with: "
                "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
            )
        name = f"erpbridge_bench_{os.getpid()}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            for setting in ("server_version", "synchronous_commit", "fsync", "shared_buffers"):
                row = conn.execute(f"SHOW {setting}").fetchone()
                info[setting] = str(row[0]) if row else "?"

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        parsed = sa.make_url(admin)
        if parsed.password:  # a configuration takes the password from the environment, never the URL
            os.environ[PASSWORD_ENV] = str(parsed.password)
            password = f'password = {{ env = "{PASSWORD_ENV}" }}\n'
        url = parsed.set(drivername="postgresql+psycopg", database=name, password=None).render_as_string()
    config = CONFIG.format(
        ledger_url=url, ledger_password=password, poll=poll, flow_in=FLOW_IN, flow_out=FLOW_OUT
    )
    (folder / "config.toml").write_text(config, encoding="utf-8")
    made = Site(backend, folder, url, drop, info)
    for f in (made.inbound, made.partner_outbound, made.targets, made.wms_out):
        f.mkdir(parents=True, exist_ok=True)
    try:
        yield made
    finally:
        drop()
        if keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def open_runner(s: Site) -> tuple[Any, Any]:
    from erpbridge.config import load_config
    from erpbridge.ledger import Ledger
    from erpbridge.pipeline import Runner

    config = load_config(s.config_file)
    ledger = Ledger.open(config.ledger.reveal_url(), retry_policy=config.retry.policy())
    return Runner(config, ledger, mappings_root=ROOT / "mappings", worker="bench"), ledger


# -- batch --------------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    measure: str
    value: float
    unit: str
    target: str = ""
    verdict: str = ""
    note: str = ""


class Numbers:
    """Distinct document numbers across a run (interchanges, shipments)."""

    def __init__(self) -> None:
        self.next = 1

    def take(self, n: int) -> range:
        r = range(self.next, self.next + n)
        self.next += n
        return r


def _check(summary: Any, flow: str, outcome: str, n: int, what: str) -> None:
    got = summary.counts.get((flow, outcome), 0)
    if got != n or summary.problems:
        problems = "; ".join(summary.problems[:3])
        raise BenchError(f"{what}: {got} of {n} {outcome} ({problems or 'no problem reported'})")


def batch_in(runner: Any, s: Site, numbers: Numbers, template: list[str], n: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process) of one run_once over ``n`` fresh 850s in the inbound folder."""
    for i in numbers.take(n):
        land(s.inbound, f"po-{i:09d}.edi", make_850(template, i))
    cpu, start = time.process_time(), time.perf_counter()
    summary = runner.run_once()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    _check(summary, FLOW_IN, "delivered", n, "inbound batch")
    if any(s.inbound.iterdir()):
        raise BenchError("inbound batch: files left in the inbound folder")
    return elapsed, cpu


def batch_out(
    runner: Any, s: Site, numbers: Numbers, template: dict[str, Any], n: int
) -> tuple[float, float]:
    for i in numbers.take(n):
        land(s.wms_out, f"asn-{i:09d}.json", make_ship_notice(template, i))
    cpu, start = time.process_time(), time.perf_counter()
    summary = runner.run_once()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    _check(summary, FLOW_OUT, "sent", n, "outbound batch")
    return elapsed, cpu


def run_batches(s: Site, args: argparse.Namespace, numbers: Numbers) -> list[Row]:
    runner, ledger = open_runner(s)
    small, full = small_850_template(), full_850_template()
    ship = json.loads(SAMPLE_SHIP_NOTICE.read_text(encoding="utf-8"))
    rows = []
    try:
        batch_in(runner, s, numbers, small, 20)  # warm-up: mappings, schemas, connections
        batch_in(runner, s, numbers, full, 5)
        batch_out(runner, s, numbers, ship, 5)
        n, m = args.documents, max(args.documents // 2, 1)
        for measure, run, count, target in (
            ("batch: 850 small (11-segment set) in", lambda: batch_in(runner, s, numbers, small, n), n, True),
            (
                "batch: 850 10-item (39-segment set) in",
                lambda: batch_in(runner, s, numbers, full, n),
                n,
                False,
            ),
            ("batch: ShipNotice -> 856 out", lambda: batch_out(runner, s, numbers, ship, m), m, False),
        ):
            runs = []  # (wall, cpu, load average when it started); the best wall time counts
            with _SqlCounter() as sql:  # statements and commits: the stable figure on a busy machine
                for _ in range(args.repeat):
                    load = os.getloadavg()[0]
                    runs.append((*run(), load))
            wall, cpu, load = min(runs)
            per_doc = count * len(runs)
            rate = count / wall
            spread = (
                f"; {len(runs)} runs {min(count / r[0] for r in runs):.0f}-{rate:.0f}"
                if len(runs) > 1
                else ""
            )
            rows.append(
                Row(s.backend, measure, rate, "docs/s",
                    f">= {TARGET_BATCH:.0f}" if target else "",
                    ("PASS" if rate >= TARGET_BATCH else "FAIL") if target else "",
                    f"{count} files in {wall:.1f} s{spread}; {count / cpu:.0f}/s of this process's CPU; load {load:.1f}; "
                    f"SQL per document: {sql.statements / per_doc:.1f} statements, {sql.commits / per_doc:.1f} transactions")
            )  # fmt: skip
    finally:
        ledger.close()
    return rows


# -- profile ------------------------------------------------------------------------------------

#: what --profile times, exclusively (a timed call inside another is subtracted from the outer one):
#: (label, module, class or None for a module attribute, attribute names)
_TIMED: list[tuple[str, str, str | None, tuple[str, ...]]] = [
    ("ledger: record_inbound", "erpbridge.ledger", "Ledger", ("record_inbound",)),
    ("ledger: record_outbound", "erpbridge.ledger", "Ledger", ("record_outbound",)),
    ("ledger: transition", "erpbridge.ledger", "Ledger", ("transition",)),
    (
        "ledger: other calls",
        "erpbridge.ledger",
        "Ledger",
        ("claim", "find", "payload", "fail", "release", "note"),
    ),
    ("x12 read (lex, validate)", "erpbridge.pipeline.runner", None, ("read",)),
    ("x12 JSON view + build_acks", "erpbridge.pipeline.runner", None, ("build_view", "build_acks")),
    ("x12 ack encode", "erpbridge.formats.x12.acks", "Acknowledgment", ("encode",)),
    ("x12 envelope + encode", "erpbridge.pipeline.runner", None, ("envelope", "encode")),
    ("mapping apply", "erpbridge.mapping.engine", "Mapping", ("apply",)),
    ("model from_json/to_json", "erpbridge.pipeline.runner", None, ("from_json", "to_json")),
    ("transport list + fetch", "erpbridge.transports.local", "LocalSession", ("list", "fetch")),
    ("transport put (write, fsync, rename)", "erpbridge.transports.local", "LocalSession", ("put",)),
    ("transport archive (rename, fsync)", "erpbridge.transports.local", "LocalSession", ("archive",)),
]


class Timers:
    """Exclusive wall time per label, by wrapping functions (a few microseconds per call)."""

    def __init__(self) -> None:
        self.exclusive: dict[str, float] = dict.fromkeys((t[0] for t in _TIMED), 0.0)
        self.calls: dict[str, int] = dict.fromkeys(self.exclusive, 0)
        self._inner: list[float] = []  # per open region: time spent in timed regions inside it

    @contextlib.contextmanager
    def region(self, label: str) -> Iterator[None]:
        self._inner.append(0.0)
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            inner = self._inner.pop()
            self.exclusive[label] += elapsed - inner
            if self._inner:
                self._inner[-1] += elapsed

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.calls[label] += 1
            with self.region(label):
                result = fn(*args, **kwargs)
            return self._iterate(label, result) if isinstance(result, types.GeneratorType) else result

        return timed

    def _iterate(self, label: str, gen: Iterator[Any]) -> Iterator[Any]:
        while True:
            with self.region(label):
                try:
                    item = next(gen)
                except StopIteration:
                    return
            yield item

    @contextlib.contextmanager
    def installed(self) -> Iterator[Timers]:
        import importlib

        with contextlib.ExitStack() as stack:
            for label, module, cls, names in _TIMED:
                owner = importlib.import_module(module)
                if cls is not None:
                    owner = getattr(owner, cls)
                for name in names:
                    original = getattr(owner, name)
                    stack.callback(setattr, owner, name, original)
                    setattr(owner, name, self.wrap(label, original))
            yield self


class _SqlCounter:
    def __init__(self) -> None:
        self.statements = self.commits = 0

    def __enter__(self) -> _SqlCounter:
        from sqlalchemy import Engine, event

        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import Engine, event

        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Engine, "commit", self._commit)

    def _statement(self, *args: Any) -> None:
        self.statements += 1

    def _commit(self, *args: Any) -> None:
        self.commits += 1


def profile(s: Site, args: argparse.Namespace, numbers: Numbers) -> None:
    """Where a batch's time goes, each way: wrapped timers (real time), then cProfile's top functions."""
    runner, ledger = open_runner(s)
    small = small_850_template()
    ship = json.loads(SAMPLE_SHIP_NOTICE.read_text(encoding="utf-8"))
    n = args.profile_documents
    try:
        batch_in(runner, s, numbers, small, 10)
        batch_out(runner, s, numbers, ship, 5)
        for what, fn in (
            ("850 small in", lambda: batch_in(runner, s, numbers, small, n)),
            ("ShipNotice -> 856 out", lambda: batch_out(runner, s, numbers, ship, n)),
        ):
            with Timers().installed() as timers, _SqlCounter() as sql:
                total, _ = fn()
            print(
                f"\n  profile {s.backend}, {what}: {n} documents in {total:.2f} s ({n / total:.0f} docs/s with timers)"
            )
            print(f"    {'part (exclusive wall time)':<40}{'ms/doc':>8}{'share':>7}{'calls/doc':>10}")
            rest = total
            for label, secs in timers.exclusive.items():
                if timers.calls[label]:
                    rest -= secs
                    print(
                        f"    {label:<40}{secs / n * 1000:>8.2f}{secs / total:>7.0%}{timers.calls[label] / n:>10.1f}"
                    )
            print(f"    {'the runner and everything else':<40}{rest / n * 1000:>8.2f}{rest / total:>7.0%}")
            print(
                f"    SQL per document: {sql.statements / n:.1f} statements in {sql.commits / n:.1f} transactions"
            )
            if args.profile_top:
                prof = cProfile.Profile()
                prof.enable()
                fn()
                prof.disable()
                stats = pstats.Stats(prof)
                print(f"    cProfile (another {n}), top {args.profile_top} functions by own time:")
                for (file, line, func), (_cc, nc, tt, ct, _c) in sorted(
                    stats.stats.items(),  # type: ignore[attr-defined]
                    key=lambda kv: -kv[1][2],
                )[: args.profile_top]:
                    where = func if file == "~" else f"{_short(file)}:{line} {func}"
                    print(
                        f"      {tt / n * 1000:7.3f} ms/doc own {ct / n * 1000:8.3f} cum {nc / n:7.1f} calls/doc  {where}"
                    )
    finally:
        ledger.close()


def _short(file: str) -> str:
    parts = Path(file).parts
    for anchor in ("erpbridge", "sqlalchemy", "psycopg", "alembic"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return "/".join(parts[-2:])


# -- latency ------------------------------------------------------------------------------------


class Loop:
    """``Runner.run_once`` every ``every`` seconds on a fixed grid (a pass that overruns skips ticks)."""

    def __init__(self, s: Site, every: float) -> None:
        self.runner, self.ledger = open_runner(s)
        self.every = every
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-loop", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            grid = time.monotonic()
            while not self.stop.is_set():
                self.runner.run_once()
                now = time.monotonic()
                grid += self.every * max(1, int((now - grid) // self.every) + 1)
                self.stop.wait(max(0.0, grid - now))
        except BaseException as exc:  # noqa: BLE001 (reported by close())
            self.error = exc

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        self.ledger.close()
        if self.error is not None:
            raise BenchError(f"the run_once loop failed: {self.error!r}")


class Daemon:
    """``erpbridge run --config`` (without --once) in its own process."""

    def __init__(self, s: Site) -> None:
        self.log = s.folder / "daemon.log"
        self.handle = open(self.log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "erpbridge", "run", "--quiet", "--config", str(s.config_file)],
            cwd=s.folder,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.handle.close()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"erpbridge run exited with {self.proc.returncode}:\n{tail}")

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise BenchError(f"erpbridge run stopped (exit {self.proc.returncode}):\n{tail}")


def wait_for(
    paths: list[Path], deadline: float, alive: Callable[[], None], *, partial: bool = False
) -> list[Path]:
    """Until every path exists (checked every 50 ms); at ``deadline`` BenchError, or with
    ``partial`` the paths still missing."""
    pending = list(paths)
    tick = threading.Event()
    while pending:
        pending = [p for p in pending if not p.exists()]
        if not pending:
            break
        alive()
        if time.monotonic() > deadline:
            if partial:
                break
            raise BenchError(
                f"{len(pending)} of {len(paths)} documents not delivered in time, e.g. {pending[0].name}"
            )
        tick.wait(0.05)
    return pending


def run_latency(s: Site, args: argparse.Namespace, numbers: Numbers, poll: str) -> list[Row]:
    template = small_850_template()
    driver: Loop | Daemon = Daemon(s) if args.driver == "daemon" else Loop(s, _seconds(poll))
    alive = driver.check if isinstance(driver, Daemon) else (lambda: None)
    count = int(args.rate * args.seconds)
    ids = list(numbers.take(count))
    landed: dict[int, float] = {}
    payloads = {i: make_850(template, i) for i in ids}
    lag: list[float] = []
    try:
        driver.start()
        warm = list(numbers.take(5))  # the daemon is up and has loaded its mappings
        for i in warm:
            land(s.inbound, f"po-{i:09d}.edi", make_850(template, i))
        wait_for([s.targets / target_name(i) for i in warm], time.monotonic() + 120, alive)

        pace = threading.Event()
        start = time.time() + 0.2
        for k, i in enumerate(ids):
            due = start + k / args.rate
            delay = due - time.time()
            if delay > 0:
                pace.wait(delay)
            landed[i] = land(s.inbound, f"po-{i:09d}.edi", payloads[i])
            lag.append(landed[i] - due)
        produced = landed[ids[-1]] - landed[ids[0]]
        # a daemon that cannot keep up gets as long again as the run to drain its backlog
        drain = max(60.0, args.seconds)
        late = wait_for(
            [s.targets / target_name(i) for i in ids], time.monotonic() + drain, alive, partial=True
        )
        gave_up = time.time()
    finally:
        driver.close()
    late_names = {p.name for p in late}
    latencies = sorted(
        # not delivered when the bench stopped waiting: counted as that late (a lower bound)
        gave_up - landed[i]
        if target_name(i) in late_names
        else max((st := (s.targets / target_name(i)).stat()).st_ctime, st.st_mtime) - landed[i]
        for i in ids
    )
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)]
    achieved = (count - 1) / produced if produced > 0 else 0.0
    how = f"{count} files at {achieved:.1f}/s over {produced:.0f} s, {args.driver}"
    if max(lag) > 0.5:
        how += f", producer fell up to {max(lag):.2f} s behind"
    if late:
        how += f"; {len(late)} not delivered {drain:.0f} s after the last landing (counted as that late)"
    at_target = args.rate >= TARGET_RATE  # below the target's rate the figure is for information
    return [
        Row(s.backend, f"latency P50 @ {args.rate:.0f}/s, poll {poll}", p50, "s",
            f"< {TARGET_P50:.0f} s" if at_target else "",
            ("PASS" if p50 < TARGET_P50 else "FAIL") if at_target else "", how),
        Row(s.backend, f"latency P95 @ {args.rate:.0f}/s, poll {poll}", p95, "s"),
        Row(s.backend, f"latency max @ {args.rate:.0f}/s, poll {poll}", latencies[-1], "s"),
    ]  # fmt: skip


# -- machine ------------------------------------------------------------------------------------


def machine(workdir: Path | None, pg: dict[str, str]) -> list[str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"machine: {os.cpu_count()} cores ({usable} usable), {cpu}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()} ({platform.python_implementation()}), SQLite {sqlite3.sqlite_version}"
        " (journal_mode=WAL, synchronous as src/erpbridge/ledger/_db.py sets it)",
    ]
    if pg:
        lines.append(
            f"PostgreSQL {pg.get('server_version', '?')} (synchronous_commit={pg.get('synchronous_commit')}, "
            f"fsync={pg.get('fsync')}, shared_buffers={pg.get('shared_buffers')}), over TCP 127.0.0.1"
        )
    lines.append(
        f"sites on {_filesystem(Path(workdir or tempfile.gettempdir()))}; load average {os.getloadavg()[0]:.2f}"
    )
    return lines


def _filesystem(path: Path) -> str:
    best, kind = "", "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and str(path.resolve()).startswith(fields[1]) and len(fields[1]) > len(best):
                best, kind = fields[1], fields[2]
    return f"{path} ({kind})"


# -- main ---------------------------------------------------------------------------------------


def _seconds(text: str) -> float:
    from erpbridge.config import parse_duration

    return float(parse_duration(text).total_seconds())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200-file batches, run once; 15 s of latency")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite,postgresql (default: both)")
    parser.add_argument("--documents", type=int, help="files per inbound batch (default 600, --quick 200)")
    parser.add_argument(
        "--repeat", type=int, help="runs of each batch, the best counts (default 3, --quick 1)"
    )
    parser.add_argument("--seconds", type=float, help="latency run length (default 45, --quick 15)")
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="files landed per second (default 50)"
    )
    parser.add_argument(
        "--polls",
        default="250ms,1s",
        help="every flow's `every` in the latency runs, one run each (default 250ms,1s)",
    )
    parser.add_argument("--driver", choices=("daemon", "loop"), default="daemon",
                        help="daemon: the erpbridge run process; loop: Runner.run_once in a thread")  # fmt: skip
    parser.add_argument("--skip", default="", help="batch,latency: parts to leave out")
    parser.add_argument("--profile", action="store_true", help="also profile a batch each way (cProfile)")
    parser.add_argument("--profile-documents", type=int, default=300)
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--workdir", type=Path, help="where the sites go (default: the system's temp folder)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the sites (folders, SQLite ledger, daemon log)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    args.documents = args.documents or (200 if args.quick else 600)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.seconds = args.seconds or (15.0 if args.quick else 45.0)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    polls = [p.strip() for p in args.polls.split(",") if p.strip()]
    for poll in polls:
        try:
            _seconds(poll)
        except ValueError as exc:
            parser.error(f"--polls: {exc}")

    rows: list[Row] = []
    pg_info: dict[str, str] = {}
    numbers = Numbers()
    try:
        for backend in backends:
            print(f"== {backend}", flush=True)
            if "batch" not in skip or args.profile:
                with site(backend, "1s", args.workdir, args.keep) as s:
                    pg_info = pg_info or s.db_info
                    if "batch" not in skip:
                        rows += run_batches(s, args, numbers)
                        for r in rows[-3:]:
                            print(f"  {r.measure}: {r.value:.0f} {r.unit} ({r.note})", flush=True)
                    if args.profile:
                        profile(s, args, numbers)
            for poll in polls if "latency" not in skip else []:
                with site(backend, poll, args.workdir, args.keep) as s:
                    pg_info = pg_info or s.db_info
                    rows += run_latency(s, args, numbers, poll)
                    p50, p95 = rows[-3], rows[-2]
                    print(
                        f"  {p50.measure}: {p50.value:.3f} s, P95 {p95.value:.3f} s ({p50.note})", flush=True
                    )
    except BenchError as exc:
        print(f"bench/pipeline.py: {exc}", file=sys.stderr)
        return 2

    print()
    for line in machine(args.workdir, pg_info):
        print(line)
    print()
    print(f"{'backend':<11}{'measurement':<42}{'value':>10} {'unit':<7}{'target':<10}{'verdict':<8}note")
    for r in rows:
        value = f"{r.value:.3f}" if r.unit == "s" else f"{r.value:.0f}"
        print(f"{r.backend:<11}{r.measure:<42}{value:>10} {r.unit:<7}{r.target:<10}{r.verdict:<8}{r.note}")
    print(
        f"targets (issue 4): >= {TARGET_BATCH:.0f} ten-line 850s per second in batch; "
        f"P50 < {TARGET_P50:.0f} s from landed to delivered at {TARGET_RATE:.0f} files per second"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine(args.workdir, pg_info), "rows": [asdict(r) for r in rows]}, indent=2
            )
        )
    return 1 if any(r.verdict == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
