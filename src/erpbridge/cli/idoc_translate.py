"""``erpbridge translate`` for SAP IDoc XML: IDoc XML in (to canonical JSON), or ``--to idoc/TYPE`` out.

Mappings are found by name in ``mappings/partners/<partner>/`` first, then ``mappings/idoc/``:
inbound ``<mestyp>.<idoctyp>-to-*.yaml`` (``shpord.delvry07-to-...``), else ``<idoctyp>-to-*.yaml``;
outbound ``<kind>-to-<idoctyp>.yaml`` or ``<kind>-to-<mestyp>.<idoctyp>.yaml``. See docs/idoc.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ErpBridgeError, InputError, ModelError
from ..mapping.shipped import find_mappings, kind_stem


def is_xml(path: Path) -> bool:
    """Whether a file starts like XML (after a byte order mark and blanks): then it is read as IDoc XML."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def _folders(dirs: list[Path], partner: str | None) -> list[Path | None]:
    out: list[Path | None] = []
    for d in dirs:
        out += [d / "partners" / partner.lower() if partner else None, d / "idoc"]
    return out


def _fail(exc: ErpBridgeError, code: int = 2) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(code)


def _write(out_file: Path | None, data: bytes, what: str) -> None:
    if out_file is not None:
        tmp = out_file.with_suffix(out_file.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(out_file)
        click.echo(f"{out_file}: {what}", err=True)
    else:
        click.echo(data.decode("utf-8"), nl=False)


def translate_from_idoc(
    input_file: Path, mapping_file: Path | None, partner: str | None, out_file: Path | None, dirs: list[Path]
) -> None:
    """IDoc XML -> canonical JSON: each IDoc with the mapping for its message and basic type."""
    from ..formats.idoc import decode
    from ..mapping import MappingError, load_mapping
    from ..mapping.meta import idoc_meta

    try:
        data = input_file.read_bytes()
    except OSError as exc:
        _fail(InputError(f"cannot read {input_file}: {exc.strerror or exc}", file=str(input_file)))
        return
    try:
        decoded = decode(data, source=str(input_file))
    except ErpBridgeError as exc:
        _fail(exc)
        return
    for f in decoded.errors:
        click.secho(f"{input_file}: {f}", fg="red", err=True)
    documents: list[Any] = []
    problems = 0
    cache: dict[Path, Any] = {}
    for n, idoc in enumerate(decoded.document["idocs"], 1):
        control = idoc.get("EDI_DC40") or {}
        idoctyp, mestyp = str(control.get("IDOCTYP", "?")), str(control.get("MESTYP", "?"))
        where = f"IDoc {n} ({mestyp}.{idoctyp})"
        found = (
            [mapping_file]
            if mapping_file
            else find_mappings(f"{mestyp.lower()}.{idoctyp.lower()}-to-*.yaml", _folders(dirs, partner))
            or find_mappings(f"{idoctyp.lower()}-to-*.yaml", _folders(dirs, partner))
        )
        if not found:
            click.secho(
                f"{input_file}: {where}: no mapping for it (give one with --mapping)", fg="yellow", err=True
            )
            problems += 1
            continue
        try:
            mapping = cache.get(found[0]) or load_mapping(found[0])
        except MappingError as exc:
            _fail(exc)
            return
        cache[found[0]] = mapping
        applied = mapping.apply(idoc, idoc_meta(idoc, partner))
        for finding in applied.findings:
            click.secho(f"{input_file}: {where}: {finding}", fg="red", err=True)
            problems += 1
        if applied.document is not None:
            documents.append(applied.document)
    text = json.dumps(documents, indent=2, ensure_ascii=False) + "\n"
    _write(out_file, text.encode("utf-8"), f"{len(documents)} document(s)")
    sys.exit(1 if problems or decoded.errors else 0)


def _party(value: str | None, option: str) -> tuple[str, str] | None:
    if not value:
        return None
    kind, sep, number = value.partition(":")
    if not sep or not kind or not number or len(kind) > 2 or len(number) > 10:
        raise InputError(
            f"{option} {value!r}: give the SAP partner as TYPE:NUMBER, e.g. LS:S4PCLNT100 or KU:MEGAMART"
        )
    return kind, number


def translate_to_idoc(
    input_file: Path,
    mapping_file: Path | None,
    partner: str | None,
    to_kind: str,
    sender: str | None,
    receiver: str | None,
    docnum: int,
    out_file: Path | None,
    dirs: list[Path],
) -> None:
    """Canonical JSON -> IDoc XML, validated by the writer; DOCNUMs from ``docnum`` on."""
    from ..formats.idoc import write
    from ..mapping import MappingError, load_mapping
    from ..model import KINDS, from_json, to_json

    try:
        sndprt = _party(sender, "--sender")
        rcvprt = _party(receiver, "--receiver")
        given = json.loads(input_file.read_text(encoding="utf-8"))
    except ErpBridgeError as exc:
        _fail(exc)
        return
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(InputError(f"cannot read {input_file} as JSON: {exc}", file=str(input_file)))
        return
    target = to_kind.partition("/")[2].lower()
    idocs: list[dict[str, Any]] = []
    problems = 0
    for n, doc in enumerate(given if isinstance(given, list) else [given], 1):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        where = f"{input_file}: document {n}"
        if kind not in KINDS:
            click.secho(f"{where}: 'kind' must be one of {', '.join(sorted(KINDS))}", fg="red", err=True)
            problems += 1
            continue
        try:
            doc = to_json(from_json(kind, doc))
        except ModelError as exc:
            click.secho(f"{where}: not a valid {kind}: {exc}", fg="red", err=True)
            problems += 1
            continue
        stem = kind_stem(str(kind))
        folders = _folders(dirs, partner)
        found = (
            [mapping_file]
            if mapping_file
            else sorted(
                set(find_mappings(f"{stem}-to-{target}.yaml", folders))
                | set(find_mappings(f"{stem}-to-*.{target}.yaml", folders))
            )
            if target
            else find_mappings(f"{stem}-to-*.yaml", folders)
        )
        if len(found) != 1:
            choices = ", ".join(p.stem.partition("-to-")[2].upper() for p in found)
            hint = (
                f"choose one with --to idoc/<MESTYP.IDOCTYP> ({choices})"
                if found
                else "give one with --mapping"
            )
            click.secho(
                f"{where}: {len(found) or 'no'} {kind} mappings to {to_kind}: {hint}", fg="red", err=True
            )
            problems += 1
            continue
        try:
            mapping = load_mapping(found[0])
        except MappingError as exc:
            _fail(exc)
            return
        applied = mapping.apply(doc)
        for finding in applied.findings:
            click.secho(f"{where}: {finding}", fg="red", err=True)
            problems += 1
        if applied.document is not None and not applied.findings:
            control = dict(applied.document.get("EDI_DC40") or {})
            if sndprt:
                control["SNDPRT"], control["SNDPRN"] = sndprt
            if rcvprt:
                control["RCVPRT"], control["RCVPRN"] = rcvprt
            idocs.append({**applied.document, "EDI_DC40": control})
    if problems or not idocs:
        if not idocs and not problems:
            click.secho(f"{input_file}: no documents", fg="red", err=True)
        sys.exit(1)
    written = write({"idocs": idocs}, docnums=[docnum + i for i in range(len(idocs))])
    if written.data is None:
        for f in written.errors:
            click.secho(f"{input_file}: {f}", fg="red", err=True)
        sys.exit(1)
    _write(out_file, written.data, f"{len(idocs)} IDoc(s), DOCNUM {docnum:016d}")
    sys.exit(0)


__all__ = ["is_xml", "translate_from_idoc", "translate_to_idoc"]
