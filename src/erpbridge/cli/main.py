"""The ``erpbridge`` command.

Exit codes of ``erpbridge x12 validate``: 0 every set valid, 1 findings with errors, 2 an input that
is not X12 or cannot be read. No command prints a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import ErpBridgeError, InputError
from ..formats.x12 import (
    AckBuilder,
    ControlNumbers,
    EnvelopeParty,
    Finding,
    GroupStart,
    InterchangeStart,
    LoopEnd,
    LoopStart,
    Overlay,
    Segment,
    SetEnd,
    SetStart,
    X12Reader,
    decode,
    parse_overlay,
)
from ..formats.x12.schema import SetSchema, builtin_overlays
from ..mapping.shipped import find_mappings, kind_stem
from . import ops
from .jobs import job_group
from .progress import ProgressPrinter
from .reconcile import reconcile_cmd
from .sap import sap_group

CHUNK = 1 << 20


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", file=str(path)) from None


def _events(
    path: Path, overlays: list[Overlay], validate: bool = True, segments: bool = True
) -> Iterator[Any]:
    """The reader's events for ``path``; ``segments=False`` for the envelope and the findings only,
    which lets the batch check take valid sets (formats/x12/batch.py)."""
    reader = X12Reader(validate=validate, segments=segments, overlays=overlays)
    for chunk in _chunks(path):
        reader.feed(chunk)
        yield from reader.events()
    reader.close()
    yield from reader.events()


def _load_overlays(partner: str | None, files: tuple[str, ...]) -> list[Overlay]:
    found: list[Overlay] = []
    for f in files:
        p = Path(f)
        try:
            found.append(parse_overlay(p.read_text(encoding="utf-8"), str(p)))
        except OSError as exc:
            raise InputError(f"cannot read overlay {p}: {exc.strerror or exc}", file=str(p)) from None
    if partner:
        found += builtin_overlays(partner)
        local = Path("overlays")
        if local.is_dir():
            for p in sorted(local.glob("*.yaml")):
                ov = parse_overlay(p.read_text(encoding="utf-8"), str(p))
                if ov.partner.upper() == partner.upper():
                    found.append(ov)
        if not found:
            raise InputError(
                f"no overlay for partner {partner!r} (looked in the built-in overlays and ./overlays/)",
                partner=partner,
            )
    return found


def _fail(exc: ErpBridgeError, code: int = 2) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="erpbridge")
def main() -> None:
    """erpbridge: EDI gateway between retail partners, warehouses and ERPs."""


@main.group()
def x12() -> None:
    """Read, validate and acknowledge X12 files."""


@x12.command("parse")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON view (docs/x12-schemas.md).")
def parse_cmd(file: Path, as_json: bool) -> None:
    """Print the structure of FILE (interchanges, groups, sets, loops, segments)."""
    try:
        if as_json:
            data = b"".join(_chunks(file))
            result = decode(data)
            click.echo(json.dumps(result.document, indent=2, ensure_ascii=False))
            return
        depth = 0
        for ev in _events(file, []):
            if isinstance(ev, InterchangeStart):
                h = ev.header
                click.echo(
                    f"interchange {h.get(13)}  {h.get(6).strip()} -> {h.get(8).strip()}  "
                    f"ISA12 {h.get(12)}  delimiters {ev.dialect.delimiters()!r}"
                )
            elif isinstance(ev, GroupStart):
                h = ev.header
                click.echo(f"  group {h.get(1)} {h.get(6)}  version {h.get(8)}")
            elif isinstance(ev, SetStart):
                name = ev.schema.name if isinstance(ev.schema, SetSchema) else "no schema"
                click.echo(f"    set {ev.header.get(1)} {ev.header.get(2)}  ({name})")
                depth = 3
            elif isinstance(ev, SetEnd):
                click.echo(f"    end of set: {ev.segment_count} segments")
            elif isinstance(ev, LoopStart):
                depth += 1
                click.echo("  " * depth + f"{ev.node.id} loop")
            elif isinstance(ev, LoopEnd):
                depth -= 1
            elif isinstance(ev, Segment):
                sep = ev.dialect.element
                click.echo("  " * (depth + 1) + sep.join(ev.elements))
    except ErpBridgeError as exc:
        _fail(exc)


@x12.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--partner", help="Apply this partner's implementation-guide overlays.")
@click.option("--overlay", "overlay_files", multiple=True, help="An overlay file to apply (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON lines.")
def validate_cmd(
    files: tuple[Path, ...], partner: str | None, overlay_files: tuple[str, ...], as_json: bool
) -> None:
    """Validate FILES. Exit 0 when every set is valid, 1 on errors, 2 on unreadable input."""
    try:
        overlays = _load_overlays(partner, overlay_files)
    except ErpBridgeError as exc:
        _fail(exc)
        return
    worst = 0
    for path in files:
        sets = errors = warnings = 0
        try:
            for ev in _events(path, overlays, segments=False):
                if isinstance(ev, SetEnd):
                    sets += 1
                elif isinstance(ev, Finding):
                    if ev.severity == "error":
                        errors += 1
                    else:
                        warnings += 1
                    if as_json:
                        click.echo(json.dumps({"file": str(path), **ev.to_json()}))
                    else:
                        color = "red" if ev.severity == "error" else "yellow"
                        click.secho(f"{path}:{ev.location.line or '?'}: {ev}", fg=color)
        except ErpBridgeError as exc:
            worst = 2
            if as_json:
                click.echo(
                    json.dumps({"file": str(path), "level": "file", "severity": "error", "message": str(exc)})
                )
            else:
                click.secho(f"{path}: not readable as X12: {exc}", fg="red")
            continue
        if errors:
            worst = max(worst, 1)
        if not as_json:
            verdict = (
                click.style("valid", fg="green")
                if not errors
                else click.style(f"{errors} error(s)", fg="red")
            )
            extra = f", {warnings} warning(s)" if warnings else ""
            click.echo(f"{path}: {sets} transaction set(s), {verdict}{extra}")
    sys.exit(worst)


@x12.command("ack")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the acknowledgments.",
)
@click.option("--partner", help="Apply this partner's implementation-guide overlays.")
@click.option("--overlay", "overlay_files", multiple=True, help="An overlay file to apply (repeatable).")
@click.option(
    "--control-number", default=1, show_default=True, help="ISA13 of the first acknowledgment interchange."
)
def ack_cmd(
    files: tuple[Path, ...],
    out_dir: Path,
    partner: str | None,
    overlay_files: tuple[str, ...],
    control_number: int,
) -> None:
    """Write the 997/999 (and TA1 where due) for every interchange in FILES into --out."""
    try:
        overlays = _load_overlays(partner, overlay_files)
    except ErpBridgeError as exc:
        _fail(exc)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    number = control_number
    now = datetime.now(UTC)
    for path in files:
        builder = AckBuilder()
        try:
            for ev in _events(path, overlays, segments=False):
                ack = builder.feed(ev)
                if ack is None or ack.is_empty():
                    continue
                data = ack.encode(now, ControlNumbers(interchange=number, transaction_set=1))
                kinds = sorted({ack.ack_kind(g) for g in ack.groups}) + (["TA1"] if ack.ta1 else [])
                # ISA13 comes from the partner's bytes: keep only digits and letters, so the name stays in --out
                control = (
                    "".join(c for c in ack.interchange_control if c.isascii() and c.isalnum()) or "unknown"
                )
                target = out_dir / f"{path.stem}.{control}.{'-'.join(kinds)}.edi"
                tmp = target.with_suffix(".tmp")
                tmp.write_bytes(data)
                tmp.replace(target)
                number += 1
                summary = ", ".join(f"{g.functional_id} {g.control}: {g.status}" for g in ack.groups)
                ta1 = f" TA1 {ack.ta1[0]}/{ack.ta1[1]}" if ack.ta1 else ""
                click.echo(f"{target}  ({summary or 'no groups'}{ta1})")
        except ErpBridgeError as exc:
            status = 2
            click.secho(f"{path}: not readable as X12, no acknowledgment written: {exc}", fg="red", err=True)
    sys.exit(status)


def _mapping_dirs() -> list[Path]:
    """Where shipped mappings are: ./mappings, then the checkout this package runs from."""
    here = Path(__file__).resolve().parents[3] / "mappings"
    return [p for p in (Path("mappings"), here) if p.is_dir()]


def _partner_overlays(partner: str | None) -> list[Overlay]:
    """The partner's implementation-guide overlays, or none when it has none."""
    if not partner:
        return []
    try:
        return _load_overlays(partner, ())
    except InputError:
        return []


def _shipped(pattern: str, partner: str | None) -> list[Path]:
    """Shipped mappings matching ``pattern``: the partner's folder wins over mappings/x12/."""
    folders: list[Path | None] = []
    for d in _mapping_dirs():
        folders += [d / "partners" / partner.lower() if partner else None, d / "x12"]
    return find_mappings(pattern, folders)


@main.command("translate")
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mapping file (default: the shipped one for each set or document kind).",
)
@click.option("--partner", help="Partner ID: its mappings (mappings/partners/<id>/) and X12 overlays win.")
@click.option(
    "--to",
    "to_kind",
    default="canonical",
    show_default=True,
    help="canonical (for X12 or IDoc XML input), or x12 / x12/<set> or idoc / idoc/<type> (for canonical JSON input).",
)
@click.option("--sender", help="X12 out: interchange sender, QUAL:ID (e.g. ZZ:NWOUTFITTERS).")
@click.option("--receiver", help="X12 out: interchange receiver, QUAL:ID (e.g. ZZ:MEGAMART).")
@click.option(
    "--version",
    "x12_version",
    type=click.Choice(["004010", "005010"]),
    default="004010",
    show_default=True,
    help="X12 out: the release to write.",
)
@click.option(
    "--control",
    "control",
    type=click.IntRange(1, 999_999_999),
    default=1,
    show_default=True,
    help="X12 out: ISA13 and the first GS06/ST02; IDoc out: the first DOCNUM (the daemon keeps these in its ledger).",
)
@click.option(
    "--test", "test_flag", is_flag=True, help="X12 out: mark the interchange as test data (ISA15 T)."
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
def translate_cmd(
    input_file: Path,
    mapping_file: Path | None,
    partner: str | None,
    to_kind: str,
    sender: str | None,
    receiver: str | None,
    x12_version: str,
    control: int,
    test_flag: bool,
    out_file: Path | None,
) -> None:
    """Translate an X12 or IDoc XML INPUT into canonical JSON (one document per set or IDoc), or
    canonical JSON into X12 or IDoc XML.

    \b
    erpbridge translate po.edi --out po.json
    erpbridge translate asn.json --to x12/856 --sender ZZ:NWOUTFITTERS --receiver ZZ:MEGAMART
    erpbridge translate orders.xml --out po.json
    erpbridge translate po.json --to idoc/ORDERS05 --sender KU:MEGAMART --receiver LS:S4PCLNT100
    """
    if to_kind == "idoc" or to_kind.startswith("idoc/"):  # SAP IDoc XML out (docs/idoc.md)
        from .idoc_translate import translate_to_idoc

        translate_to_idoc(
            input_file, mapping_file, partner, to_kind, sender, receiver, control, out_file, _mapping_dirs()
        )
    elif to_kind == "x12" or to_kind.startswith("x12/"):
        if not sender or not receiver:
            _fail(
                InputError("--to x12 needs --sender and --receiver (QUAL:ID, e.g. --sender ZZ:NWOUTFITTERS)")
            )
            return
        try:
            outbound = _Outbound(
                EnvelopeParty.parse(sender), EnvelopeParty.parse(receiver), x12_version, control, test_flag
            )
        except ErpBridgeError as exc:
            _fail(exc)
            return
        _translate_out(input_file, mapping_file, partner, to_kind, outbound, out_file)
    elif to_kind != "canonical":
        _fail(
            InputError(
                f"--to {to_kind}: use canonical (X12 or IDoc XML in), or x12 / x12/<set> or idoc / idoc/<type> "
                "(canonical JSON in)"
            )
        )
    else:
        from .idoc_translate import is_xml, translate_from_idoc

        if is_xml(input_file):  # SAP IDoc XML in (docs/idoc.md)
            translate_from_idoc(input_file, mapping_file, partner, out_file, _mapping_dirs())
        else:
            _translate_in(input_file, mapping_file, partner, out_file)


def _write_out(out_file: Path | None, data: bytes, what: str) -> None:
    if out_file is not None:
        tmp = out_file.with_suffix(out_file.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(out_file)
        click.echo(f"{out_file}: {what}", err=True)
    else:
        click.echo(data.decode("latin-1"), nl=False)


def _translate_in(
    input_file: Path, mapping_file: Path | None, partner: str | None, out_file: Path | None
) -> None:
    from ..mapping import MappingError, load_mapping
    from ..mapping.meta import x12_meta

    try:
        result = decode(b"".join(_chunks(input_file)), overlays=_partner_overlays(partner))
    except ErpBridgeError as exc:
        _fail(exc)
        return
    errors = [f for f in result.findings if f.severity == "error"]
    for f in errors:
        click.secho(f"{input_file}:{f.location.line or '?'}: {f}", fg="red", err=True)
    documents: list[Any] = []
    problems = 0
    cache: dict[Path, Any] = {}
    for inter in result.document["interchanges"]:
        for group in inter["groups"]:
            for tset in group["sets"]:
                set_id = tset.get("ST", {}).get("ST01", "?")
                where = f"set {set_id} {tset.get('ST', {}).get('ST02', '?')}"
                found = [mapping_file] if mapping_file else _shipped(f"{set_id}-to-*.yaml", partner)
                if not found:
                    click.secho(
                        f"{input_file}: {where}: no mapping for {set_id} (give one with --mapping)",
                        fg="yellow",
                        err=True,
                    )
                    problems += 1
                    continue
                path = found[0]
                try:
                    mapping = cache.get(path) or load_mapping(path)
                except MappingError as exc:
                    _fail(exc)
                    return
                cache[path] = mapping
                applied = mapping.apply(tset, x12_meta(inter, group, tset, partner))
                for finding in applied.findings:
                    click.secho(f"{input_file}: {where}: {finding}", fg="red", err=True)
                    problems += 1
                if applied.document is not None:
                    documents.append(applied.document)
    text = json.dumps(documents, indent=2, ensure_ascii=False) + "\n"
    _write_out(out_file, text.encode("utf-8"), f"{len(documents)} document(s)")
    sys.exit(1 if problems or errors else 0)


@dataclass(frozen=True)
class _Outbound:
    """The envelope options of ``translate --to x12``."""

    sender: EnvelopeParty
    receiver: EnvelopeParty
    version: str
    control: int
    test: bool


def _translate_out(
    input_file: Path,
    mapping_file: Path | None,
    partner: str | None,
    to_kind: str,
    outbound: _Outbound,
    out_file: Path | None,
) -> None:
    from ..errors import ModelError
    from ..formats.x12 import encode, envelope
    from ..mapping import MappingError, load_mapping
    from ..model import KINDS, from_json, to_json

    try:
        text = input_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(InputError(f"cannot read {input_file}: {exc}", file=str(input_file)))
        return
    try:
        given = json.loads(text)
    except ValueError as exc:
        _fail(InputError(f"{input_file}: not JSON: {exc}", file=str(input_file)))
        return
    docs = given if isinstance(given, list) else [given]
    set_id = to_kind.partition("/")[2] or "*"
    sets: list[dict[str, Any]] = []
    problems = 0
    cache: dict[Path, Any] = {}
    for n, doc in enumerate(docs):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        where = f"{input_file}: document {n + 1}"
        if kind not in KINDS:
            click.secho(f"{where}: 'kind' must be one of {', '.join(sorted(KINDS))}", fg="red", err=True)
            problems += 1
            continue
        try:
            doc = to_json(from_json(kind, doc))  # checked, with the model's defaults filled in
        except ModelError as exc:
            click.secho(f"{where}: not a valid {kind}: {exc}", fg="red", err=True)
            problems += 1
            continue
        found = [mapping_file] if mapping_file else _shipped(f"{kind_stem(kind)}-to-{set_id}.yaml", partner)
        if len(found) != 1:
            choices = ", ".join(p.stem.rpartition("-to-")[2] for p in found)
            hint = f"choose one with --to x12/<set> ({choices})" if found else "give one with --mapping"
            click.secho(
                f"{where}: {len(found) or 'no'} {kind} mappings to x12/{set_id}: {hint}", fg="red", err=True
            )
            problems += 1
            continue
        path = found[0]
        try:
            mapping = cache.get(path) or load_mapping(path)
        except MappingError as exc:
            _fail(exc)
            return
        cache[path] = mapping
        applied = mapping.apply(doc)
        for finding in applied.findings:
            click.secho(f"{where}: {finding}", fg="red", err=True)
            problems += 1
        if applied.document is not None and not applied.findings:
            sets.append(applied.document)
    if problems or not sets:
        if not sets and not problems:
            click.secho(f"{input_file}: no documents", fg="red", err=True)
        sys.exit(1)
    try:
        view = envelope(
            sets,
            sender=outbound.sender,
            receiver=outbound.receiver,
            now=datetime.now(UTC),
            version=outbound.version,
            test=outbound.test,
        )
        data = encode(
            view,
            control=ControlNumbers(outbound.control, outbound.control, 1),
            overlays=_partner_overlays(partner),
        )
    except ErpBridgeError as exc:
        _fail(exc, code=1)
        return
    _write_out(out_file, data, f"{len(sets)} transaction set(s), ISA13 {outbound.control:09d}")
    sys.exit(0)


def _open_ledger(config: Any) -> Any:
    from ..ledger import Ledger

    path = config.ledger.path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return Ledger.open(config.ledger.reveal_url(), retry_policy=config.retry.policy())


@main.command("run")
@click.option(
    "--config",
    "config_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The configuration (default: ./config.example.toml; see docs/configuration.md).",
)
@click.option("--once", is_flag=True, help="Process everything pending, print a summary and exit.")
@click.option("--quiet", is_flag=True, help="With --once: no progress lines, only the summary.")
def run_cmd(config_file: Path | None, once: bool, quiet: bool) -> None:
    """Run the flows: poll partners and folders, acknowledge, translate, deliver, send.

    With --once: one pass over every flow, a summary table, exit 0, or 1 when anything was
    quarantined or dead-lettered (the reasons are printed). Without it: the daemon, which polls each
    flow on its schedule until SIGTERM or Ctrl-C (it finishes the document in hand, then stops).
    """
    import logging

    from ..config import check_environment, load_config
    from ..observability.logs import configure_logging, secrets_of
    from ..pipeline import Runner

    try:
        config = load_config(config_file) if config_file is not None else ops.load_default_config()
        check_environment(config)
        # every log record goes through the redaction filter, whatever library writes it
        configure_logging(
            json=config.observability.log_format == "json",
            level=config.observability.log_level.upper(),
            secrets=secrets_of(config),
        )
        for chatty in ("paramiko", "alembic"):  # a line per connection, per migration step
            logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
        # jobs run one at a time on purpose: a tick skipped while a pass runs is not worth a warning
        logging.getLogger("apscheduler").setLevel(max(logging.ERROR, logging.getLogger().level))
        ledger = _open_ledger(config)
    except ErpBridgeError as exc:
        _fail(exc)
        return
    mappings_root = next(
        (d for d in (config.base_dir / "mappings", *_mapping_dirs()) if d.is_dir()), Path("mappings")
    )

    # a bar on a terminal for long batches, else lines; the daemon reports what each job did instead
    progress = ProgressPrinter(quiet=quiet or not once)
    runner = Runner(config, ledger, mappings_root=mappings_root, progress=progress, settle=once)
    if once:
        started = datetime.now(UTC)
        summary = runner.run_once()
        _print_summary(summary)
        _record_flow_runs(ledger, runner.worker, summary, started)
        ledger.close()
        sys.exit(1 if summary.failed else 0)
    _daemon(runner, config, ledger)


def _record_flow_runs(ledger: Any, worker: str, summary: Any, started: datetime) -> None:
    """Each flow that did something in a ``run --once`` pass is recorded as the daemon's polls are
    (``scheduler.record_poll``), so that ``erpbridge status`` shows its last run. The pass's outcome
    does not depend on it: a ledger that fails here is said, not raised."""
    from ..pipeline import Summary
    from ..scheduler import record_poll

    try:
        for flow in sorted({flow for flow, _, _ in summary.table()}):
            mine = Summary(problems=[p for p in summary.problems if p.startswith(f"{flow}: ")])
            for f, outcome, n in summary.table():
                if f == flow:
                    mine.add(flow, outcome, n)
            record_poll(ledger, worker, flow, mine, started)
    except ErpBridgeError as exc:
        click.secho(f"attention: the pass's job runs were not recorded: {exc}", fg="yellow")


def _print_summary(summary: Any) -> None:
    rows = summary.table()
    if not rows:
        click.echo("nothing to do")
    else:
        width = max(len(flow) for flow, _, _ in rows)
        click.echo(f"{'flow'.ljust(width)}  {'outcome':<14} {'count':>5}")
        for flow, outcome, n in rows:
            color = "red" if outcome in ("quarantined", "dead_lettered", "rejected", "ack_rejected") else None
            click.secho(f"{flow.ljust(width)}  {outcome:<14} {n:>5}", fg=color)
    for problem in summary.problems:
        click.secho(f"attention: {problem}", fg="yellow")


def _daemon(runner: Any, config: Any, ledger: Any) -> None:
    import logging

    from ..observability.metrics import MetricsServer
    from ..scheduler import Daemon

    log = logging.getLogger("erpbridge.daemon")
    as_json = config.observability.log_format == "json"

    def report(job: str, summary: Any) -> None:
        if as_json:  # one record per job, its counts as fields
            counts = [{"flow": f, "outcome": o, "count": n} for f, o, n in summary.table()]
            log.info("%s", job, extra={"job": job, "counts": counts, "problems": summary.problems})
            return
        click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z {job}", err=True)
        _print_summary(summary)

    def say(line: str) -> None:
        if as_json:
            log.info("%s", line)
        else:
            click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z {line}", err=True)

    daemon = Daemon(config, ledger, runner, report=report, say=say)
    server = None
    try:
        if config.observability.metrics is not None:
            host, port = config.observability.metrics
            server = MetricsServer(host, port, ledger, scheduler_running=lambda: daemon.running)
            server.start()
            say(f"metrics on {server.url}/metrics (health: /healthz, readiness: /readyz)")
        code = daemon.run()
    except ErpBridgeError as exc:
        _fail(exc)
        return
    finally:
        if server is not None:
            server.stop()
        ledger.close()
    sys.exit(code)


@main.group("map")
def map_group() -> None:
    """Check and test mapping files."""


@map_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def map_check_cmd(paths: tuple[Path, ...]) -> None:
    """Load and check mapping files (default: the shipped ones), and the flat-file layouts (in a
    ``layouts`` folder) and inventory rules (``*-rules.yaml``) among them. Exit 1 when any is wrong."""
    from ..errors import ConfigError
    from ..formats.flatfile import load_layout
    from ..mapping import load_mapping
    from ..mapping.inventory_rules import load_rules

    files = _mapping_files(paths, everything=True)
    if not files:
        _fail(InputError("no mapping files found"))
    bad = 0
    for f in files:
        try:
            if _is_layout(f):
                layout = load_layout(f)
                what = f"layout, {layout.kind}"
            elif _is_rules(f):
                what = f"inventory rules, {len(load_rules(f).channels)} channel exception(s)"
            else:
                m = load_mapping(f)
                what = f"{m.source} -> {m.target}"
        except ConfigError as exc:  # MappingError, LayoutError: file:line
            bad += 1
            click.secho(f"error: {exc}", fg="red")
            continue
        click.echo(f"{f}: ok ({what})")
    sys.exit(1 if bad else 0)


def _mapping_files(paths: tuple[Path, ...], *, everything: bool = False) -> list[Path]:
    """The YAML files below ``paths``; the flat-file layouts and inventory rules among them only
    with ``everything`` (they are not mappings, and have no samples)."""
    files: list[Path] = []
    for p in paths or tuple(_mapping_dirs()[:1]):
        files += sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
    return [f for f in files if everything or not (_is_layout(f) or _is_rules(f))]


def _is_layout(path: Path) -> bool:
    """A flat-file layout (docs/flatfiles.md): a YAML file in a ``layouts`` folder."""
    return "layouts" in path.parent.parts


def _is_rules(path: Path) -> bool:
    """Per-channel inventory rules (docs/flatfiles.md): ``*-rules.yaml``."""
    return path.name.endswith("-rules.yaml")


@map_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def map_test_cmd(paths: tuple[Path, ...]) -> None:
    """Run each mapping's sample cases (NAME.samples/ beside NAME.yaml) and show a diff for each failure.

    Exit 0 when every case passes, 1 when a case fails, 2 when a mapping cannot be loaded.
    """
    from ..mapping import MappingError, load_mapping
    from ..mapping.samples import run_case, sample_cases

    files = _mapping_files(paths)
    if not files:
        _fail(InputError("no mapping files found"))
    passed = failed = broken = 0
    without: list[Path] = []
    for f in files:
        cases, complaints = sample_cases(f)
        for c in complaints:
            click.secho(f"error: {c}", fg="red")
            failed += 1
        if not cases:
            without.append(f)
            continue
        try:
            mapping = load_mapping(f)
        except MappingError as exc:
            broken += 1
            click.secho(f"error: {exc}", fg="red")
            continue
        for case in cases:
            result = run_case(mapping, case)
            if result.ok:
                passed += 1
                click.echo(f"PASS {f} {case.name}")
                continue
            failed += 1
            click.secho(f"FAIL {f} {case.name}", fg="red", bold=True)
            for problem in result.problems:
                click.secho(f"  {problem}", fg="red")
            for line in result.diff:
                color = "green" if line.startswith("+") else "red" if line.startswith("-") else None
                click.secho(f"  {line}", fg=color)
    for f in without:
        click.secho(
            f"note: {f} has no samples (add {f.stem}.samples/CASE.input.* and CASE.expected.*)", fg="yellow"
        )
    click.echo(f"{passed} passed, {failed} failed, {len(without)} mapping(s) without samples")
    sys.exit(2 if broken else 1 if failed else 0)


ops.register(main)  # erpbridge ledger, dlq, replay, status (cli/ops.py)
main.add_command(reconcile_cmd)  # erpbridge reconcile (cli/reconcile.py)
main.add_command(job_group)  # erpbridge job list|run (cli/jobs.py)
main.add_command(sap_group)  # erpbridge sap reverse-goods-issue (cli/sap.py)

if __name__ == "__main__":  # pragma: no cover
    main()
