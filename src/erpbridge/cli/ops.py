"""The operator commands (docs/operations.md)::

    erpbridge ledger list|show|export|verify     what the ledger holds, and whether its log is intact
    erpbridge dlq list|retry|drop                dead letters and quarantined documents
    erpbridge endpoint resume NAME               resume an endpoint paused by refused credentials
    erpbridge replay DOC                         send a document again, on purpose
    erpbridge status                             the installation at a glance

Every command reads a configuration (``--config FILE``, default ``./config.example.toml``) and opens
its ledger. A document is named by its ID or the start of it (``3f2a9c1e``). Times are UTC.

Exit codes: 0 done; 1 a problem found (a broken hash chain, a replay that failed); 2 a usage or
configuration error (no such document, an ambiguous ID, a refused operation, an unreadable config).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from ..errors import ConfigError, ErpBridgeError, InputError, LedgerError, LedgerIntegrityError

if TYPE_CHECKING:
    from ..config import Config
    from ..ledger import Document, Ledger

DEFAULT_CONFIG = "config.example.toml"
#: How many pending documents ``status`` lists (it counts them all).
PENDING_SHOWN = 20
_ID_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]{0,35}\Z")

P = ParamSpec("P")
R = TypeVar("R")


# -- plumbing -------------------------------------------------------------------------------------


def _guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Print erpbridge's errors cleanly: exit 1 for a broken hash chain, 2 for everything else."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from .main import _fail

        try:
            return fn(*args, **kwargs)
        except ErpBridgeError as exc:
            _fail(exc, 1 if isinstance(exc, LedgerIntegrityError) else 2)
            raise  # not reached: _fail exits

    return wrapper


def _config_option(fn: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"The configuration (default: ./{DEFAULT_CONFIG}).",
    )(fn)


def _json_option(fn: Callable[P, R]) -> Callable[P, R]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(fn)


def _load(config_file: Path | None) -> Config:
    from ..config import load_config

    return load_config(config_file) if config_file is not None else load_default_config()


def load_default_config() -> Config:
    """``./config.example.toml``, for commands run without ``--config``."""
    from ..config import load_config

    config_file = Path(DEFAULT_CONFIG)
    if not config_file.is_file():
        raise ConfigError(
            f"no --config given and there is no {DEFAULT_CONFIG} in {Path.cwd()}: pass --config FILE"
        )
    return load_config(config_file)


def _open(config: Config) -> Ledger:
    from .main import _open_ledger

    path = config.ledger.path
    if path is not None and not path.exists():
        raise ConfigError(
            f"{config.source}: the ledger {path} does not exist yet: "
            f"erpbridge run --config {config.source} creates it"
        )
    ledger: Ledger = _open_ledger(config)
    return ledger


def _when(moment: datetime | None, *, fraction: bool = False) -> str:
    if moment is None:
        return "-"
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f" if fraction else "%Y-%m-%d %H:%M:%S")
    return text[:-3] if fraction else text


def _short(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "", *, right: Sequence[int] = ()
) -> list[str]:
    """Aligned columns (those in ``right``, e.g. counts, to the right), one string per line."""
    cells = [list(map(str, r)) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(row: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    return [line(headers)] + [line(r) for r in cells]


def _plain(value: Any) -> Any:
    """A record (dataclass), mapping or sequence as JSON-ready values; times in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _print_json(value: Any) -> None:
    click.echo(json.dumps(_plain(value), indent=2, ensure_ascii=False))


def _controls(doc: Document) -> str:
    if doc.docnum and not (doc.isa13 or doc.gs06 or doc.st02):
        return f"DOCNUM {doc.docnum}"  # an SAP IDoc
    return "/".join(n or "-" for n in (doc.isa13, doc.gs06, doc.st02))


def resolve(ledger: Ledger, ref: str) -> Document:
    """The document whose ID is ``ref`` or starts with it; LedgerError when none or several do."""
    wanted = ref.strip().lower()
    if not _ID_PREFIX.match(wanted):
        raise InputError(
            f"{ref!r} is not a document ID or the start of one (hexadecimal, e.g. 3f2a9c1e; "
            "erpbridge ledger list shows them)"
        )
    found = ledger.find(id_prefix=wanted, limit=6)
    exact = [d for d in found if d.id == wanted]
    if exact:
        return exact[0]
    if not found:
        raise LedgerError(f"no document's ID starts with {wanted!r} (erpbridge ledger list shows them)")
    if len(found) > 1:
        some = ", ".join(f"{d.id} ({d.partner} {d.kind})" for d in found[:5])
        more = " and more" if len(found) > 5 else ""
        raise LedgerError(f"{wanted!r} is the start of several documents' IDs: {some}{more}; give more of it")
    return found[0]


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """``--since``: a date (2026-11-01), a time (2026-11-01T08:00, UTC unless it says), or an age (24h, 7d)."""
    if value is None:
        return None
    from ..config import parse_duration

    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a date or time (2026-11-01, 2026-11-01T08:00) nor an age (24h, 7d, 90m)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _states(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from ..ledger import State

    known = {s.value for s in State}
    for v in value:
        if v not in known:
            raise click.BadParameter(f"{v!r} is not a state; the states are {', '.join(sorted(known))}")
    return value


# -- erpbridge ledger ------------------------------------------------------------------------------


@click.group("ledger")
def ledger_group() -> None:
    """Look into the ledger: documents, their events and payloads, and the hash chain."""


@ledger_group.command("list")
@_config_option
@click.option("--partner", help="Only this partner's documents.")
@click.option("--state", "states", multiple=True, callback=_states, help="Only in this state (repeatable).")
@click.option("--direction", type=click.Choice(["in", "out"]), help="Only inbound or outbound documents.")
@click.option("--kind", help="Only this kind (x12, x12/856, x12/997, replay...).")
@click.option(
    "--since", callback=_since, help="Only documents recorded since: a date, a UTC time, or an age (24h, 7d)."
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@_json_option
@_guarded
def ledger_list_cmd(
    config_file: Path | None,
    partner: str | None,
    states: tuple[str, ...],
    direction: str | None,
    kind: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List documents, newest first."""
    config = _load(config_file)
    with _open(config) as ledger:
        docs = ledger.find(
            partner=partner,
            direction=direction,
            kind=kind,
            states=states or None,
            created_since=since,
            newest_first=True,
            limit=limit,
        )
    if as_json:
        _print_json(docs)
        return
    if not docs:
        click.echo("no documents match")
        return
    rows = [
        (
            d.id[:8],
            _when(d.created_at),
            d.direction.value,
            d.partner,
            d.kind,
            d.state.value,
            _controls(d),
            d.business_key or "-",
            _short(d.file_name, 32),
            _short(d.last_error, 60),
        )
        for d in docs
    ]
    headers = (
        "id",
        "created (UTC)",
        "dir",
        "partner",
        "kind",
        "state",
        "isa13/gs06/st02",
        "key",
        "file",
        "error",
    )
    for line in _table(headers, rows):
        click.echo(line)
    if len(docs) == limit:
        click.echo(f"(the newest {limit}: --limit N shows more)")


def _detail(detail: Mapping[str, Any]) -> str:
    def text(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    return " ".join(f"{k}={text(v)}" for k, v in detail.items()) or "-"


@ledger_group.command("show")
@click.argument("doc_ref", metavar="DOC")
@_config_option
@_json_option
@_guarded
def ledger_show_cmd(doc_ref: str, config_file: Path | None, as_json: bool) -> None:
    """Show a document: its fields, its events as a timeline, links, dead letters and deliveries.

    DOC is a document ID or the start of one.
    """
    config = _load(config_file)
    with _open(config) as ledger:
        doc = resolve(ledger, doc_ref)
        export = ledger.export(doc.id)
        others = {
            other: ledger.get(other)
            for link in export.links
            for other in (link.from_document, link.to_document)
            if other != doc.id
        }
    if as_json:
        data = export.to_json()
        data.pop("payloads")
        data["payload"] = {"sha256": doc.payload_sha256, "size": len(export.payload or b"")}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from ..ledger.states import FAILURE_STATES

    size = f" ({len(export.payload)} bytes)" if export.payload is not None else ""
    state = doc.state.value
    if doc.state in FAILURE_STATES and doc.resume_state is not None:
        state += f" (failed at {doc.resume_state.value})"
    numbers = [
        f"{name} {n}"
        for name, n in (("ISA13", doc.isa13), ("GS06", doc.gs06), ("ST02", doc.st02), ("DOCNUM", doc.docnum))
        if n
    ]
    fields_shown = [
        ("direction", doc.direction.value),
        ("partner", doc.partner),
        ("kind", doc.kind),
        ("state", state),
        ("business key", doc.business_key or "-"),
        ("control numbers", "  ".join(numbers) + (f"  ({doc.set_count} sets)" if doc.set_count > 1 else "")
         if numbers else "-"),
        ("file", doc.file_name or "-"),
        ("payload", f"sha256 {doc.payload_sha256}{size}" if doc.payload_sha256 else "-"),
        ("idempotency key", doc.idempotency_key or "-"),
        ("created", _when(doc.created_at)),
        ("updated", _when(doc.updated_at)),
        ("attempts", str(doc.attempts)),
        ("next attempt", _when(doc.next_attempt_at)),
        ("claimed by", f"{doc.claimed_by} until {_when(doc.claimed_until)}" if doc.claimed_by else "-"),
        ("last error", doc.last_error or "-"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in fields_shown)
    click.secho(f"document {doc.id}", bold=True)
    for key, value in fields_shown:
        if value != "-" or key in ("state", "file"):
            click.echo(f"  {key.ljust(width)}  {value}")
    click.secho(f"\nevents ({len(export.events)})", bold=True)
    rows = [
        (
            str(e.id),
            _when(e.created_at, fraction=True),
            e.step,
            e.outcome,
            f"{e.from_state.value + ' ' if e.from_state else ''}-> {e.to_state.value}" if e.to_state else "-",
            f"{e.latency_ms} ms" if e.latency_ms is not None else "-",
            e.credential or "-",
            _detail(e.detail),
        )
        for e in export.events
    ]
    for line in _table(
        ("#", "time (UTC)", "step", "outcome", "state", "latency", "credential", "detail"), rows, "  "
    ):
        click.echo(line)
    click.secho(f"\nlinks ({len(export.links)})", bold=True)
    for link in export.links:
        mine = link.from_document == doc.id
        other = others[link.to_document if mine else link.from_document]
        about = f"{other.id} ({other.direction.value} {other.kind}, {other.state.value}, ISA13 {other.isa13 or '-'})"
        rel = link.relation.value
        click.echo(f"  this {rel} {about}" if mine else f"  {about} {rel} this")
    click.secho(f"\ndead letters ({len(export.dead_letters)})", bold=True)
    for dl in export.dead_letters:
        resolved = f", {dl.resolution} {_when(dl.resolved_at)}" if dl.resolved_at else ", open"
        click.echo(
            f"  {_when(dl.created_at)}  {dl.state.value} after {dl.attempts} attempt(s){resolved}: {dl.reason}"
        )
    click.secho(f"\noutbox ({len(export.outbox)})", bold=True)
    for o in export.outbox:
        ref = f" ref {o.external_ref}" if o.external_ref else ""
        err = f": {o.last_error}" if o.last_error else ""
        click.echo(f"  {o.target}  {o.state.value}  key {o.idempotency_key}  attempts {o.attempts}{ref}{err}")


def _extension(data: bytes) -> str:
    """A file extension for a payload: .edi (X12), .json, .xml, .txt or .bin."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"ISA"):
        return ".edi"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return ".bin"
    try:
        json.loads(text)
        return ".json"
    except ValueError:
        pass
    return ".xml" if head.startswith(b"<") else ".txt"


@ledger_group.command("export")
@click.argument("doc_ref", metavar="DOC")
@_config_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write into (default: ./export-<ID>).",
)
@_guarded
def ledger_export_cmd(doc_ref: str, config_file: Path | None, out_dir: Path | None) -> None:
    """Write everything about a document into a folder: the export as JSON, and every payload as a file.

    The JSON (<ID>.json) holds the document, its events, links, dead letters, deliveries and payloads
    (base64); each payload is also written as it is, named by its SHA-256 (<sha256>.edi, .json...).
    """
    config = _load(config_file)
    with _open(config) as ledger:
        doc = resolve(ledger, doc_ref)
        export = ledger.export(doc.id)
    folder = out_dir or Path(f"export-{doc.id[:8]}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{doc.id}.json"
        target.write_text(json.dumps(export.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(
            f"{target}: the export ({len(export.events)} event(s), {len(export.links)} link(s), "
            f"{len(export.payloads)} payload(s))"
        )
        for sha, data in sorted(export.payloads.items()):
            path = folder / f"{sha}{_extension(data)}"
            path.write_bytes(data)
            uses = [f"event {e.id} ({e.step})" for e in export.events if e.payload_sha256 == sha]
            what = ["the document's payload"] if sha == doc.payload_sha256 else []
            click.echo(f"{path}: {len(data)} bytes, {', '.join(what + uses)}")
    except OSError as exc:
        raise InputError(f"cannot write into {folder}: {exc.strerror or exc}", file=str(folder)) from None


@ledger_group.command("verify")
@_config_option
@_guarded
def ledger_verify_cmd(config_file: Path | None) -> None:
    """Walk the event log's hash chain. Exit 0 when it holds, 1 where it breaks (tampering, corruption)."""
    config = _load(config_file)
    with _open(config) as ledger:
        url = ledger.url
        try:
            count = ledger.verify()
        except LedgerIntegrityError as exc:
            where = exc.context.get("event", "?")
            click.secho(f"{url}: the hash chain breaks at event {where}", fg="red", bold=True, err=True)
            click.secho(
                f"  {exc}\n  The event log was changed after it was written (or is corrupt): restore the "
                f"ledger from a backup, and see erpbridge ledger show {exc.context.get('document') or 'DOC'}",
                fg="red",
                err=True,
            )
            sys.exit(1)
    click.echo(f"{url}: {count} events checked, the hash chain is intact")


# -- erpbridge dlq ---------------------------------------------------------------------------------


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: documents whose retries ran out, and quarantined ones."""


@dlq_group.command("list")
@_config_option
@click.option("--partner", help="Only this partner's.")
@click.option("--all", "show_all", is_flag=True, help="Resolved ones too (retried or dropped).")
@_json_option
@_guarded
def dlq_list_cmd(config_file: Path | None, partner: str | None, show_all: bool, as_json: bool) -> None:
    """List dead letters, oldest first."""
    config = _load(config_file)
    with _open(config) as ledger:
        letters = ledger.dead_letters(partner=partner, include_resolved=show_all, limit=10_000)
    if as_json:
        _print_json(letters)
        return
    if not letters:
        click.echo("no dead letters" if not show_all else "no dead letters, open or resolved")
        return
    rows = [
        (
            dl.document_id[:8],
            _when(dl.created_at),
            dl.partner,
            dl.kind,
            dl.state.value,
            str(dl.attempts),
            (f"{dl.resolution} {_when(dl.resolved_at)}" if dl.resolved_at else "open"),
            _short(dl.reason, 90),
        )
        for dl in letters
    ]
    for line in _table(
        ("id", "since (UTC)", "partner", "kind", "state", "attempts", "status", "reason"), rows
    ):
        click.echo(line)


def _retry_one(ledger: Ledger, doc: Document) -> None:
    from ..ledger import Direction, State

    if doc.state not in (State.DEAD_LETTERED, State.QUARANTINED):
        raise LedgerError(
            f"the document is {doc.state.value}, not a dead letter (erpbridge dlq list shows them)",
            document=doc.id,
        )
    if doc.direction == Direction.OUT and doc.resume_state in (State.PICKED_UP, State.MAPPED, None):
        raise LedgerError(
            "erpbridge run does not resume an outbound document that failed before its X12 was written: fix "
            "the cause, drop it (erpbridge dlq drop) and put a corrected file into the flow's source folder",
            document=doc.id,
            partner=doc.partner,
        )
    if doc.kind == "replay":
        raise LedgerError(
            "a replay that failed is not retried: replay the original again, then drop this one",
            document=doc.id,
        )
    after = ledger.retry_dead_letter(doc.id, detail={"by": "erpbridge dlq retry"})
    click.echo(
        f"{doc.id}: {doc.partner} {doc.kind} back to {after.state.value}; the next erpbridge run picks it up"
    )


@dlq_group.command("retry")
@click.argument("doc_ref", metavar="DOC", required=False)
@_config_option
@click.option("--all", "retry_all", is_flag=True, help="Every open dead letter (of --partner).")
@click.option("--partner", help="With --all: only this partner's.")
@_guarded
def dlq_retry_cmd(
    doc_ref: str | None, config_file: Path | None, retry_all: bool, partner: str | None
) -> None:
    """Send a dead letter (DOC) or all of them (--all) back to work, attempts at 0.

    It goes back to the step it failed in; the next `erpbridge run` (or the daemon's next poll) does
    that step again. Fix the cause first: a quarantined document fails again the same way otherwise.
    """
    if bool(doc_ref) == retry_all:
        raise click.UsageError("give either DOC or --all")
    if partner and not retry_all:
        raise click.UsageError("--partner goes with --all")
    config = _load(config_file)
    with _open(config) as ledger:
        if doc_ref:
            _retry_one(ledger, resolve(ledger, doc_ref))
            return
        letters = ledger.dead_letters(partner=partner, limit=100_000)
        if not letters:
            click.echo("no dead letters")
            return
        refused = 0
        for dl in letters:
            try:
                _retry_one(ledger, ledger.get(dl.document_id))
            except LedgerError as exc:
                refused += 1
                click.secho(f"{dl.document_id}: not retried: {exc.message}", fg="yellow", err=True)
        if refused:
            sys.exit(2)


@dlq_group.command("drop")
@click.argument("doc_ref", metavar="DOC")
@click.option("--reason", required=True, help="Why it is given up (kept in the ledger).")
@_config_option
@_guarded
def dlq_drop_cmd(doc_ref: str, reason: str, config_file: Path | None) -> None:
    """Give up on a dead letter: it becomes dropped (final), with the reason in its events."""
    from ..ledger import State

    if not reason.strip():
        raise click.UsageError("--reason must say why the document is dropped")
    config = _load(config_file)
    with _open(config) as ledger:
        doc = resolve(ledger, doc_ref)
        if doc.state not in (State.DEAD_LETTERED, State.QUARANTINED):
            raise LedgerError(
                f"the document is {doc.state.value}, not a dead letter (erpbridge dlq list shows them)",
                document=doc.id,
            )
        ledger.drop_dead_letter(doc.id, reason=reason)
    click.echo(f"{doc.id}: {doc.partner} {doc.kind} dropped: {reason}")


# -- erpbridge replay ------------------------------------------------------------------------------


def _mappings_root(config: Config) -> Path:
    from .main import _mapping_dirs

    return next((d for d in (config.base_dir / "mappings", *_mapping_dirs()) if d.is_dir()), Path("mappings"))


@click.command("replay")
@click.argument("doc_ref", metavar="DOC")
@_config_option
@click.option("--reason", help="Why (kept in the ledger with the replay).")
@click.option("--key", help="Replay at most once per key: the same DOC and key again does nothing.")
@_guarded
def replay_cmd(doc_ref: str, config_file: Path | None, reason: str | None, key: str | None) -> None:
    """Send a document again, on purpose.

    \b
    Inbound (a partner's interchange): mapped again from its stored payload, and its canonical
    documents delivered again to the flow's target under new names; no 997 is sent.
    Outbound (X12 we sent): the same transaction sets in a NEW interchange, with new control
    numbers, put into the partner's folder; a 997 is owed for it.

    A document the daemon is still working on is refused. Exit 0 done, 1 the replay failed,
    2 refused or not found.
    """
    from ..config import check_environment
    from ..errors import TransformError, TransportError, X12Error
    from ..pipeline import Runner
    from ..pipeline.replay import ReplayFailedError, replay

    config = _load(config_file)
    check_environment(config)
    with _open(config) as ledger:
        doc = resolve(ledger, doc_ref)
        runner = Runner(config, ledger, mappings_root=_mappings_root(config))
        try:
            done = replay(runner, doc.id, reason=reason, key=key)
        except (ReplayFailedError, TransformError, TransportError, X12Error) as exc:
            from .main import _fail

            _fail(exc, 1)
            return
    new = done.replay
    if not done.created:
        click.echo(
            f"{doc.id} was already replayed with key {key!r}: {new.id} ({new.kind}, {new.state.value}); nothing done"
        )
        return
    what = f"{doc.direction.value} {doc.partner} {doc.kind}, {doc.state.value}"
    click.echo(f"replayed {doc.id} ({what}) as {new.id}")
    if doc.direction.value == "in":
        click.echo(f"  delivered {len(done.files)} document(s) to {done.target}, no 997 sent:")
    else:
        click.echo(
            f"  a new interchange: ISA13 {new.isa13}, GS06 {new.gs06}, ST02 {new.st02}, {new.state.value} to "
            f"{done.target}; {doc.partner} owes a 997 for it:"
        )
    for name in done.files:
        click.echo(f"    {name}")
    for note in done.notes:
        click.secho(f"  note: {note}", fg="yellow")


# -- erpbridge status ------------------------------------------------------------------------------


def collect_status(config: Config, ledger: Ledger) -> dict[str, Any]:
    """Everything ``erpbridge status`` shows, as JSON-ready values."""
    from ..config import format_duration
    from ..ledger import Direction, State
    from ..ledger.states import WORK_STATES

    counts = ledger.counts()
    runs = ledger.last_job_runs()
    flows = [
        {
            "name": f.name,
            "direction": f.direction,
            "partner": f.partner,
            "enabled": f.enabled,
            "schedule": (
                f"every {format_duration(f.schedule.every)}"
                if f.schedule.every
                else f"cron {f.schedule.cron}"
                if f.schedule.cron
                else "-"
            ),
            # the last pass that found work for it (the daemon's poll:<flow> job runs, and run --once)
            "last_run": _plain(last.finished_at or last.started_at)
            if (last := runs.get(f"poll:{f.name}"))
            else None,
            "last_outcome": last.outcome if last else None,
        }
        for f in config.flows.values()
    ]
    documents = {
        d.value: {s.value: n for (dd, s), n in sorted(counts.items()) if dd == d and n} for d in Direction
    }
    pending_count = sum(n for (d, s), n in counts.items() if s in WORK_STATES[d] or s == State.RETRY_WAIT)
    pending: list[Document] = []
    for d in Direction:
        pending += ledger.find(direction=d, states=[*WORK_STATES[d], State.RETRY_WAIT], limit=PENDING_SHOWN)
    pending.sort(key=lambda doc: (doc.next_attempt_at or doc.updated_at, doc.id))
    letters = ledger.dead_letters(limit=1)
    dead = {
        s.value: sum(n for (_, st), n in counts.items() if st == s)
        for s in (State.DEAD_LETTERED, State.QUARANTINED)
    }
    overdue = ledger.find(direction=Direction.OUT, states=[State.ACK_OVERDUE], limit=1000)
    return {
        "ledger": ledger.url,
        "flows": flows,
        "documents": documents,
        "pending": {
            "count": pending_count,
            "documents": [
                {
                    "id": doc.id,
                    "direction": doc.direction.value,
                    "partner": doc.partner,
                    "kind": doc.kind,
                    "state": doc.state.value,
                    "resumes_at": doc.resume_state.value if doc.resume_state else None,
                    "next_attempt_at": _plain(doc.next_attempt_at),
                    "claimed_by": doc.claimed_by,
                    "claimed_until": _plain(doc.claimed_until),
                    "last_error": doc.last_error,
                }
                for doc in pending[:PENDING_SHOWN]
            ],
        },
        "dead_letters": {
            "count": sum(dead.values()),
            **dead,
            "oldest": _plain(letters[0]) if letters else None,
        },
        "quarantined": dead[State.QUARANTINED.value],
        "overdue_acks": [
            {
                "id": doc.id,
                "partner": doc.partner,
                "kind": doc.kind,
                "isa13": doc.isa13,
                "gs06": doc.gs06,
                "sent_at": _plain(doc.created_at),
                "overdue_since": _plain(doc.updated_at),
            }
            for doc in overdue
        ],
        "last_event": {p: _plain(t) for p, t in sorted(ledger.last_event_times().items())},
        "paused_endpoints": [
            {
                "endpoint": p.endpoint,
                "paused_at": _plain(p.paused_at),
                "reason": p.reason,
                "document_id": p.document_id,
                "worker": p.worker,
            }
            for p in sorted(ledger.paused_endpoints().values(), key=lambda p: p.endpoint)
        ],
        "reconciliation": _reconciliation_status(ledger),
    }


def _reconciliation_status(ledger: Ledger) -> dict[str, Any]:
    """The last run of each reconciliation job: when, its result, its open discrepancies per partner
    (those it found: a later run that no longer finds one has closed it)."""
    from ..reconcile.jobs import last_reconciliations

    runs = last_reconciliations(ledger)
    counts = ledger.discrepancy_counts(r.id for r in runs.values())
    return {
        job: {
            "run": run.id,
            "started_at": _plain(run.started_at),
            "finished_at": _plain(run.finished_at),
            "outcome": run.outcome,
            "verdict": run.detail.get("verdict", run.outcome),
            "open": sum(counts.get(run.id, {}).values()),
            "by_partner": counts.get(run.id, {}),
            "threshold": run.detail.get("threshold"),
            "error": run.detail.get("error"),
        }
        for job, run in sorted(runs.items())
    }


def _render_status(status: Mapping[str, Any]) -> list[str]:
    def when(text: str | None) -> str:
        return _when(datetime.fromisoformat(text)) if text else "-"

    out = [f"ledger: {status['ledger']}  (times in UTC)", "", "flows"]
    out += _table(
        ("name", "direction", "partner", "enabled", "schedule", "last run"),
        [
            (
                f["name"],
                f["direction"],
                f["partner"],
                "yes" if f["enabled"] else "no",
                f["schedule"],
                f"{when(f['last_run'])} {f['last_outcome']}" if f["last_run"] else "-",
            )
            for f in status["flows"]
        ],
        "  ",
    )
    docs = status["documents"]
    states = sorted({s for by_state in docs.values() for s in by_state})
    out += ["", "documents" + ("" if states else ": none")]
    if states:
        out += _table(
            ("state", "in", "out"),
            [(s, str(docs["in"].get(s, "-")), str(docs["out"].get(s, "-"))) for s in states],
            "  ",
            right=(1, 2),
        )
    pending = status["pending"]
    out += ["", f"pending work: {pending['count'] or 'none'}"]
    if pending["documents"]:
        rows = [
            (
                p["id"][:8],
                p["direction"],
                p["partner"],
                p["kind"],
                p["state"] + (f" (then {p['resumes_at']})" if p["resumes_at"] else ""),
                when(p["next_attempt_at"])
                if p["state"] == "retry_wait"
                else f"claimed by {p['claimed_by']}"
                if p["claimed_by"]
                else "waiting for a worker",
                _short(p["last_error"], 60),
            )
            for p in pending["documents"]
        ]
        out += _table(("id", "dir", "partner", "kind", "state", "next attempt", "last error"), rows, "  ")
        if pending["count"] > len(rows):
            out.append(f"  ... and {pending['count'] - len(rows)} more (erpbridge ledger list --state ...)")
    dead = status["dead_letters"]
    line = f"dead letters: {dead['count'] or 'none'}"
    if dead["count"]:
        oldest = dead["oldest"]
        line += f" ({dead['dead_lettered']} dead-lettered, {dead['quarantined']} quarantined)"
        if oldest:
            line += (
                f"; oldest {when(oldest['created_at'])}: {oldest['document_id'][:8]} {oldest['partner']} "
                f"{oldest['kind']}: {_short(oldest['reason'], 80)}"
            )
    out += ["", line, f"quarantined: {status['quarantined']}"]
    overdue = status["overdue_acks"]
    out.append(f"overdue acknowledgments: {len(overdue) or 'none'}")
    if overdue:
        out += _table(
            ("id", "partner", "kind", "isa13", "gs06", "sent", "overdue since"),
            [
                (
                    o["id"][:8],
                    o["partner"],
                    o["kind"],
                    o["isa13"] or "-",
                    o["gs06"] or "-",
                    when(o["sent_at"]),
                    when(o["overdue_since"]),
                )
                for o in overdue
            ],
            "  ",
        )
    paused = status.get("paused_endpoints") or []
    out.append(f"paused endpoints: {len(paused) or 'none'}")
    if paused:
        out += _table(
            ("endpoint", "since", "reason"),
            [(p["endpoint"], when(p["paused_at"]), _short(p["reason"], 100)) for p in paused],
            "  ",
        )
        out.append("  (they resume when their credential is replaced, or: erpbridge endpoint resume NAME)")
    last = status["last_event"]
    out += ["", "last event per partner" + ("" if last else ": none")]
    out += _table(("partner", "time"), [(p, when(t)) for p, t in last.items()], "  ") if last else []
    runs = status.get("reconciliation") or {}
    out += ["", "last reconciliation" + ("" if runs else ": never run (erpbridge reconcile)")]
    if runs:
        out += _table(
            ("job", "finished", "result", "open", "per partner"),
            [
                (
                    job,
                    when(r["finished_at"]) if r["finished_at"] else f"running since {when(r['started_at'])}",
                    r["verdict"] + (f": {_short(r['error'], 60)}" if r["error"] else ""),
                    str(r["open"]),
                    ", ".join(f"{p} {n}" for p, n in sorted(r["by_partner"].items())) or "-",
                )
                for job, r in runs.items()
            ],
            "  ",
            right=(3,),
        )
    return out


@click.command("status")
@_config_option
@_json_option
@_guarded
def status_cmd(config_file: Path | None, as_json: bool) -> None:
    """The installation at a glance: flows, documents per state, pending work, dead letters,
    overdue acknowledgments, the last event per partner and the last reconciliation."""
    config = _load(config_file)
    with _open(config) as ledger:
        status = collect_status(config, ledger)
    if as_json:
        click.echo(json.dumps(status, indent=2, ensure_ascii=False))
        return
    for line in _render_status(status):
        click.echo(line)


@click.group("endpoint")
def endpoint_group() -> None:
    """Endpoints paused because they refused erpbridge's credentials (docs/operations.md)."""


@endpoint_group.command("resume")
@click.argument("name")
@_config_option
@click.option("--reason", default="resumed by an operator", show_default=True, help="Kept in the ledger.")
@_guarded
def endpoint_resume_cmd(name: str, config_file: Path | None, reason: str) -> None:
    """Resume the paused endpoint NAME: the work that waited for it goes at the next poll. (An
    endpoint whose credential was replaced resumes by itself; this is for what a new secret does not
    fix, such as a role's permission.)"""
    import getpass

    config = _load(config_file)
    if name not in config.endpoints:
        raise ConfigError(
            f"no endpoint {name!r} in the configuration ({', '.join(sorted(config.endpoints))})"
        )
    with _open(config) as ledger:
        ended = ledger.resume_endpoint(name, by=f"operator {getpass.getuser()}", reason=reason)
    if ended is None:
        click.echo(f"endpoint {name} is not paused")
        return
    click.echo(
        f"endpoint {name} resumed (paused since {_when(ended.paused_at)} UTC: {_short(ended.reason, 200)})"
    )


def register(group: click.Group) -> None:
    """Add the operator commands to the ``erpbridge`` group."""
    for command in (ledger_group, dlq_group, endpoint_group, replay_cmd, status_cmd):
        group.add_command(command)


__all__ = ["collect_status", "register", "resolve"]
