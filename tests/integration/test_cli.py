"""The erpbridge command, run as a user runs it: exit codes, readable reports, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS, SAMPLES


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erpbridge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_validate_valid_files_exits_0() -> None:
    files = sorted((SAMPLES / "valid").glob("*.edi"))
    r = run("x12", "validate", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(", valid") == len(files)


def test_validate_reports_errors_readably_and_exits_1() -> None:
    r = run("x12", "validate", SAMPLES / "invalid" / "bad_code.edi")
    assert r.returncode == 1
    line = next(ln for ln in r.stdout.splitlines() if "BEG01" in ln)
    # file:line, then where in EDI terms, then what is wrong
    assert line.startswith(f"{SAMPLES / 'invalid' / 'bad_code.edi'}:")
    assert "set 850 0001" in line and "segment 2 BEG" in line and "'99'" in line
    assert "Traceback" not in r.stdout + r.stderr


def test_validate_json_lines() -> None:
    r = run("x12", "validate", "--json", SAMPLES / "invalid" / "bad_date.edi")
    assert r.returncode == 1
    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert rows and all(row["file"].endswith("bad_date.edi") for row in rows)
    assert {row["code"] for row in rows} == {"8"}
    assert rows[0]["location"]["segment_id"] == "DTM"


def test_not_x12_and_missing_files_exit_2_without_traceback(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("this is a shopping list, not an interchange\n")
    for target in (prose, tmp_path / "missing.edi", SAMPLES / "invalid" / "bad_isa_length.edi"):
        r = run("x12", "validate", target)
        assert r.returncode == 2, (target, r.stdout, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        assert "not readable as X12" in r.stdout


def test_mixed_inputs_take_the_worst_exit_code(tmp_path: Path) -> None:
    r = run("x12", "validate", SAMPLES / "valid" / "850_004010.edi", SAMPLES / "invalid" / "bad_code.edi")
    assert r.returncode == 1
    r = run("x12", "validate", SAMPLES / "invalid" / "bad_code.edi", tmp_path / "missing.edi")
    assert r.returncode == 2


def test_partner_overlay_applies() -> None:
    r = run("x12", "validate", "--partner", "BIGBOX", SAMPLES / "valid" / "856_004010.edi")
    assert r.returncode == 0, r.stdout
    r = run("x12", "validate", "--partner", "NOBODY", SAMPLES / "valid" / "856_004010.edi")
    assert r.returncode == 2 and "no overlay for partner 'NOBODY'" in r.stderr


def test_parse_prints_structure_and_json() -> None:
    r = run("x12", "parse", CORPUS / "nodex12_850.edi")
    assert r.returncode == 0
    assert "interchange 000003438" in r.stdout and "set 850 000000010" in r.stdout and "PO1 loop" in r.stdout
    r = run("x12", "parse", "--json", CORPUS / "nodex12_850.edi")
    doc = json.loads(r.stdout)
    assert doc["interchanges"][0]["groups"][0]["sets"][0]["BEG"]["BEG03"] == "08292233294"


def test_ack_writes_997_999_and_ta1(tmp_path: Path) -> None:
    inputs = [
        SAMPLES / "valid" / "850_004010.edi",
        SAMPLES / "valid" / "850_005010.edi",
        SAMPLES / "invalid" / "ta1_control_mismatch.edi",
    ]
    r = run("x12", "ack", *inputs, "--out", tmp_path / "acks")
    assert r.returncode == 0, r.stderr
    written = sorted(p.name for p in (tmp_path / "acks").iterdir())
    assert any(n.endswith(".997.edi") for n in written)
    assert any(n.endswith(".999.edi") for n in written)
    assert any("TA1" in n for n in written)
    assert [p for p in (tmp_path / "acks").iterdir() if p.suffix == ".tmp"] == []
    for p in (tmp_path / "acks").iterdir():
        assert str(p) in r.stdout
        check = run("x12", "validate", p)
        assert check.returncode == 0, check.stdout


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("erpbridge")
    assert "validate" in run("x12", "--help").stdout


def test_translate_850_to_canonical_json(tmp_path: Path) -> None:
    r = run("translate", SAMPLES / "valid" / "850_004010.edi")
    assert r.returncode == 0, r.stderr
    [doc] = json.loads(r.stdout)
    assert doc["kind"] == "PurchaseOrder" and doc["po_number"] == "4500012345" and len(doc["lines"]) == 10
    out = tmp_path / "po.json"
    r = run("translate", CORPUS / "nodex12_850.edi", "--out", out)
    assert r.returncode == 0 and json.loads(out.read_text())[0]["po_number"] == "08292233294"


def test_translate_reports_what_it_cannot_map(tmp_path: Path) -> None:
    r = run("translate", CORPUS / "staedi_214_ellipsis_terminator_cp1252.edi")
    assert r.returncode == 1 and "no mapping for 214" in r.stderr and json.loads(r.stdout) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_numbr: BEG.BEG03\n")
    r = run("translate", SAMPLES / "valid" / "850_004010.edi", "--mapping", bad)
    assert r.returncode == 2 and f"{bad}:4:" in r.stderr and "Traceback" not in r.stderr
    r = run("translate", SAMPLES / "valid" / "850_004010.edi", "--to", "edifact")
    assert r.returncode == 2 and "use canonical (X12 or IDoc XML in), or x12" in r.stderr
    # IDoc out wants canonical JSON
    r = run("translate", SAMPLES / "valid" / "850_004010.edi", "--to", "idoc")
    assert r.returncode == 2 and "as JSON" in r.stderr and "Traceback" not in r.stderr
    r = run(
        "translate", SAMPLES / "valid" / "850_004010.edi", "--to", "x12", "--sender", "AA", "--receiver", "BB"
    )
    assert r.returncode == 2 and "not JSON" in r.stderr and "Traceback" not in r.stderr


def test_translate_canonical_json_to_x12_and_back(tmp_path: Path) -> None:
    po_json = tmp_path / "po.json"
    assert run("translate", SAMPLES / "valid" / "850_004010.edi", "--out", po_json).returncode == 0
    r = run("translate", po_json, "--to", "x12/850")
    assert r.returncode == 2 and "needs --sender and --receiver" in r.stderr
    out = tmp_path / "po.edi"
    r = run(
        "translate", po_json, "--to", "x12/850", "--sender", "ZZ:MEGAMART", "--receiver", "ZZ:NWOUTFITTERS",
        "--control", "4711", "--version", "005010", "--test", "--out", out,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    isa = data[:106].decode()
    assert (
        isa[3] == "*"
        and isa.split("*")[6].strip() == "MEGAMART"
        and isa.split("*")[8].strip() == "NWOUTFITTERS"
    )
    assert "*00501*000004711*0*T*" in isa
    assert b"GS*PO*MEGAMART*NWOUTFITTERS*" in data and b"*4711*X*005010~" in data
    assert run("x12", "validate", out).returncode == 0
    # the X12 we wrote reads back as the same purchase order (apart from where it came from)
    back = run("translate", out)
    assert back.returncode == 0, back.stderr
    [first], [again] = json.loads(po_json.read_text()), json.loads(back.stdout)
    first.pop("meta"), again.pop("meta")
    assert again == first
    # PurchaseOrder has two outbound mappings (850, and 940 to a warehouse): --to x12 alone asks which
    r = run("translate", po_json, "--to", "x12", "--sender", "AA", "--receiver", "BB")
    assert r.returncode == 1 and "choose one with --to x12/<set> (850, 940)" in r.stderr, r.stderr


def test_translate_out_reports_findings_and_bad_envelopes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"kind": "PurchaseOrder", "po_number": "1", "order_date": "2026-13-45", "lines": []})
    )
    r = run("translate", bad, "--to", "x12/850", "--sender", "AA", "--receiver", "BB")
    assert r.returncode == 1 and "document 1" in r.stderr and "order_date" in r.stderr, r.stderr
    r = run("translate", bad, "--to", "x12/850", "--sender", "ZZ:THIS-ID-IS-FAR-TOO-LONG", "--receiver", "BB")
    assert r.returncode == 2 and "2 to 15 characters" in r.stderr
    nokind = tmp_path / "nokind.json"
    nokind.write_text("[{}]")
    r = run("translate", nokind, "--to", "x12", "--sender", "AA", "--receiver", "BB")
    assert r.returncode == 1 and "'kind' must be one of" in r.stderr


def test_map_test_runs_samples_and_shows_a_diff(tmp_path: Path) -> None:
    r = run("map", "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and " 0 failed" in r.stdout
    import shutil

    from tests.conftest import ROOT

    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    expected = tmp_path / "mappings" / "x12" / "purchase-order-to-850.samples" / "850_004010.expected.edi"
    expected.write_bytes(expected.read_bytes().replace(b"CUR*BY*USD", b"CUR*BY*CAD"))
    r = run("map", "test", tmp_path / "mappings" / "x12" / "purchase-order-to-850.yaml")
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "-CUR*BY*CAD" in r.stdout and "+CUR*BY*USD" in r.stdout


def test_map_check(tmp_path: Path) -> None:
    r = run("map", "check")
    assert r.returncode == 0 and "850-to-purchase-order.yaml: ok" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: x12/850\ntarget: PurchaseOrder\nfields:\n  po_number: $nope(BEG.BEG03)\n")
    r = run("map", "check", bad)
    assert r.returncode == 1 and f"{bad}:4:" in r.stdout and "$nope" in r.stdout


def test_ack_file_names_cannot_escape_the_output_folder(tmp_path: Path) -> None:
    data = (SAMPLES / "valid" / "850_004010.edi").read_bytes()
    isa13 = data[90:99]
    hostile = data.replace(isa13, b"/../../xx", 1).replace(b"IEA*1*" + isa13, b"IEA*1*/../../xx")
    src = tmp_path / "in" / "po.edi"
    src.parent.mkdir()
    src.write_bytes(hostile)
    out = tmp_path / "out" / "acks"
    r = run("x12", "ack", src, "--out", out)
    assert r.returncode == 0, r.stderr
    written = list(out.iterdir())
    assert len(written) == 1 and written[0].name.startswith("po.xx.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


def test_run_without_config_uses_the_one_in_the_folder_or_says_to_pass_it(tmp_path: Path) -> None:
    refused = run("run", "--once", cwd=tmp_path)
    assert refused.returncode == 2 and "pass --config FILE" in refused.stderr
    assert "Traceback" not in refused.stderr
    (tmp_path / "config.example.toml").write_text(
        (Path(__file__).parents[2] / "config.example.toml").read_text(), encoding="utf-8"
    )
    first = run("run", "--once", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "nothing to do" in first.stdout and (tmp_path / "var" / "ledger.sqlite3").is_file()
