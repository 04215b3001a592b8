"""Throughput and peak-memory benchmark for erpbridge's streaming X12 engine.

baseline: naive bytes.split floor measured in the same run; pyx12 and node-x12 as peers.

Run (after ``ERPBRIDGE_EXTRAS=dev,bench source scripts/_venv.sh`` has built .venv)::

    .venv/bin/python bench/x12_throughput.py                  # 1, 10 and 100 MB of each kind
    .venv/bin/python bench/x12_throughput.py --sizes 1,10     # quicker
    .venv/bin/python bench/x12_throughput.py --sizes 1 --gb   # plus the ~1 GB 850 memory check

What it does:

1. Generates, deterministically (fixed seed) and incrementally (1 MiB write buffer), valid 004010
   files into bench/.data/ and reuses them on later runs (a .json beside each file records how it
   was made). Three kinds, each about N MB (10^6 bytes) for every N in --sizes:

   - ``850``: many small purchase orders, 11 segments each (ST, BEG, REF, DTM, N1, N3, N4, PO1,
     PID, CTT, SE), up to 5,000 per interchange;
   - ``856``: one ship notice per interchange, HL S and O, then many cartons: HL P with MAN*GM and
     an SSCC-18, HL I with LIN and SN1 (at most 90,000 cartons a set, so HL stays under the 004010
     loop limit of 200,000 and CTT01 under 6 digits);
   - ``846``: inventory advice for a 200,000-SKU catalogue (LIN/PID/QTY per SKU), one catalogue pass
     per interchange as 20 sets of 10,000 LIN loops (the 004010 LIN loop limit).

   Envelope counts (SE01, GE01, IEA01) and control numbers are exact, ISA is 106 characters and
   every segment ends with ``~\\n``.

2. Measures every (file, tool) pair in its own fresh subprocess, so each peak RSS belongs to one
   measurement. The child reports its own peak: VmHWM from /proc/self/status (getrusage(RUSAGE_SELF)
   elsewhere), the high-water mark of its own address space. getrusage(RUSAGE_CHILDREN) or os.wait4()
   in the parent would not do: on Linux a child's ru_maxrss starts at the parent's RSS, which the
   child inherits at fork and keeps as its high-water mark across exec. The time is taken inside the
   child around the read + parse loop only (interpreter start-up and imports excluded). Files are
   read once before measuring so that every tool reads from the page cache. On files under 50 MB a
   run shorter than 2 s is repeated (--repeat, default 3 runs, a fresh process each time): the best
   time and the highest peak RSS are kept. Tools:

   - ``floor``: 1 MiB reads, bytes.split on the segment terminator, bytes.split on the element
     separator for every segment, count segments: what any Python tokeniser that looks at every
     element costs at least;
   - ``erpbridge parse``: X12Reader(validate=False) fed 1 MiB chunks, events drained after each;
   - ``erpbridge validate``: the same with validate=True;
   - ``erpbridge check``: X12Reader(validate=True, segments=False), the same validation handing out
     only the envelope events and the findings (what acknowledgments and ``erpbridge x12
     validate`` use), which lets the batch check (formats/x12/batch.py) take valid sets as text;
   - ``pyx12``: pyx12.x12file.X12Reader over the file, iterating segments (it tokenises and checks
     envelope counts and control numbers, no transaction-set schema);
   - ``node-x12``: bench/nodex12_parse.js, node-x12's streaming X12Parser (version pinned in
     bench/package.json and package-lock.json, installed with ``npm ci --prefix bench``).

   A peer (pyx12, node-x12) is skipped on a file when its time on the next smaller file of the same
   kind, scaled by size, predicts more than --budget seconds (default 120), and killed if it still
   runs past 1.5x the budget. erpbridge stops reading a file after --engine-budget seconds
   (default 60; not on the --gb file) and reports MB/s and RSS over the part it read, marked
   partial. Every child is killed after --timeout seconds (default 900); a killed erpbridge child
   still reports from its last progress line (one every 8 MiB).

3. Prints a table (file, size MB, tool, MB/s, segments/s, peak RSS MiB, throughput ratio to the
   floor on the same file) and the targets:

   - erpbridge parse+validate >= 0.5x the floor's MB/s on every file (shown for validate and check);
   - erpbridge peak RSS flat with file size (largest file within +20 % or +10 MiB of the smallest);
   - with --gb: a ~1 GB 850 file parsed and validated in < 200 MiB peak RSS.

MB and MB/s are 10^6 bytes; RSS is MiB. Every segment count is checked against the generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / ".data"
NODE_SCRIPT = BENCH_DIR / "nodex12_parse.js"
NODE_X12_PACKAGE = BENCH_DIR / "node_modules" / "node-x12" / "package.json"

MB = 1_000_000
MIB = 1 << 20
CHUNK = 1 << 20
SEED = 20240115
#: bump whenever the generated bytes change, so cached files are rebuilt
GENERATOR_VERSION = 1
KINDS = ("850", "856", "846")
GB_SIZE = 1000

FLOOR = "floor"
ERP_PARSE = "erpbridge parse"
ERP_VALIDATE = "erpbridge validate"
ERP_CHECK = "erpbridge check"
ENGINE = ("erpbridge parse", "erpbridge validate", "erpbridge check")
PYX12 = "pyx12"
NODE_X12 = "node-x12"
PEERS = (PYX12, NODE_X12)
#: names for --tools
TOOL_KEYS = {
    "floor": FLOOR,
    "parse": ERP_PARSE,
    "validate": ERP_VALIDATE,
    "check": ERP_CHECK,
    "pyx12": PYX12,
    "node-x12": NODE_X12,
}
NOT_IMPORTABLE = "erpbridge engine not importable"

TARGET_VALIDATE_RATIO = 0.5
FLAT_GROWTH = 0.20
FLAT_SLACK_MIB = 10.0
GB_RSS_LIMIT_MIB = 200.0
#: files smaller than this are measured --repeat times (fresh process each) and the best time kept
REPEAT_BELOW_MB = 50.0
#: ... unless one run already takes this long: repeats only steady short, noisy timings
REPEAT_UNDER_SECONDS = 2.0
#: an erpbridge child prints a progress line every this many bytes
PROGRESS_EVERY = 8 * CHUNK

# ----------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------

SENDER = "ERPBRIDGEBENCH"
RECEIVER = "BENCHPARTNER"
DATE = "20240115"
TERMINATOR = "~\n"
SETS_PER_850_INTERCHANGE = 5_000
MAX_CARTONS_PER_856 = 90_000
CATALOGUE_SKUS = 200_000
LINES_PER_846 = 10_000
SETS_PER_846_INTERCHANGE = CATALOGUE_SKUS // LINES_PER_846

CITIES = (
    ("SPRINGFIELD", "IL", "627"),
    ("COLUMBUS", "OH", "432"),
    ("AUSTIN", "TX", "787"),
    ("PORTLAND", "OR", "972"),
    ("RALEIGH", "NC", "276"),
    ("MADISON", "WI", "537"),
    ("ALBANY", "NY", "122"),
    ("RENO", "NV", "895"),
)
STREETS = ("MAIN ST", "OAK AVE", "INDUSTRIAL PKWY", "COMMERCE DR", "HARBOR BLVD", "MILL RD")
ADJECTIVES = ("SMALL", "LARGE", "BLUE", "RED", "STEEL", "CEDAR", "DELUXE", "BASIC", "ORGANIC", "TWIN")
NOUNS = ("WIDGET", "GASKET", "BRACKET", "LAMP", "KETTLE", "HOSE", "PLANTER", "CABLE", "SHELF", "BOX")
UNITS = ("EA", "CA", "BX", "PK")


def gs1_check_digit(body: str) -> str:
    """GS1 mod-10 check digit (UPC-A, GTIN, SSCC): weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def upc(item: int) -> str:
    body = f"08123{item % 1_000_000:06d}"
    return body + gs1_check_digit(body)


def sscc18(serial: int) -> str:
    """Extension digit 0, GS1 company prefix 0614141, 9-digit serial reference, check digit."""
    body = f"00614141{serial % 1_000_000_000:09d}"
    return body + gs1_check_digit(body)


def describe(item: int) -> str:
    return f"{ADJECTIVES[item % 10]} {NOUNS[item // 10 % 10]} {item % 97 + 1} IN"


def isa_segment(control: int) -> str:
    seg = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{SENDER:<15}*ZZ*{RECEIVER:<15}"
        f"*{DATE[2:]}*1200*U*00401*{control:09d}*0*T*>"
    )
    if len(seg) + 1 != 106:
        raise RuntimeError(f"ISA is {len(seg) + 1} characters, not 106")
    return seg


class X12Writer:
    """Writes segments through a ~1 MiB buffer and keeps the envelope's counts and control numbers."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.pending: list[str] = []
        self.pending_bytes = 0
        self.written = 0
        self.segments = 0
        self.interchanges = 0
        self.groups = 0
        self.sets = 0
        self.groups_in_interchange = 0
        self.sets_in_group = 0
        self.set_segments = 0
        self.set_control = ""

    @property
    def size(self) -> int:
        return self.written + self.pending_bytes

    def seg(self, text: str) -> None:
        line = text + TERMINATOR
        self.pending.append(line)
        self.pending_bytes += len(line)
        self.segments += 1
        self.set_segments += 1
        if self.pending_bytes >= CHUNK:
            self.flush()

    def flush(self) -> None:
        data = "".join(self.pending).encode("ascii")
        self.out.write(data)
        self.written += len(data)
        self.pending.clear()
        self.pending_bytes = 0

    def open_interchange(self) -> None:
        self.interchanges += 1
        self.groups_in_interchange = 0
        self.seg(isa_segment(self.interchanges))

    def close_interchange(self) -> None:
        self.seg(f"IEA*{self.groups_in_interchange}*{self.interchanges:09d}")

    def open_group(self, functional_id: str) -> None:
        self.groups += 1
        self.groups_in_interchange += 1
        self.sets_in_group = 0
        self.seg(f"GS*{functional_id}*{SENDER}*{RECEIVER}*{DATE}*1200*{self.groups}*X*004010")

    def close_group(self) -> None:
        self.seg(f"GE*{self.sets_in_group}*{self.groups}")

    def open_set(self, code: str) -> None:
        self.sets += 1
        self.sets_in_group += 1
        self.set_control = f"{self.sets_in_group:04d}"
        self.set_segments = 0
        self.seg(f"ST*{code}*{self.set_control}")

    def close_set(self) -> None:
        self.seg(f"SE*{self.set_segments + 1}*{self.set_control}")


def write_850(w: X12Writer, rng: random.Random, target: int) -> None:
    po = 0
    while w.size < target:
        w.open_interchange()
        w.open_group("PO")
        while w.sets_in_group < SETS_PER_850_INTERCHANGE and w.size < target:
            po += 1
            store = rng.randrange(1, 2000)
            city, state, zip3 = CITIES[store % len(CITIES)]
            item = rng.randrange(1, CATALOGUE_SKUS)
            qty = rng.randrange(1, 500)
            w.open_set("850")
            w.seg(f"BEG*00*SA*PO{po:09d}**{DATE}")
            w.seg(f"REF*DP*{rng.randrange(1, 999):03d}")
            w.seg(f"DTM*002*202402{rng.randrange(1, 29):02d}")
            w.seg(f"N1*ST*STORE {store:04d}*92*{store:05d}")
            w.seg(f"N3*{rng.randrange(1, 9999)} {STREETS[store % len(STREETS)]}")
            w.seg(f"N4*{city}*{state}*{zip3}{store % 100:02d}")
            price = rng.randrange(50, 50000) / 100
            w.seg(f"PO1*1*{qty}*{UNITS[item % 4]}*{price:.2f}**VP*VP{item:07d}*UP*{upc(item)}")
            w.seg(f"PID*F****{describe(item)}")
            w.seg(f"CTT*1*{qty}")
            w.close_set()
        w.close_group()
        w.close_interchange()


def write_856(w: X12Writer, rng: random.Random, target: int) -> None:
    shipment = 0
    serial = 0
    while w.size < target:
        shipment += 1
        store = rng.randrange(1, 2000)
        w.open_interchange()
        w.open_group("SH")
        w.open_set("856")
        w.seg(f"BSN*00*SHP{shipment:09d}*{DATE}*1200*0001")
        w.seg("HL*1**S")
        w.seg("TD5*B*2*UPSN*M")
        w.seg(f"REF*BM*BOL{shipment:09d}")
        w.seg(f"DTM*011*{DATE}")
        w.seg(f"N1*ST*STORE {store:04d}*92*{store:05d}")
        w.seg("HL*2*1*O")
        w.seg(f"PRF*PO{shipment:09d}")
        hl = 2
        cartons = 0
        while cartons < MAX_CARTONS_PER_856 and w.size < target:
            cartons += 1
            serial += 1
            item = rng.randrange(1, CATALOGUE_SKUS)
            pack = hl = hl + 1
            w.seg(f"HL*{pack}*2*P")
            w.seg(f"MAN*GM*{sscc18(serial)}")
            hl += 1
            w.seg(f"HL*{hl}*{pack}*I")
            w.seg(f"LIN**UP*{upc(item)}")
            w.seg(f"SN1**{rng.randrange(1, 48)}*EA")
        w.seg(f"CTT*{hl}")
        w.close_set()
        w.close_group()
        w.close_interchange()


def write_846(w: X12Writer, rng: random.Random, target: int) -> None:
    sku = 0
    report = 0
    while w.size < target:
        w.open_interchange()
        w.open_group("IB")
        while w.sets_in_group < SETS_PER_846_INTERCHANGE and w.size < target:
            report += 1
            w.open_set("846")
            w.seg(f"BIA*00*DD*INV{report:09d}*{DATE}")
            lines = 0
            while lines < LINES_PER_846 and w.size < target:
                lines += 1
                sku = sku % CATALOGUE_SKUS + 1
                w.seg(f"LIN**SK*SKU{sku:07d}*UP*{upc(sku)}")
                w.seg(f"PID*F****{describe(sku)}")
                w.seg(f"QTY*33*{rng.randrange(0, 5000)}*EA")
            w.seg(f"CTT*{lines}")
            w.close_set()
        w.close_group()
        w.close_interchange()


WRITERS: dict[str, Callable[[X12Writer, random.Random, int], None]] = {
    "850": write_850,
    "856": write_856,
    "846": write_846,
}


def data_file(kind: str, size_mb: int) -> Path:
    return DATA_DIR / f"x12_{kind}_{size_mb}MB.edi"


def ensure_file(kind: str, size_mb: int) -> dict[str, Any]:
    """Return the metadata of the cached file, generating it first when missing or stale."""
    path = data_file(kind, size_mb)
    meta_path = path.with_suffix(".json")
    wanted = {"generator": GENERATOR_VERSION, "seed": SEED, "kind": kind, "target_mb": size_mb}
    if path.exists() and meta_path.exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in wanted} == wanted and meta.get("bytes") == path.stat().st_size:
            return meta
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    progress(f"generating {path.relative_to(BENCH_DIR.parent)} (~{size_mb} MB) ...")
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        writer = X12Writer(out)
        WRITERS[kind](writer, random.Random(f"{SEED}/{kind}/{size_mb}"), size_mb * MB)
        writer.flush()
    partial.replace(path)
    meta = {
        **wanted,
        "bytes": writer.written,
        "segments": writer.segments,
        "interchanges": writer.interchanges,
        "groups": writer.groups,
        "sets": writer.sets,
        "generate_seconds": round(time.perf_counter() - started, 2),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    progress(f"  {writer.written / MB:.1f} MB, {writer.segments:,} segments in {meta['generate_seconds']} s")
    return meta


# ----------------------------------------------------------------------------------------------
# Child side: one measurement per process; prints one JSON line
# ----------------------------------------------------------------------------------------------


def peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM of its own address space (Linux), else ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def child_floor(path: str) -> dict[str, Any]:
    started = time.perf_counter()
    with open(path, "rb") as f:
        head = f.read(106)
    element, terminator = head[3:4], head[105:106]
    carry = b""
    segments = 0
    for chunk in _chunks(path):
        parts = (carry + chunk).split(terminator)
        carry = parts.pop()
        for seg in parts:
            seg.split(element)
        segments += len(parts)
    if carry.strip():
        carry.split(element)
        segments += 1
    return {"segments": segments, "elapsed": time.perf_counter() - started}


def child_erpbridge(path: str, validate: bool, deadline: float, segments: bool = True) -> dict[str, Any]:
    """Feed the file in 1 MiB chunks; stop early (a partial result) once ``deadline`` s have passed.

    Every 8 MiB a progress line goes to stdout, so a run killed on --timeout still tells how far it
    got and its peak RSS so far.
    """
    try:
        from erpbridge.formats.x12 import X12Reader
    except ImportError as exc:
        return {"unavailable": f"{NOT_IMPORTABLE} ({exc})"}
    started = time.perf_counter()
    reader = X12Reader(validate=validate, segments=segments)
    events = 0
    read = 0
    partial = False
    for chunk in _chunks(path):
        reader.feed(chunk)
        read += len(chunk)
        for _event in reader.events():
            events += 1
        if read % PROGRESS_EVERY == 0:
            elapsed = time.perf_counter() - started
            line = {"bytes": read, "segments": reader.segments_read, "elapsed": elapsed, "partial": True}
            print(json.dumps({**line, "peak_rss": peak_rss()}), flush=True)
        if deadline and time.perf_counter() - started > deadline:
            partial = True
            break
    if not partial:
        reader.close()
        for _event in reader.events():
            events += 1
    return {
        "segments": reader.segments_read,
        "elapsed": time.perf_counter() - started,
        "bytes": read,
        "partial": partial,
        "events": events,
        "findings": reader.findings_count,
    }


def child_pyx12(path: str) -> dict[str, Any]:
    try:
        import pyx12.x12file
    except ImportError as exc:
        return {"unavailable": f"pyx12 not importable ({exc})"}
    started = time.perf_counter()
    reader = pyx12.x12file.X12Reader(path)
    segments = 0
    for _seg in reader:
        segments += 1
    reader.cleanup()
    errors = len(reader.pop_errors())
    reader.close()
    return {"segments": segments, "elapsed": time.perf_counter() - started, "errors": errors}


def run_child(tool: str, path: str, deadline: float) -> None:
    if tool == FLOOR:
        result = child_floor(path)
    elif tool in ENGINE:
        result = child_erpbridge(
            path, validate=tool != ERP_PARSE, deadline=deadline, segments=tool != ERP_CHECK
        )
    elif tool == PYX12:
        result = child_pyx12(path)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    result["peak_rss"] = peak_rss()
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------
# Parent side
# ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    size_mb: int
    file_mb: float
    tool: str
    expected_segments: int
    elapsed: float | None = None
    #: MB actually read: less than file_mb when the run was stopped early (a partial result)
    read_mb: float | None = None
    segments: int | None = None
    rss_mib: float | None = None
    ratio: float | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind}_{self.size_mb}MB"

    @property
    def measured(self) -> bool:
        return self.elapsed is not None

    @property
    def partial(self) -> bool:
        return self.read_mb is not None and self.read_mb < self.file_mb

    @property
    def mbps(self) -> float | None:
        return (self.read_mb or self.file_mb) / self.elapsed if self.elapsed else None

    @property
    def segps(self) -> float | None:
        return self.segments / self.elapsed if self.elapsed and self.segments is not None else None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spawn(cmd: list[str], timeout: float) -> tuple[int | None, str, str]:
    """Run one child; return (exit code, or None when killed on timeout, stdout, stderr)."""
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return None, out, ""
    return done.returncode, done.stdout, done.stderr


def warm(path: Path) -> None:
    """Read the file once so that every tool reads it from the page cache."""
    with path.open("rb") as f:
        while f.read(8 * MIB):
            pass


def node_available() -> str | None:
    """Return None when node-x12 can run, else the reason it cannot."""
    node = shutil.which("node")
    if node is None:
        return "node not found; install Node.js and run `npm ci --prefix bench`"
    if not NODE_X12_PACKAGE.exists():
        npm = shutil.which("npm")
        if npm is None:
            return "npm not found to install node-x12 (`npm ci --prefix bench`)"
        progress("installing node-x12: npm ci --prefix bench")
        done = subprocess.run(
            [npm, "ci", "--prefix", str(BENCH_DIR), "--no-audit", "--no-fund"],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not NODE_X12_PACKAGE.exists():
            return f"`npm ci --prefix bench` failed: {done.stderr.strip()[-200:]}"
    return None


def erpbridge_available() -> str | None:
    try:
        from erpbridge.formats.x12 import X12Reader  # noqa: F401
    except ImportError as exc:
        return f"{NOT_IMPORTABLE} ({exc})"
    return None


def pyx12_available() -> str | None:
    try:
        import pyx12  # noqa: F401
    except ImportError:
        return "pyx12 not importable (pip install pyx12, or ERPBRIDGE_EXTRAS=dev,bench)"
    return None


def predicted_seconds(rows: list[Row], kind: str, tool: str, file_mb: float) -> tuple[float, Row] | None:
    """Scale the tool's time on the largest smaller file of this kind up to file_mb."""
    smaller = [r for r in rows if r.kind == kind and r.tool == tool and r.measured and r.file_mb < file_mb]
    if not smaller:
        return None
    ref = max(smaller, key=lambda r: r.file_mb)
    assert ref.elapsed is not None
    return ref.elapsed * file_mb / ref.file_mb, ref


def measure(row: Row, path: Path, args: argparse.Namespace, rows: list[Row], engine_deadline: float) -> None:
    """Run row.tool on path in fresh children and fill in the row (or its note, when it did not run)."""
    timeout = args.timeout
    if row.tool in PEERS:
        guess = predicted_seconds(rows, row.kind, row.tool, row.file_mb)
        if guess is not None and guess[0] > args.budget:
            seconds, ref = guess
            row.note = (
                f"skipped: too slow (~{seconds:.0f} s predicted from {ref.elapsed:.1f} s on "
                f"{ref.label}; budget {args.budget:.0f} s)"
            )
            return
        timeout = min(args.timeout, args.budget * 1.5)
    if row.tool == NODE_X12:
        cmd = [shutil.which("node") or "node", str(NODE_SCRIPT), str(path)]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", row.tool, str(path)]
        if row.tool in ENGINE and engine_deadline:
            cmd += ["--deadline", str(engine_deadline)]
    results: list[dict[str, Any]] = []
    killed = False
    runs = args.repeat if row.file_mb < REPEAT_BELOW_MB else 1
    while len(results) < runs:
        code, stdout, stderr = spawn(cmd, timeout)
        lines = stdout.strip().splitlines()
        if code is None:
            killed = True
            if lines:  # an erpbridge child's last progress line
                results.append(json.loads(lines[-1]))
            break
        if code != 0 or not lines:
            tail = stderr.strip().splitlines()
            row.note = f"error (exit {code}): {tail[-1] if tail else 'no output'}"[:160]
            return
        result = json.loads(lines[-1])
        if "unavailable" in result:
            row.note = result["unavailable"]
            return
        results.append(result)
        if result["elapsed"] >= REPEAT_UNDER_SECONDS or result.get("partial"):
            break
    if not results:
        row.note = f"skipped: too slow (killed after {timeout:.0f} s)"
        return
    # the fastest run's time (the least disturbed one), the highest peak RSS of any run
    best = min(results, key=lambda r: float(r["elapsed"]))
    row.elapsed = float(best["elapsed"])
    row.segments = int(best["segments"])
    row.rss_mib = max(r["peak_rss"] for r in results) / MIB
    notes = []
    if best.get("partial"):
        row.read_mb = best["bytes"] / MB
        why = f"killed at --timeout {timeout:.0f} s" if killed else f"--engine-budget {engine_deadline:.0f} s"
        notes.append(f"partial: {row.read_mb:.0f} of {row.file_mb:.0f} MB in {row.elapsed:.0f} s ({why})")
    elif row.segments != row.expected_segments:
        notes.append(f"segments {row.segments:,} != {row.expected_segments:,} written")
    if len(results) > 1:
        notes.append(f"best of {len(results)}")
    if "findings" in best:
        notes.append(f"findings={best['findings']}")
    if best.get("errors"):
        notes.append(f"pyx12 errors={best['errors']}")
    row.note = "; ".join(notes)


def fmt(value: float | None, spec: str) -> str:
    if value is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "-".rjust(int(width or 0))
    return format(value, spec)


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'file':<12} {'size MB':>8}  {'tool':<18} {'MB/s':>8} {'segments/s':>12} "
        f"{'peak RSS MiB':>12} {'x floor':>8}  note"
    )
    print(header)
    print("-" * len(header))
    previous = None
    for r in rows:
        if previous is not None and previous != r.label:
            print()
        previous = r.label
        print(
            f"{r.label:<12} {r.file_mb:>8.1f}  {r.tool:<18} {fmt(r.mbps, '8.1f')} "
            f"{fmt(r.segps, '12,.0f')} {fmt(r.rss_mib, '12.1f')} "
            f"{fmt(r.ratio, '.2f') + ('x' if r.ratio is not None else ''):>8}  {r.note}"
        )


def _partial(r: Row) -> str:
    return f" (partial: first {r.read_mb:.0f} MB)" if r.partial else ""


def print_targets(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    print("targets")
    matrix = [r for r in rows if r.size_mb in args.size_list]
    validate = [r for r in matrix if r.tool in (ERP_CHECK, ERP_VALIDATE)]
    print(
        f"  erpbridge parse+validate >= {TARGET_VALIDATE_RATIO}x floor (MB/s); 'check' is the "
        "validation with findings and envelope events only (X12Reader(segments=False)):"
    )
    for r in validate:
        if r.ratio is None:
            print(f"    {r.label:<12} {r.tool:<18} n/a: {r.note or 'not measured'}")
        else:
            verdict = "PASS" if r.ratio >= TARGET_VALIDATE_RATIO else "FAIL"
            print(f"    {r.label:<12} {r.tool:<18} {r.ratio:5.2f}x  {verdict}{_partial(r)}")
    if not validate:
        print("    not run")
    print(
        f"  erpbridge peak RSS flat with size (largest file within +{FLAT_GROWTH:.0%} "
        f"or +{FLAT_SLACK_MIB:.0f} MiB of the smallest):"
    )
    compared = False
    for tool in ENGINE:
        for kind in args.kind_list:
            got = sorted(
                (r for r in matrix if r.kind == kind and r.tool == tool and r.rss_mib is not None),
                key=lambda r: r.file_mb,
            )
            if len(got) < 2:
                continue
            compared = True
            small, large = got[0], got[-1]
            assert small.rss_mib is not None and large.rss_mib is not None
            limit = max(small.rss_mib * (1 + FLAT_GROWTH), small.rss_mib + FLAT_SLACK_MIB)
            verdict = "PASS" if large.rss_mib <= limit else "FAIL"
            print(
                f"    {tool:<18} {kind}: {small.size_mb} MB {small.rss_mib:.1f} MiB -> "
                f"{large.size_mb} MB {large.rss_mib:.1f} MiB  {verdict}{_partial(large)}"
            )
    if not compared:
        missing = [r for r in matrix if r.tool in ENGINE and r.rss_mib is None]
        reason = missing[0].note if missing else "needs two sizes with erpbridge measured"
        print(f"    n/a: {reason}")
    print(f"  ~1 GB 850, erpbridge parse+validate peak RSS < {GB_RSS_LIMIT_MIB:.0f} MiB:")
    if not args.gb:
        print("    not run (pass --gb)")
    for tool in [t for t in (ERP_VALIDATE, ERP_CHECK) if t in args.tool_list] if args.gb else ():
        gb = next((r for r in rows if r.size_mb == GB_SIZE and r.tool == tool), None)
        if gb is None or gb.rss_mib is None:
            print(f"    {tool}: n/a: {gb.note if gb else 'not measured'}")
        elif gb.partial and gb.rss_mib < GB_RSS_LIMIT_MIB:
            print(f"    {gb.label} {tool}: {gb.rss_mib:.1f} MiB so far, INCOMPLETE{_partial(gb)}")
        else:
            verdict = "PASS" if gb.rss_mib < GB_RSS_LIMIT_MIB else "FAIL"
            print(f"    {gb.label} {tool}: {gb.rss_mib:.1f} MiB  {verdict}{_partial(gb)}")


def versions() -> str:
    parts = [f"python {platform.python_version()}"]
    try:
        import pyx12

        parts.append(f"pyx12 {pyx12.__version__}")
    except ImportError:
        pass
    node = shutil.which("node")
    if node:
        out = subprocess.run([node, "--version"], check=False, capture_output=True, text=True)
        parts.append(f"node {out.stdout.strip()}")
    if NODE_X12_PACKAGE.exists():
        parts.append(f"node-x12 {json.loads(NODE_X12_PACKAGE.read_text())['version']}")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts.append(f"{os.cpu_count()} x {cpu}")
    return ", ".join(parts)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1,10,100", help="file sizes in MB, comma-separated")
    parser.add_argument("--kinds", default=",".join(KINDS), help="transaction sets: 850,856,846")
    parser.add_argument("--tools", default=",".join(TOOL_KEYS), help="subset of: " + ",".join(TOOL_KEYS))
    parser.add_argument("--gb", action="store_true", help="also check peak RSS on a ~1 GB 850 file")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds a peer may take per file")
    parser.add_argument("--timeout", type=float, default=900.0, help="hard limit per measurement, seconds")
    parser.add_argument(
        "--repeat", type=int, default=3, help=f"runs per measurement on files under {REPEAT_BELOW_MB:.0f} MB"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument(
        "--engine-budget",
        type=float,
        default=60.0,
        help="seconds erpbridge may spend on one file in the matrix before it stops with a partial result",
    )
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.size_list = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    args.kind_list = [k for k in args.kinds.split(",") if k.strip()]
    keys = [t.strip() for t in args.tools.split(",") if t.strip()]
    for kind in args.kind_list:
        if kind not in KINDS:
            parser.error(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    for key in keys:
        if key not in TOOL_KEYS:
            parser.error(f"unknown tool {key!r}; choose from {','.join(TOOL_KEYS)}")
    args.tool_list = [tool for key, tool in TOOL_KEYS.items() if key in keys]
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        run_child(*args.child, deadline=args.deadline)
        return 0
    began = time.monotonic()
    plan: list[tuple[str, int, list[str]]] = [
        (kind, size, args.tool_list) for kind in args.kind_list for size in args.size_list
    ]
    if args.gb:
        plan.append(("850", GB_SIZE, [t for t in (FLOOR, ERP_VALIDATE, ERP_CHECK) if t in args.tool_list]))
    metas = {(kind, size): ensure_file(kind, size) for kind, size, _ in plan}

    unavailable = {
        ERP_PARSE: erpbridge_available(),
        ERP_VALIDATE: erpbridge_available(),
        ERP_CHECK: erpbridge_available(),
        PYX12: pyx12_available(),
        NODE_X12: node_available() if NODE_X12 in args.tool_list else None,
    }
    for tool, reason in unavailable.items():
        if reason and tool in args.tool_list and tool not in (ERP_VALIDATE, ERP_CHECK):
            print(f"note: {tool}: {reason}", file=sys.stderr)

    rows: list[Row] = []
    for kind, size, tools in plan:
        meta = metas[(kind, size)]
        path = data_file(kind, size)
        warm(path)
        floor_mbps: float | None = None
        for tool in tools:
            row = Row(kind, size, meta["bytes"] / MB, tool, meta["segments"])
            rows.append(row)
            reason = unavailable.get(tool)
            if reason:
                row.note = NOT_IMPORTABLE if reason.startswith(NOT_IMPORTABLE) else reason
            else:
                measure(row, path, args, rows, 0.0 if size == GB_SIZE else args.engine_budget)
            if tool == FLOOR:
                floor_mbps = row.mbps
            if row.mbps is not None and floor_mbps:
                row.ratio = row.mbps / floor_mbps
            progress(
                f"{row.label:<12} {row.tool:<18} "
                + (f"{row.elapsed:7.2f} s {fmt(row.rss_mib, '7.1f')} MiB " if row.elapsed else "")
                + row.note
            )

    print()
    print(f"X12 throughput ({versions()}); {CHUNK // MIB} MiB chunks")
    print("baseline: naive bytes.split floor measured in the same run; pyx12 and node-x12 as peers")
    print()
    print_table(rows)
    print_targets(rows, args)
    print(f"\ntotal {time.monotonic() - began:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps([{**asdict(r), "mbps": r.mbps, "segments_per_s": r.segps} for r in rows], indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
