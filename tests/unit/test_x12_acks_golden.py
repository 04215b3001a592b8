"""Acknowledgments checked against golden files written by hand from the X12 code definitions
(edi_samples/invalid/*.expected.yaml), never from the engine's own output.

The acknowledgment bytes are generated, read back, and compared key by key; a key absent from a
golden file is not checked. Each acknowledgment is also validated against the 997/999 schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from erpbridge.errors import NotX12Error
from erpbridge.formats.x12 import Segment, build_acks, decode, read
from erpbridge.formats.x12.lexer import Lexer
from tests.conftest import CORPUS, SAMPLES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GOLDEN = sorted((SAMPLES / "invalid").glob("*.expected.yaml"))


def ack_segments(data: bytes) -> list[list[str]]:
    """Every segment, envelope included, in order."""
    lexer = Lexer()
    lexer.feed(data)
    lexer.close()
    return [t.elements for t in lexer.tokens() if isinstance(t, Segment)]


def summarize(segments: list[list[str]], comp: str) -> dict[str, Any]:
    """Turn a 997/999's segments into the golden files' shape."""
    groups: list[dict[str, Any]] = []
    cur_set: dict[str, Any] | None = None
    cur_seg: dict[str, Any] | None = None
    for els in segments:
        sid = els[0]
        get = lambda i, els=els: els[i] if i < len(els) else ""  # noqa: E731
        if sid == "AK1":
            groups.append({"GS06": get(2), "sets": []})
        elif sid == "AK2":
            cur_set = {"ST02": get(2), "segments": []}
            groups[-1]["sets"].append(cur_set)
        elif sid in ("AK3", "IK3"):
            assert cur_set is not None
            cur_seg = {"id": get(1), "position": int(get(2)), "code": get(4), "elements": []}
            cur_set["segments"].append(cur_seg)
        elif sid in ("AK4", "IK4"):
            assert cur_seg is not None
            pos = get(1).split(comp)
            el: dict[str, Any] = {"position": int(pos[0]), "ref": get(2), "code": get(3)}
            if len(pos) > 1 and pos[1]:
                el["component"] = int(pos[1])
            if get(4):
                el["value"] = get(4)
            cur_seg["elements"].append(el)
        elif sid in ("AK5", "IK5"):
            assert cur_set is not None
            cur_set["status"] = get(1)
            cur_set["codes"] = [c for c in els[2:] if c]
        elif sid == "AK9":
            g = groups[-1]
            g["AK9"] = {
                "status": get(1),
                "included": int(get(2)),
                "received": int(get(3)),
                "accepted": int(get(4)),
            }
            g["group_codes"] = [c for c in els[5:] if c]
    return {"groups": groups}


def subset(expected: Any, actual: Any, where: str) -> None:
    """Every key in expected must match actual; lists match item by item and in length."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{where}: {k!r} missing from {actual!r}"
            subset(v, actual[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected {expected!r}, got {actual!r}"
        )
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            subset(e, a, f"{where}[{i}]")
    else:
        assert str(expected) == str(actual), f"{where}: expected {expected!r}, got {actual!r}"


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.name.removesuffix(".expected.yaml"))
def test_acknowledgment_matches_golden(golden: Path) -> None:
    expected = yaml.safe_load(golden.read_text())
    data = golden.with_name(golden.name.removesuffix(".expected.yaml") + ".edi").read_bytes()
    if expected.get("unreadable"):
        with pytest.raises(NotX12Error):
            decode(data)
        return
    acks = list(build_acks(read(data)))
    assert len(acks) == 1
    ack = acks[0]
    out = ack.encode(NOW)
    assert decode(out).findings == [], "the acknowledgment itself is not valid X12"
    segments = ack_segments(out)
    comp = ack.dialect.component
    if "ta1" in expected:
        ta1 = [s for s in segments if s[0] == "TA1"]
        if expected["ta1"] is None:
            assert ta1 == []
        else:
            assert len(ta1) == 1
            got = {f"TA1{i:02d}": v for i, v in enumerate(ta1[0][1:], start=1)}
            subset(expected["ta1"], got, "ta1")
    if expected.get("ack"):
        st = [s for s in segments if s[0] == "ST"]
        assert st and all(s[1] == expected["ack"] for s in st)
    if "groups" in expected:
        subset({"groups": expected["groups"]}, summarize(segments, comp), "ack")


def test_every_invalid_sample_has_a_golden() -> None:
    edis = {p.stem for p in (SAMPLES / "invalid").glob("*.edi")}
    goldens = {p.name.removesuffix(".expected.yaml") for p in GOLDEN}
    assert edis == goldens


@pytest.mark.parametrize("path", sorted((SAMPLES / "valid").glob("*.edi")), ids=lambda p: p.name)
def test_valid_samples_are_accepted(path: Path) -> None:
    for ack in build_acks(read(path.read_bytes())):
        out = ack.encode(NOW)
        statuses = [s[1] for s in ack_segments(out) if s[0] == "AK9"]
        assert all(s == "A" for s in statuses), statuses
        assert decode(out).findings == []


def _ack_of(data: bytes) -> list[list[str]]:
    acks = list(build_acks(read(data)))
    assert len(acks) == 1
    return ack_segments(acks[0].encode(NOW))


SMALL = (SAMPLES / "valid" / "850_004010.edi").read_bytes()


def test_unsupported_release_is_answered_in_004010_with_ak905_2() -> None:
    segs = _ack_of((CORPUS / "staedi_invoice810_po850_dual.edi").read_bytes())
    gs = [s for s in segs if s[0] == "GS"]
    assert [g[8] for g in gs] == ["004010", "004010"]
    ak9 = [s for s in segs if s[0] == "AK9"]
    assert ak9[0][1] == "A" and ak9[1][1] == "R" and ak9[1][5] == "2"


def test_ack_uses_its_own_group_numbers_when_the_partner_repeats_gs06() -> None:
    start, end = SMALL.index(b"GS*"), SMALL.index(b"IEA*")
    group = SMALL[start:end]
    data = SMALL[:end] + group + SMALL[end:].replace(b"IEA*1*", b"IEA*2*")
    segs = _ack_of(data)
    assert [s[6] for s in segs if s[0] == "GS"] == ["1", "2"]
    assert [s[2] for s in segs if s[0] == "AK1"] == [group.split(b"*")[6].decode()] * 2
    ak9 = [s for s in segs if s[0] == "AK9"]
    assert ak9[0][1] == "A" and len(ak9[0]) == 5  # the first group is fine
    assert ak9[1][1] == "R" and ak9[1][5] == "19"  # the second reuses its GS06 (AK905 19)


def test_ack_switches_delimiters_when_an_id_contains_the_partners_separator() -> None:
    isa = SMALL[:106]
    receiver = isa[54:69]
    data = SMALL.replace(receiver, receiver[:2] + b">" + receiver[3:], 1)
    acks = list(build_acks(read(data)))
    out = acks[0].encode(NOW)
    assert out[104:105] != b">"  # the component separator changed, the receiver ID is carried intact
    assert (receiver[:2] + b">" + receiver[3:]).strip() in out


def test_bad_data_copy_is_cleaned_of_delimiters_and_control_characters() -> None:
    data = SMALL.replace(b"BEG*00*", b"BEG*0>\x010*", 1)
    segs = _ack_of(data)
    ak4 = next(s for s in segs if s[0] == "AK4")
    assert ak4[4] == "00"
