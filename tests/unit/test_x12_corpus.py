"""Real public files (../shared/corpus, named in its SOURCES.md) and our own samples validate as the
standard says: valid ones without a single finding, the documented negative cases with the
findings they deserve."""

from __future__ import annotations

from pathlib import Path

import pytest

from erpbridge.formats.x12 import Finding, Level, decode, read
from tests.conftest import CORPUS, SAMPLES, corpus_files

VALID_CORPUS = [
    "nodex12_850.edi",
    "nodex12_850_newline_terminator.edi",
    "nodex12_855.edi",
    "staedi_997_multiple_interchanges.edi",
    "staedi_simple999.edi",
]


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.level.value, f.code) for f in findings]


@pytest.mark.parametrize("name", VALID_CORPUS)
def test_valid_corpus_file_has_no_findings(name: str) -> None:
    result = decode((CORPUS / name).read_bytes())
    assert result.findings == [], "\n".join(map(str, result.findings))
    assert result.document["interchanges"], "nothing was read"


@pytest.mark.parametrize("path", sorted((SAMPLES / "valid").glob("*.edi")), ids=lambda p: p.name)
def test_valid_sample_has_no_findings(path: Path) -> None:
    result = decode(path.read_bytes())
    assert result.findings == [], "\n".join(map(str, result.findings))


def test_every_corpus_file_is_covered() -> None:
    named = set(VALID_CORPUS) | {
        "staedi_invalid997_min.edi",
        "staedi_invoice810_po850_dual.edi",
        "staedi_214_ellipsis_terminator_cp1252.edi",
    }
    assert {p.name for p in corpus_files() if p.parent == CORPUS} <= named


def test_newline_terminated_850_reads_like_the_tilde_one() -> None:
    a = decode((CORPUS / "nodex12_850.edi").read_bytes()).document
    b = decode((CORPUS / "nodex12_850_newline_terminator.edi").read_bytes()).document
    sets_a = a["interchanges"][0]["groups"][0]["sets"]
    sets_b = b["interchanges"][0]["groups"][0]["sets"]
    assert sets_a == sets_b
    assert sets_a[0]["BEG"]["BEG03"] == "08292233294"
    assert [line["PO1"]["PO107"] for line in sets_a[0]["PO1_loop"]][:2] == ["065322-117", "066850-116"]


def test_invalid_997_gets_a_finding_for_each_defect() -> None:
    result = decode((CORPUS / "staedi_invalid997_min.edi").read_bytes())
    got = codes(result.findings)
    # GS04 BAD_DATE and GS05 295335: invalid GS segment content (TA105 024)
    assert got.count(("interchange", "024")) == 2
    assert any(f.location.element_position == 4 for f in result.findings if f.code == "024")
    # AK101 <NOT_IN_CODESET>: invalid code value (AK403 7)
    ak1 = [f for f in result.findings if f.location.segment_id == "AK1"]
    assert [(f.code, f.location.element_position, f.value) for f in ak1] == [("7", 1, "<NOT_IN_CODESET>")]
    # GE02: does not match GS06 (AK905 4) and is not a control number (AK905 6)
    assert ("group", "4") in got and ("group", "6") in got


def test_dual_file_810s_valid_and_003010_group_rejected_cleanly() -> None:
    result = decode((CORPUS / "staedi_invoice810_po850_dual.edi").read_bytes())
    groups = result.document["interchanges"][0]["groups"]
    assert [g["GS"]["GS08"] for g in groups] == ["004010", "003010"]
    assert [s["ST"]["ST01"] for s in groups[0]["sets"]] == ["810", "810"]
    assert codes(result.findings) == [("group", "2")]
    assert "003010" in result.findings[0].message and "not supported" in result.findings[0].message
    # nothing of the 003010 group is lost: its segments are kept in order
    po = groups[1]["sets"][0]
    assert po["ST"]["ST01"] == "850" and len(po["segments"]) > 3


def test_214_with_ellipsis_terminator_parses_and_is_unsupported() -> None:
    data = (CORPUS / "staedi_214_ellipsis_terminator_cp1252.edi").read_bytes()
    assert b"\x85" in data
    result = decode(data)
    inter = result.document["interchanges"][0]
    assert inter["delimiters"]["segment"] == "\x85"
    assert inter["delimiters"]["suffix"] in ("\n", "\r\n")
    tset = inter["groups"][0]["sets"][0]
    assert list(tset["segments"][0]) == ["B10"]
    assert codes(result.findings) == [("set", "1")]


def test_999_components_and_repetitions_are_read() -> None:
    result = decode((CORPUS / "staedi_simple999.edi").read_bytes())
    tset = result.document["interchanges"][0]["groups"][0]["sets"][0]
    assert tset["ST"]["ST03"] == "005010X231"
    second = tset["AK2_loop"][1]
    ctx = second["IK3_loop"][0]["CTX"][0]["CTX01"]
    assert ctx == ["CLM01", "123456789"]
    third = tset["AK2_loop"][2]["IK3_loop"][0]["CTX"][0]
    assert third["CTX01"] == [
        ["SITUATIONAL TRIGGER"],
        ["SITUATIONAL TRIGGER", "2"],
        ["SITUATIONAL TRIGGER", "3"],
    ]


def test_three_interchanges_in_one_file() -> None:
    evs = list(read((CORPUS / "staedi_997_multiple_interchanges.edi").read_bytes()))
    starts = [e for e in evs if type(e).__name__ == "InterchangeStart"]
    assert [s.header.get(13) for s in starts] == ["000000001", "000000002", "000000003"]  # type: ignore[attr-defined]


def test_finding_locations_name_line_and_offset() -> None:
    data = (CORPUS / "staedi_invalid997_min.edi").read_bytes()
    f = next(f for f in decode(data).findings if f.location.segment_id == "AK1")
    assert f.level is Level.ELEMENT
    assert f.location.line == 4
    assert data[f.location.offset or 0 :].startswith(b"AK1*")
    assert (f.location.interchange, f.location.group, f.location.set_control) == (
        "508121953",
        "000005",
        "0001",
    )
    assert "AK101" in str(f) and "line 4" in str(f)


def test_a_stray_segment_is_reported_and_kept() -> None:
    data = (SAMPLES / "valid" / "850_004010.edi").read_bytes()
    gs_end = data.index(b"~", data.index(b"GS*")) + 1
    data = data[:gs_end] + b"\nNTE*GEN*LOST NOTE~" + data[gs_end:]
    result = decode(data)
    assert [(f.level.value, f.code) for f in result.findings] == [("interchange", "022")]
    group = result.document["interchanges"][0]["groups"][0]
    assert group["_unexpected"] == [{"NTE": {"NTE01": "GEN", "NTE02": "LOST NOTE"}}]
    assert group["sets"][0]["BEG"]["BEG01"] == "00"
