"""Partner implementation guides (overlays) tighten the standard without copying it."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest

from erpbridge.errors import SchemaError
from erpbridge.formats.x12 import Finding, build_acks, decode, encode, parse_overlay, read
from tests.conftest import SAMPLES

SAMPLE = (SAMPLES / "valid" / "856_004010.edi").read_bytes()
BIGBOX = parse_overlay(
    resources.files("erpbridge.formats.x12.schemas").joinpath("overlays/bigbox-856.yaml").read_text(),
    "bigbox-856.yaml",
)


def recount(data: bytes) -> bytes:
    """Rewrite an edited sample so that its counts (SE01) are right again."""
    return encode(decode(data).document, validate=False)


def findings(data: bytes, overlay_text: str | None = None) -> list[Finding]:
    ov = BIGBOX if overlay_text is None else parse_overlay(overlay_text, "test.yaml")
    return decode(data, overlays=[ov]).findings


def test_sample_conforms_to_the_bigbox_guide() -> None:
    assert findings(SAMPLE) == []


def test_order_level_ref_ia_is_required_only_at_order_level() -> None:
    # drop REF*IA from the first order (HL 2); the pack and item levels need no REF
    data = recount(
        SAMPLE.replace(b"PRF*4500012345***20260302~\nREF*IA*778812~\n", b"PRF*4500012345***20260302~\n", 1)
    )
    got = findings(data)
    assert [(f.code, f.location.segment_id) for f in got] == [("3", "REF")]
    assert "HL03 O" in got[0].message and "partner's guide" in got[0].message
    # the standard alone does not require it
    assert decode(data).findings == []


def test_pack_level_needs_an_sscc_label() -> None:
    data = SAMPLE.replace(b"MAN*GM*00006141410000000012~", b"MAN*CP*1Z999~", 1)
    got = findings(data)
    assert [(f.code, f.location.segment_id, f.location.element_position, f.value) for f in got] == [
        ("7", "MAN", 1, "CP")
    ]
    assert "partner's guide allows GM" in got[0].message


def test_bsn05_restricted_and_max_length_tightened() -> None:
    data = SAMPLE.replace(b"*1430*0001~", b"*1430*0002~", 1)
    assert data != SAMPLE
    assert [
        (f.code, f.location.element_position) for f in findings(data) if f.location.segment_id == "BSN"
    ] == [("7", 5)]


def test_warning_severity_accepts_with_errors() -> None:
    text = """
partner: SOFT
base: 004010/856
severity: warning
rules:
  - path: HL loop/MAN
    when: {HL03: P}
    codes: {MAN01: [CP]}
"""
    got = findings(SAMPLE, text)
    assert got and all(f.severity == "warning" for f in got)
    ack = next(build_acks(read(SAMPLE, overlays=[parse_overlay(text)])))
    assert [s.status for g in ack.groups for s in g.sets] == ["E"]
    assert b"AK5*E" in ack.encode(datetime(2026, 11, 23, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base: 004010/856\nrules: [{path: XYZ}]", r"no segment 'XYZ' here"),
        ("base: 004010/856\nrules: [{path: HL loop/TD5, colour: red}]", r"unknown option\(s\) \['colour'\]"),
        ("base: 004010/999\nrules: []", r"overlay base 004010/999 has no schema"),
        ("base: 856\nrules: []", r"'base' must be like 004010/856"),
        ("base: 004010/856\nrules: [{path: BSN, codes: {BSN99: [X]}}]", r"'BSN99' is not an element of BSN"),
        (
            "base: 004010/856\nrules: [{path: BSN, when: {BSN01: '00'}}]",
            r"'when' needs a segment inside a loop",
        ),
        ("base: 004010/856\nrules: [{path: HL loop/MAN, when: {MAN01: GM}}]", r"the loop starts with HL"),
        ("base: 004010/856\nrules: [{path: HL loop/TD5, req: X}]", r"req must be M or O"),
        ("base: 004010/856\nrules: {path: BSN}", r"'rules' must be a list"),
        ("base: 004010/856\nseverity: fatal\nrules: []", r"'severity' must be 'error' or 'warning'"),
        ("base: 004010/856\nextra: 1\nrules: []", r"unknown key\(s\) \['extra'\]"),
        ("base: [004010/856", r"not valid YAML"),
    ],
)
def test_bad_overlays_are_refused_with_file_and_reason(text: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message) as info:
        parse_overlay(text, "partners/acme-856.yaml")
    assert "partners/acme-856.yaml" in str(info.value)
