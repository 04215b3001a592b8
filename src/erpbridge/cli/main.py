"""The ``erpbridge`` command.

Exit codes of ``erpbridge x12 validate``: 0 every set valid, 1 findings with errors, 2 an input that
is not X12 or cannot be read. No command prints a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import ErpBridgeError, InputError
from ..formats.x12 import (
    AckBuilder,
    ControlNumbers,
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
from ..formats.x12.schema import SetSchema

CHUNK = 1 << 20


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", file=str(path)) from None


def _events(path: Path, overlays: list[Overlay], validate: bool = True) -> Iterator[Any]:
    reader = X12Reader(validate=validate, overlays=overlays)
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
        from importlib import resources

        builtin = resources.files("erpbridge.formats.x12.schemas").joinpath("overlays")
        candidates = [
            (str(e.name), e.read_text(encoding="utf-8"))
            for e in builtin.iterdir()
            if e.name.endswith(".yaml")
        ]
        local = Path("overlays")
        if local.is_dir():
            candidates += [(str(p), p.read_text(encoding="utf-8")) for p in sorted(local.glob("*.yaml"))]
        for name, text in candidates:
            ov = parse_overlay(text, name)
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
            for ev in _events(path, overlays):
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
            for ev in _events(path, overlays):
                ack = builder.feed(ev)
                if ack is None or ack.is_empty():
                    continue
                data = ack.encode(now, ControlNumbers(interchange=number, transaction_set=1))
                kinds = sorted({ack.ack_kind(g) for g in ack.groups}) + (["TA1"] if ack.ta1 else [])
                target = out_dir / f"{path.stem}.{ack.interchange_control}.{'-'.join(kinds)}.edi"
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


if __name__ == "__main__":  # pragma: no cover
    main()
