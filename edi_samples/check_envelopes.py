#!/usr/bin/env python3
"""Independent sanity checker for the hand-made X12 samples in edi_samples/.

Standard library only, deliberately NOT using erpbridge: it checks the things the samples promise
(see README.md) so that the golden files do not depend on the engine under test.

Checks per interchange:
  * ISA is exactly 106 characters (terminator included), 16 elements with their fixed widths;
    delimiters are taken from ISA positions 4, 105 and 106; ISA09 is a valid YYMMDD, ISA10 HHMM
  * ISA12 00401 -> ISA11 'U'; ISA12 00501 -> ISA11 is the repetition separator (not alphanumeric)
  * ISA13 == IEA02, IEA01 == number of GS groups
  * GS06 == GE02, GE01 == number of ST sets, GS04 CCYYMMDD, GS05 HHMM[SS], GS08 matches ISA12
  * ST02 == SE02, SE01 == number of segments from ST to SE inclusive
Content checks:
  * well-known date/time elements are real calendar dates (CCYYMMDD) / times (HHMM)
  * GS1 mod-10 check digit of every UPC-A after a 'UP' qualifier and of every SSCC-18 in MAN*GM
    (MAN02 = application identifier "00" + 18-digit SSCC)
  * 856: every HL02 names an earlier HL01; CTT01 == number of HL segments
  * 850/855/810/846: CTT01 == number of PO1 / IT1 / LIN lines; 810: TDS01 == sum(IT102 * IT104) in cents

Usage: python3 check_envelopes.py FILE_OR_DIR ...   (exit status 1 when any problem is found)
"""
from __future__ import annotations

import datetime as _dt
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

ISA_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]

# (segment id, element position) -> 'D8' (CCYYMMDD) or 'TM' (HHMM[SS])
DATE_ELEMENTS = {
    ("BEG", 5): "D8", ("DTM", 2): "D8", ("DTM", 3): "TM", ("BSN", 3): "D8", ("BSN", 4): "TM",
    ("BAK", 4): "D8", ("BAK", 9): "D8", ("ACK", 5): "D8", ("BIA", 4): "D8", ("BIA", 5): "TM",
    ("BIG", 1): "D8", ("BIG", 3): "D8", ("PRF", 4): "D8", ("G62", 2): "D8", ("G62", 4): "TM",
    ("W06", 3): "D8",
}


def gs1_ok(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def valid_date8(v: str) -> bool:
    try:
        _dt.datetime.strptime(v, "%Y%m%d")
        return len(v) == 8
    except ValueError:
        return False


def valid_time(v: str) -> bool:
    if not re.fullmatch(r"\d{4}(\d{2}(\d{1,2})?)?", v):
        return False
    hh, mm = int(v[:2]), int(v[2:4])
    ss = int(v[4:6]) if len(v) >= 6 else 0
    return hh < 24 and mm < 60 and ss < 60


class Checker:
    def __init__(self, name: str):
        self.name = name
        self.problems: list[str] = []
        self.summary: list[str] = []

    def bad(self, msg: str) -> None:
        self.problems.append(msg)

    # ------------------------------------------------------------------ parsing
    def run(self, raw: bytes) -> None:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        pos = 0
        n_ic = 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                break
            if not text.startswith("ISA", pos):
                self.bad(f"expected ISA at offset {pos}, found {text[pos:pos + 10]!r}")
                return
            n_ic += 1
            pos = self.interchange(text, pos)
            if pos < 0:
                return
        if n_ic == 0:
            self.bad("no interchange found")

    def interchange(self, text: str, pos: int) -> int:
        isa = text[pos:pos + 106]
        elem = isa[3] if len(isa) > 3 else "*"
        fields = isa[:-1].split(elem) if len(isa) == 106 else []
        if len(isa) != 106 or len(fields) != 17 or [len(f) for f in fields[1:]] != ISA_WIDTHS:
            # report where the widths go wrong, using the element separator only
            line = text[pos:text.find("\n", pos) if "\n" in text[pos:] else len(text)]
            parts = line.split(elem)
            widths = [len(p) for p in parts[1:17]]
            self.bad(f"ISA is not 106 fixed-width characters (element widths {widths}, expected {ISA_WIDTHS})")
            return -1
        comp, term = isa[104], isa[105]
        isa_f = fields  # fields[1] = ISA01 ...
        version = isa_f[12]
        rep = isa_f[11]
        if not re.fullmatch(r"\d{6}", isa_f[9]) or not valid_date8("20" + isa_f[9]):
            self.bad(f"ISA09 {isa_f[9]!r} is not a valid YYMMDD")
        if not valid_time(isa_f[10]):
            self.bad(f"ISA10 {isa_f[10]!r} is not a valid HHMM")
        if version == "00401" and rep != "U":
            self.bad(f"ISA11 {rep!r} should be 'U' for ISA12 00401")
        if version == "00501" and (rep.isalnum() or rep in (elem, comp, term)):
            self.bad(f"ISA11 {rep!r} is not a usable repetition separator")
        if isa_f[14] not in ("0", "1"):
            self.bad(f"ISA14 {isa_f[14]!r} not 0/1")
        ctl = isa_f[13]
        pos += 106
        groups = 0
        cur_group = None  # [gs06, n_sets, gs08]
        cur_set = None  # list of segments (element lists)
        while True:
            end = text.find(term, pos)
            if end < 0:
                rest = text[pos:].strip("\r\n")
                self.bad(f"end of data before IEA{' (dangling: ' + rest[:30] + ')' if rest else ''}")
                if cur_set is not None:
                    self.bad(f"set {cur_set[0][2]} has no SE")
                if cur_group is not None:
                    self.bad(f"group {cur_group[0]} has no GE")
                return -1
            s = text[pos:end].strip("\r\n")
            pos = end + 1
            if not s:
                self.bad("empty segment")
                continue
            el = s.split(elem)
            tag = el[0]
            if tag == "GS":
                if cur_group is not None:
                    self.bad(f"GS {el[6]} before GE of group {cur_group[0]}")
                groups += 1
                cur_group = [el[6], 0, el[8]]
                if not valid_date8(el[4]):
                    self.bad(f"GS04 {el[4]!r} is not CCYYMMDD")
                if not valid_time(el[5]):
                    self.bad(f"GS05 {el[5]!r} is not a valid time")
                want = {"00401": "004010", "00501": "005010"}.get(version)
                if want and not el[8].startswith(want):
                    self.bad(f"GS08 {el[8]!r} does not match ISA12 {version}")
            elif tag == "GE":
                if cur_group is None:
                    self.bad("GE without GS")
                    continue
                if el[2] != cur_group[0]:
                    self.bad(f"GE02 {el[2]!r} != GS06 {cur_group[0]!r}")
                if el[1] != str(cur_group[1]):
                    self.bad(f"GE01 {el[1]!r} != {cur_group[1]} sets in group {cur_group[0]}")
                self.summary.append(f"group {cur_group[0]} ({cur_group[2]}): {cur_group[1]} set(s)")
                cur_group = None
            elif tag == "ST":
                if cur_set is not None:
                    self.bad(f"ST {el[2]} before SE of set {cur_set[0][2]}")
                cur_set = [el]
                if cur_group is None:
                    self.bad(f"ST {el[2]} outside a group")
                else:
                    cur_group[1] += 1
            elif tag == "SE":
                if cur_set is None:
                    self.bad("SE without ST")
                    continue
                cur_set.append(el)
                st = cur_set[0]
                if el[2] != st[2]:
                    self.bad(f"SE02 {el[2]!r} != ST02 {st[2]!r}")
                if el[1] != str(len(cur_set)):
                    self.bad(f"set {st[2]}: SE01 {el[1]!r} != {len(cur_set)} segments ST..SE")
                self.content(cur_set, comp)
                cur_set = None
            elif tag == "IEA":
                if cur_group is not None:
                    self.bad(f"IEA before GE of group {cur_group[0]}")
                if el[2] != ctl:
                    self.bad(f"IEA02 {el[2]!r} != ISA13 {ctl!r}")
                if el[1] != str(groups):
                    self.bad(f"IEA01 {el[1]!r} != {groups} groups")
                self.summary.append(f"interchange {ctl} ({version}): {groups} group(s)")
                return pos
            else:
                if cur_set is None:
                    self.bad(f"segment {tag} outside a transaction set")
                else:
                    cur_set.append(el)

    # ------------------------------------------------------------------ content
    def content(self, segs: list[list[str]], comp: str) -> None:
        st01, ctl = segs[0][1], segs[0][2]
        where = f"set {st01}/{ctl}"
        for n, el in enumerate(segs, 1):
            tag = el[0]
            for i, v in enumerate(el[1:], 1):
                kind = DATE_ELEMENTS.get((tag, i))
                if v and kind == "D8" and not valid_date8(v):
                    self.bad(f"{where} seg {n} {tag}{i:02d} {v!r} is not a valid CCYYMMDD date")
                if v and kind == "TM" and not valid_time(v):
                    self.bad(f"{where} seg {n} {tag}{i:02d} {v!r} is not a valid time")
                if v == "UP" and i + 1 < len(el) and tag not in ("AK1", "AK2"):
                    code = el[i + 1]
                    if not (len(code) == 12 and gs1_ok(code)):
                        self.bad(f"{where} seg {n} {tag}: UPC-A {code!r} fails the GS1 check digit")
            if tag == "MAN" and len(el) > 2 and el[1] == "GM":
                v = el[2]
                if not (len(v) == 20 and v.startswith("00") and gs1_ok(v[2:])):
                    self.bad(f"{where} seg {n} MAN02 {v!r} is not AI 00 + a valid SSCC-18")
        tags = [s[0] for s in segs]
        ctt = next((s for s in segs if s[0] == "CTT"), None)
        if st01 == "856":
            ids = set()
            for n, el in enumerate(segs, 1):
                if el[0] == "HL":
                    if len(el) > 2 and el[2] and el[2] not in ids:
                        self.bad(f"{where} seg {n} HL{el[1]}: parent {el[2]!r} is not an earlier HL01")
                    ids.add(el[1])
            if ctt and ctt[1] != str(tags.count("HL")):
                self.bad(f"{where} CTT01 {ctt[1]} != {tags.count('HL')} HL segments")
        line_tag = {"850": "PO1", "855": "PO1", "810": "IT1", "846": "LIN"}.get(st01)
        if line_tag and ctt and ctt[1] != str(tags.count(line_tag)):
            self.bad(f"{where} CTT01 {ctt[1]} != {tags.count(line_tag)} {line_tag} lines")
        if st01 == "810":
            try:
                total = sum(Decimal(s[2]) * Decimal(s[4]) for s in segs if s[0] == "IT1")
                tds = next(s for s in segs if s[0] == "TDS")
                if Decimal(tds[1]) != total * 100:
                    self.bad(f"{where} TDS01 {tds[1]} != line total {total} (implied 2 decimals)")
            except (InvalidOperation, IndexError, StopIteration) as exc:
                self.bad(f"{where} cannot check TDS: {exc!r}")


def main(argv: list[str]) -> int:
    paths: list[Path] = []
    for a in argv or [str(Path(__file__).parent / "valid")]:
        p = Path(a)
        paths += sorted(p.glob("*.edi")) if p.is_dir() else [p]
    failed = 0
    for p in paths:
        c = Checker(p.name)
        c.run(p.read_bytes())
        status = "OK  " if not c.problems else "FAIL"
        failed += bool(c.problems)
        print(f"{status} {p}: " + "; ".join(c.summary))
        for msg in c.problems:
            print(f"       - {msg}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
