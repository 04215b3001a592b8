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


def _shipped_mapping(set_id: str) -> Path | None:
    for d in _mapping_dirs():
        found = sorted(d.glob(f"x12/{set_id}-to-*.yaml"))
        if found:
            return found[0]
    return None


@main.command("translate")
@click.argument("input_file", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Mapping file (default: the shipped one for each set).",
)
@click.option(
    "--to",
    "to_kind",
    default="canonical",
    show_default=True,
    help="Target: canonical (X12 in). x12 is not available yet.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON here instead of standard output.",
)
def translate_cmd(input_file: Path, mapping_file: Path | None, to_kind: str, out_file: Path | None) -> None:
    """Translate an X12 INPUT into canonical JSON documents (one per transaction set)."""
    from ..mapping import MappingError, load_mapping

    if to_kind != "canonical":
        _fail(
            InputError(
                f"--to {to_kind}: only X12 -> canonical is available so far (outbound mappings come next)"
            )
        )
    try:
        result = decode(b"".join(_chunks(input_file)))
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
                path = mapping_file or _shipped_mapping(set_id)
                if path is None:
                    click.secho(
                        f"{input_file}: {where}: no mapping for {set_id} (give one with --mapping)",
                        fg="yellow",
                        err=True,
                    )
                    problems += 1
                    continue
                try:
                    mapping = cache.get(path) or load_mapping(path)
                except MappingError as exc:
                    _fail(exc)
                    return
                cache[path] = mapping
                applied = mapping.apply(tset)
                for finding in applied.findings:
                    click.secho(f"{input_file}: {where}: {finding}", fg="red", err=True)
                    problems += 1
                if applied.document is not None:
                    documents.append(applied.document)
    text = json.dumps(documents, indent=2, ensure_ascii=False) + "\n"
    if out_file is not None:
        tmp = out_file.with_suffix(out_file.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_file)
        click.echo(f"{out_file}: {len(documents)} document(s)", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(1 if problems or errors else 0)


@main.group("map")
def map_group() -> None:
    """Check mapping files."""


@map_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def map_check_cmd(paths: tuple[Path, ...]) -> None:
    """Load and check mapping files (default: the shipped ones). Exit 1 when any is wrong."""
    from ..mapping import MappingError, load_mapping

    files: list[Path] = []
    for p in paths or tuple(_mapping_dirs()[:1]):
        files += sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
    if not files:
        _fail(InputError("no mapping files found"))
    bad = 0
    for f in files:
        try:
            m = load_mapping(f)
        except MappingError as exc:
            bad += 1
            click.secho(f"error: {exc}", fg="red")
            continue
        click.echo(f"{f}: ok ({m.source} -> {m.target})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
