"""formats/flatfile: declared layouts (CSV, fixed width, XLSX), typed values, every reject reason with
file:row:column, round trips, encodings, layout errors naming file:line, and a 100k-row file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpbridge.errors import FlatFileError, LayoutError
from erpbridge.formats.flatfile import Layout, load_layout, parse_layout, read, write
from tests.conftest import ROOT

LAYOUTS = ROOT / "mappings" / "wms" / "layouts"
SNAPSHOT = (
    ROOT / "mappings" / "wms" / "inventory-csv-to-inventory-advice.samples" / "blueriver_snapshot.input.csv"
)

STOCK = """
layout: stock
kind: csv
delimiter: ";"
columns:
  - {name: sku, type: string, max_length: 12}
  - {name: qty, type: integer}
  - {name: cost, type: decimal, scale: 2, required: false}
  - {name: counted_on, type: date, format: "%m/%d/%Y"}
  - {name: active, type: boolean, true: [Y], false: [N], default: "Y"}
  - {name: uom, type: code, values: [EA, CA]}
"""


def layout(text: str = STOCK, file: str = "stock.yaml") -> Layout:
    return parse_layout(text, file=file)


def one_reject(data: str, **kw: Any) -> str:
    result = read(layout(**kw), data.encode(), file="in.csv")
    assert len(result.rejects) == 1 and not result.rows, result
    return str(result.rejects[0])


# -- CSV: typed values ---------------------------------------------------------------------------


def test_csv_rows_are_typed_and_numbered_by_the_line_they_start_on() -> None:
    data = 'sku;qty;cost;counted_on;active;uom\nA-1;12;3.50;03/16/2026;N;EA\n\n"B;\n2";-4;;03/17/2026;;CA\nC-3;0;1;03/18/2026;y;EA\n'
    result = read(layout(), data.encode(), file="in.csv")
    assert not result.rejects
    assert [r.number for r in result.rows] == [2, 4, 6]  # the blank line 3 holds nothing; B spans 4-5
    assert result.rows[0].values == {
        "sku": "A-1", "qty": 12, "cost": Decimal("3.50"), "counted_on": dt.date(2026, 3, 16),
        "active": False, "uom": "EA",
    }  # fmt: skip
    assert result.rows[1].values["sku"] == "B;\n2" and result.rows[1].values["cost"] is None
    assert result.rows[1].values["active"] is True  # the default
    assert result.rows[2].values["active"] is True  # "y": case does not matter
    assert result.view()["rows"][0] == {
        "sku": "A-1", "qty": 12, "cost": "3.50", "counted_on": "2026-03-16", "active": False, "uom": "EA",
        "_line": 2,
    }  # fmt: skip


def test_columns_are_found_by_header_name_in_any_order_and_extra_columns_are_ignored_or_refused() -> None:
    data = "uom;counted_on;note;qty;sku\nEA;03/16/2026;x;5;A\n"
    result = read(layout(), data.encode(), file="in.csv")
    assert result.rows[0].values["qty"] == 5 and result.rows[0].values["cost"] is None
    strict = layout(STOCK.replace("delimiter:", "extra_columns: reject\ndelimiter:"))
    with pytest.raises(
        FlatFileError, match=r"^in.csv:1:3: the header has columns layout stock does not declare: 'note'"
    ):
        read(strict, data.encode(), file="in.csv")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A;;1;03/16/2026;Y;EA", "in.csv:2:2: qty: required, but empty (value '')"),
        (
            "A;1,200;1;03/16/2026;Y;EA",
            "in.csv:2:2: qty: not an integer (digits only, an optional sign, no separators) (value '1,200')",
        ),
        (
            "A;1;1.505;03/16/2026;Y;EA",
            "in.csv:2:3: cost: 3 decimal places; the column allows 2 (value '1.505')",
        ),
        (
            "A;1;$1;03/16/2026;Y;EA",
            "in.csv:2:3: cost: not a decimal number (digits, an optional sign and point, no separators) (value '$1')",
        ),
        (
            "A;1;1;2026-03-16;Y;EA",
            "in.csv:2:4: counted_on: not a date as %m/%d/%Y (03/16/2026 is one) (value '2026-03-16')",
        ),
        (
            "A;1;1;02/30/2026;Y;EA",
            "in.csv:2:4: counted_on: not a date as %m/%d/%Y (03/16/2026 is one) (value '02/30/2026')",
        ),
        ("A;1;1;03/16/2026;maybe;EA", "in.csv:2:5: active: not a yes/no value (Y or N) (value 'maybe')"),
        ("A;1;1;03/16/2026;Y;PL", "in.csv:2:6: uom: not one of the column's codes (EA, CA) (value 'PL')"),
        (
            "ABCDEFGHIJKLM;1;1;03/16/2026;Y;EA",
            "in.csv:2:1: sku: 13 characters; the column holds at most 12 (value 'ABCDEFGHIJKLM')",
        ),
        ("A;1;1;03/16/2026;Y;EA;extra", "in.csv:2:7: 7 values, but the header names 6 columns: too many"),
        ("A;1;1;03/16/2026;Y", "in.csv:2:5: 5 values, but the header names 6 columns: some are missing"),
        ('A;1;"1"x;03/16/2026;Y;EA', "in.csv:2:1: not readable as CSV: ';' expected after '\"'"),
    ],
)
def test_every_reject_reason_names_file_row_and_column(row: str, expected: str) -> None:
    assert one_reject(f"sku;qty;cost;counted_on;active;uom\n{row}\n") == expected


def test_a_file_with_bad_rows_loses_nothing() -> None:
    """Every data row is either a typed row or at least one reject, and the good rows are all there."""
    good = ["A;1;1;03/16/2026;Y;EA", "B;2;;03/16/2026;N;CA", "C;3;2.5;03/17/2026;;EA"]
    bad = ["D;x;1;03/16/2026;Y;EA", "E;1;1;13/40/2026;Y;EA", "F;1", "G;1;1;03/16/2026;Y;XX;1"]
    lines = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3]]
    data = "sku;qty;cost;counted_on;active;uom\n" + "\n".join(lines) + "\n"
    result = read(layout(), data.encode(), file="in.csv")
    assert [r.values["sku"] for r in result.rows] == ["A", "B", "C"]
    assert result.rejected_rows == [3, 5, 6, 8]
    assert sorted([r.number for r in result.rows] + result.rejected_rows) == list(range(2, 9))


def test_a_reject_reports_each_bad_value_of_its_row() -> None:
    result = read(layout(), b"sku;qty;cost;counted_on;active;uom\nA;x;1;x;Y;EA\n", file="in.csv")
    assert [(r.row, r.column, r.field) for r in result.rejects] == [(2, 2, "qty"), (2, 4, "counted_on")]


def test_file_level_problems_raise_with_file_row_column() -> None:
    with pytest.raises(FlatFileError, match=r"^in.csv:1:1: the file is empty"):
        read(layout(), b"", file="in.csv")
    with pytest.raises(
        FlatFileError,
        match=r"^in.csv:1:1: the header has no column 'uom', which layout stock requires \(stock.yaml:11\)",
    ):
        read(layout(), b"sku;qty;counted_on\n", file="in.csv")
    with pytest.raises(FlatFileError, match=r"^in.csv:1:3: the header names 'sku' twice \(columns 1 and 3\)"):
        read(layout(), b"sku;qty;sku\n", file="in.csv")
    with pytest.raises(FlatFileError, match=r"^in.csv:3:3: byte\(s\) e9 are not valid utf-8"):
        read(
            layout(),
            b"sku;qty;cost;counted_on;active;uom\nA;1;1;03/16/2026;Y;EA\nCr\xe9pe;1;1;03/16/2026;Y;EA\n",
            file="in.csv",
        )
    with pytest.raises(FlatFileError, match=r"^in.csv:1:2: a NUL character"):
        read(layout(), "sku".encode("utf-16-le"), file="in.csv")


def test_encodings_bom_and_cp1252() -> None:
    data = "sku;qty;cost;counted_on;active;uom\nCRÊPE;1;1.00;03/16/2026;Y;EA\n"
    assert read(layout(), b"\xef\xbb\xbf" + data.encode(), file="in.csv").rows[0].values["sku"] == "CRÊPE"
    latin = layout(STOCK.replace("kind: csv", "kind: csv\nencoding: cp1252"))
    assert read(latin, data.encode("cp1252"), file="in.csv").rows[0].values["sku"] == "CRÊPE"
    assert write(latin, [read(latin, data.encode("cp1252"), file="x").rows[0].values]) == data.encode(
        "cp1252"
    )
    ascii_layout = layout(STOCK.replace("kind: csv", "kind: csv\nencoding: ascii"))
    with pytest.raises(FlatFileError, match=r"^<output>:1:3: 'Ê' cannot be written in ascii"):
        write(ascii_layout, [{"sku": "CRÊPE", "qty": 1, "counted_on": dt.date(2026, 3, 16), "uom": "EA"}])


def test_headerless_csv_with_positions_and_skip_rows() -> None:
    text = """
kind: csv
header: false
skip_rows: 1
columns:
  - {name: sku, position: 2}
  - {name: qty, type: integer, position: 1}
"""
    result = read(parse_layout(text), b"EXPORT 2026-03-16\n5,A\nx,B\n", file="n.csv")
    assert [r.values for r in result.rows] == [{"sku": "A", "qty": 5}]
    assert (
        str(result.rejects[0])
        == "n.csv:3:1: qty: not an integer (digits only, an optional sign, no separators) (value 'x')"
    )
    assert write(parse_layout(text), [{"sku": "A", "qty": 5}]) == b"5,A\n"


def test_csv_writing_quotes_as_declared() -> None:
    rows = [
        {"sku": 'A;"1"', "qty": 2, "counted_on": dt.date(2026, 3, 16), "uom": "EA", "cost": Decimal("1.5")}
    ]
    minimal = write(layout(), rows).decode()
    assert minimal.splitlines()[1] == '"A;""1""";2;1.50;03/16/2026;Y;EA'
    everything = write(layout(STOCK.replace('delimiter: ";"', 'delimiter: ";"\nquoting: all')), rows).decode()
    assert everything.splitlines()[1] == '"A;""1""";"2";"1.50";"03/16/2026";"Y";"EA"'
    text = write(
        layout(STOCK.replace('delimiter: ";"', 'delimiter: ";"\nquoting: nonnumeric')), rows
    ).decode()
    assert text.splitlines()[1] == '"A;""1""";2;1.50;"03/16/2026";"Y";"EA"'
    assert read(layout(), text.encode(), file="x").rows[0].values["sku"] == 'A;"1"'


def test_writing_refuses_values_that_do_not_fit() -> None:
    base = {"sku": "A", "qty": 1, "counted_on": dt.date(2026, 3, 16), "uom": "EA"}
    cases = [
        ({"qty": None}, "<output>:2:qty: qty: required, but the row has no value"),
        ({"qty": "1.5"}, "<output>:1:qty: qty: '1.5' is not a integer"),
        ({"cost": Decimal("1.234")}, "cost: Decimal('1.234') is not a decimal with at most 2 decimal place"),
        ({"uom": "PL"}, "uom: 'PL' is not one of the column's codes (EA, CA)"),
        ({"counted_on": "16.03.2026"}, "counted_on: '16.03.2026' is not a date (datetime.date)"),
        ({"sku": "X" * 13}, "sku: 13 characters; the column holds at most 12"),
    ]
    for change, message in cases:
        with pytest.raises(FlatFileError) as err:
            write(layout(), [base, {**base, **change}] if "required" in message else [{**base, **change}])
        assert message.split(": ", 1)[-1] in str(err.value), (change, str(err.value))


# -- fixed width -----------------------------------------------------------------------------------

FIXED = """
layout: counts
kind: fixed
encoding: ascii
columns:
  - {name: sku, start: 1, width: 10}
  - {name: qty, type: integer, from: 11, to: 16, pad: "0"}
  - {name: cost, type: decimal, scale: 2, implied_decimal: true, start: 17, width: 7, required: false}
  - {name: day, type: date, format: "%Y%m%d", start: 24, width: 8}
"""


def test_fixed_width_typed_values_padding_and_alignment() -> None:
    lay = parse_layout(FIXED, file="counts.yaml")
    data = b"NW-TS-BLK 000480   125020260316\nNW-CAP    000000       20260316\n"
    result = read(lay, data, file="c.txt")
    assert not result.rejects
    assert result.rows[0].values == {
        "sku": "NW-TS-BLK",
        "qty": 480,
        "cost": Decimal("12.50"),
        "day": dt.date(2026, 3, 16),
    }
    assert result.rows[1].values["qty"] == 0 and result.rows[1].values["cost"] is None
    assert write(lay, [r.values for r in result.rows]) == data


def test_fixed_width_rejects_name_the_character_column() -> None:
    lay = parse_layout(FIXED, file="counts.yaml")
    data = b"NW-TS-BLK 0004X0   125020260316\n          000001   125020260316\nNW-TS-BLK 000480   125020260316EXTRA\n"
    result = read(lay, data, file="c.txt")
    assert [str(r) for r in result.rejects] == [
        "c.txt:1:11: qty: not an integer (digits only, an optional sign, no separators) (value '4X0')",
        "c.txt:2:1: sku: required, but empty (value '')",
        "c.txt:3:32: 36 characters, but the layout ends at 31: 'EXTRA' is beyond it",
    ]
    with pytest.raises(
        FlatFileError, match=r"^<output>:1:1: sku: 'NW-TS-BLK-XL' is 12 characters; the column is 10 wide"
    ):
        write(lay, [{"sku": "NW-TS-BLK-XL", "qty": 1, "day": dt.date(2026, 3, 16)}])


def test_fixed_width_record_types_the_bundled_pick_order() -> None:
    lay = load_layout(LAYOUTS / "pick-order.yaml")
    rows = [
        {"_record": "header", "order_number": "0080001234", "po_number": "4500012346", "ship_date": dt.date(2026, 3, 16),
         "ship_to_name": "MEGAMART DC 0042", "ship_to_state": "OH", "carrier_scac": "UPSN"},
        {"_record": "detail", "order_number": "0080001234", "line_number": 10, "sku": "NW-TS-BLK-S",
         "quantity": Decimal("12"), "uom": "EA"},
    ]  # fmt: skip
    data = write(lay, rows)
    lines = data.decode("ascii").split("\r\n")
    assert lines[0][:2] == "HD" and lines[0][44:52] == "20260316" and lines[0][166:170] == "UPSN"
    assert (
        lines[1] == "DT0080001234          000010NW-TS-BLK-S                                 000000012000EA"
    )
    result = read(lay, data + b"XX junk\r\n", file="pick.txt")
    assert [r.record for r in result.rows] == ["header", "detail"]
    assert result.rows[1].values["quantity"] == Decimal("12.000") and result.rows[0].values["priority"] == "2"
    assert [str(r) for r in result.rejects] == ["pick.txt:3:1: unknown record type 'XX' (known: 'HD', 'DT')"]


# -- XLSX ------------------------------------------------------------------------------------------


def workbook(rows: list[list[Any]], sheet: str = "Adjustments") -> bytes:
    """An XLSX made with openpyxl directly, as a spreadsheet user would save it (typed cells)."""
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["Adjustment ID", "Date", "Warehouse", "SKU", "Quantity", "UoM", "Reason", "Counted", "Note"]


def test_xlsx_typed_cells_and_rejects_with_column_letters() -> None:
    lay = load_layout(LAYOUTS / "inventory-adjustment.yaml")
    data = workbook([
        HEADER,
        ["ADJ-1", dt.datetime(2026, 3, 16), "BRL-LOU1", "NW-TS-BLK-S", -3, "EA", "damaged", "Y", None],
        ["ADJ-1", "2026-03-16", "BRL-LOU1", "061414", 2.5, None, "found", None, "text date"],
        [None] * 9,
        ["ADJ-2", 46097, "BRL-LOU1", "NW-CAP", "1,5", "EA", "lost", "Y", None],
    ])  # fmt: skip
    result = read(lay, data, file="adj.xlsx")
    assert [r.number for r in result.rows] == [2, 3]
    assert result.rows[0].values == {
        "adjustment_id": "ADJ-1", "adjusted_on": dt.date(2026, 3, 16), "warehouse": "BRL-LOU1",
        "sku": "NW-TS-BLK-S", "quantity": Decimal("-3"), "uom": "EA", "reason": "damaged", "counted": True,
        "note": None,
    }  # fmt: skip
    assert result.rows[1].values["quantity"] == Decimal("2.5") and result.rows[1].values["uom"] == "EA"
    assert result.rows[1].values["adjusted_on"] == dt.date(2026, 3, 16)
    assert [str(r) for r in result.rejects] == [
        "adj.xlsx[Adjustments]:5:B: adjusted_on: a number cell (46097); the column holds a date (format the cells as dates or text) (value '46097')",
        "adj.xlsx[Adjustments]:5:E: quantity: not a decimal number (digits, an optional sign and point, no separators) (value '1,5')",
        "adj.xlsx[Adjustments]:5:G: reason: not one of the column's codes (cycle_count, damaged, found, expired, other) (value 'lost')",
    ]


def test_xlsx_file_level_errors() -> None:
    lay = load_layout(LAYOUTS / "inventory-adjustment.yaml")
    with pytest.raises(
        FlatFileError, match=r"^adj.xlsx:1:A: the workbook has no sheet 'Adjustments'; it has 'Sheet'"
    ):
        read(lay, workbook([HEADER], sheet="Sheet"), file="adj.xlsx")
    with pytest.raises(FlatFileError, match=r"^adj.xlsx:1:A: not an XLSX workbook"):
        read(lay, b"sku,qty\n", file="adj.xlsx")
    with pytest.raises(FlatFileError, match=r"^adj.xlsx:1:1: the header has no column 'Reason'"):
        read(lay, workbook([HEADER[:6]]), file="adj.xlsx")


def test_xlsx_round_trip() -> None:
    lay = load_layout(LAYOUTS / "inventory-adjustment.yaml")
    rows = [
        {"adjustment_id": "ADJ-9", "adjusted_on": dt.date(2026, 3, 16), "warehouse": "BRL-LOU1", "sku": "061414",
         "quantity": Decimal("-0.125"), "uom": "CA", "reason": "cycle_count", "counted": False, "note": "x"},
    ]  # fmt: skip
    assert [r.values for r in read(lay, write(lay, rows), file="a.xlsx").rows] == rows


# -- the bundled layouts ----------------------------------------------------------------------------


def test_every_bundled_layout_loads() -> None:
    names = {load_layout(p).name: load_layout(p).kind for p in sorted(LAYOUTS.glob("*.yaml"))}
    assert names.items() >= {
        "inventory-snapshot": "csv", "ship-confirmation": "csv", "pick-order": "fixed",
        "inventory-adjustment": "xlsx", "item-master": "csv",
    }.items()  # fmt: skip


def test_the_snapshot_sample_reads_clean_and_round_trips() -> None:
    lay = load_layout(LAYOUTS / "inventory-snapshot.yaml")
    result = read(lay, SNAPSHOT.read_bytes(), file=SNAPSHOT.name)
    expected = list(csv.DictReader(io.StringIO(SNAPSHOT.read_text())))
    assert not result.rejects and len(result.rows) == len(expected) == 10
    assert [(r.values["sku"], r.values["on_hand"]) for r in result.rows] == [
        (e["sku"], int(e["on_hand"])) for e in expected
    ]
    assert write(lay, [r.values for r in result.rows]) == SNAPSHOT.read_bytes()


# -- layout errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: csv\ncolumns:\n  - {name: a, type: money}\n", "x.yaml:3: unknown type 'money'"),
        ("kind: csv\ncolumns:\n  - {name: a, type: strin}\n", "(did you mean 'string'?)"),
        ("kind: tsv\n", "x.yaml:1: 'kind' must be one of csv, fixed, xlsx, not 'tsv'"),
        ("kind: csv\ncolumns: [\n", "x.yaml:3: not valid YAML"),
        (
            "kind: csv\ndelimitr: ';'\ncolumns: [{name: a}]\n",
            "x.yaml:2: unknown key 'delimitr' in the layout (did you mean 'delimiter'?)",
        ),
        ("kind: csv\ncolumns:\n  - {name: a}\n  - {name: a}\n", "x.yaml:4: column 'a' is declared twice"),
        (
            "kind: fixed\ncolumns:\n  - {name: a, start: 1, width: 5}\n  - {name: b, start: 5, width: 2}\n",
            "x.yaml:4: column 'b' (5-6) overlaps 'a' (1-5)",
        ),
        ("kind: fixed\ncolumns:\n  - {name: a, start: 1}\n", "x.yaml:3: a column needs 'width'"),
        (
            "kind: csv\ncolumns:\n  - {name: a, type: date, format: YYYYMMDD}\n",
            "x.yaml:3: 'YYYYMMDD' is not a strftime format",
        ),
        ("kind: csv\ncolumns:\n  - {name: a, type: code}\n", "x.yaml:3: a code column needs 'values'"),
        (
            "kind: csv\ncolumns:\n  - {name: a, type: integer, default: x}\n",
            "x.yaml:3: default 'x': not an integer",
        ),
        (
            "kind: csv\ncolumns:\n  - {name: a, type: integer, scale: 2}\n",
            "x.yaml:3: 'scale' does not apply to a integer column",
        ),
        (
            "kind: csv\nencoding: klingon\ncolumns: [{name: a}]\n",
            "x.yaml:2: 'klingon' is not an encoding Python knows",
        ),
        ("kind: csv\ncolumns:\n  - {name: _line}\n", "x.yaml:3: column name '_line': letters, digits and _"),
    ],
)
def test_layout_errors_name_the_layout_file_and_line(text: str, message: str) -> None:
    with pytest.raises(LayoutError) as err:
        parse_layout(text, file="x.yaml")
    assert message in str(err.value)


def test_load_layout_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match=r"nope.yaml:1: cannot read the layout"):
        load_layout(tmp_path / "nope.yaml")


# -- round trips and size --------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({
            "sku": _text.filter(lambda s: s.strip() == s and s != "" and len(s) <= 12),
            "qty": st.integers(-(10**12), 10**12),
            "cost": st.none() | st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False),
            "counted_on": st.dates(dt.date(1900, 1, 1), dt.date(2999, 12, 31)),
            "active": st.booleans(),
            "uom": st.sampled_from(["EA", "CA"]),
        }),
        max_size=20,
    )
)  # fmt: skip
def test_csv_round_trip_property(rows: list[dict[str, Any]]) -> None:
    lay = layout()
    result = read(lay, write(lay, rows), file="p.csv")
    assert not result.rejects
    assert [r.values for r in result.rows] == rows


def test_a_100k_row_csv_reads_in_reasonable_time() -> None:
    lay = load_layout(LAYOUTS / "inventory-snapshot.yaml")
    head = SNAPSHOT.read_text().splitlines()[0]
    body = "".join(
        f"BRL-LOU1,2026-03-16T06:00:00,SKU-{i:06d},06141411{i % 10000:04d},ITEM {i},{i % 900},{i % 7},{i % 900 - i % 7},EA\n"
        for i in range(100_000)
    )
    data = (head + "\n" + body).encode()
    started = time.perf_counter()
    result = read(lay, data, file="big.csv")
    elapsed = time.perf_counter() - started
    assert len(result.rows) == 100_000 and not result.rejects
    assert result.rows[-1].number == 100_001 and result.rows[-1].values["sku"] == "SKU-099999"
    assert elapsed < 20, f"{elapsed:.1f}s for 100,000 rows (bench/flatfile.py measures the rate)"


# -- edges found in review -------------------------------------------------------------------------

SHORT = """
layout: short
kind: fixed
columns:
  - {name: sku, start: 1, width: 10}
  - {name: qty, type: integer, start: 11, width: 6}
  - {name: note, start: 17, width: 10, required: false}
"""


def test_fixed_width_line_cut_inside_a_right_aligned_column_is_a_reject_not_a_smaller_number() -> None:
    lay = parse_layout(SHORT, file="short.yaml")
    # line 1 ends inside qty (11-16): "   48" may have been "   480"; line 2 only lacks its trailing
    # blanks (note is left-aligned); line 3 stops where qty ends
    data = b"NW-TS-BLK    48\nNW-TS-BLK 000480note\nNW-CAP    000012\n"
    result = read(lay, data, file="c.txt")
    assert [r.values for r in result.rows] == [
        {"sku": "NW-TS-BLK", "qty": 480, "note": "note"},
        {"sku": "NW-CAP", "qty": 12, "note": None},
    ]
    assert [str(r) for r in result.rejects] == [
        "c.txt:1:11: qty: the line ends at character 15, inside the column (11-16): the value may be "
        "cut short (value '48')"
    ]


def test_xlsx_a_float_cell_is_read_at_the_spreadsheets_15_significant_digits() -> None:
    # Excel stores a formula's result such as =0.1+0.2 with 17 digits, 0.30000000000000004, and shows 0.3
    import zipfile

    lay = load_layout(LAYOUTS / "inventory-adjustment.yaml")
    good = workbook(
        [HEADER, ["ADJ-1", dt.date(2026, 3, 16), "BRL-LOU1", "NW-CAP", 0.3, "EA", "found", None, None]]
    )
    inside, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in inside.namelist():
            part = inside.read(name)
            if name.endswith("sheet1.xml"):
                assert b"<v>0.3</v>" in part
                part = part.replace(b"<v>0.3</v>", b"<v>0.30000000000000004</v>")
            z.writestr(name, part)
    result = read(lay, out.getvalue(), file="adj.xlsx")
    assert not result.rejects
    assert result.rows[0].values["quantity"] == Decimal("0.3")


def test_xlsx_damaged_inside_is_a_flat_file_error() -> None:
    import zipfile

    lay = load_layout(LAYOUTS / "inventory-adjustment.yaml")
    good = workbook(
        [HEADER, ["ADJ-1", dt.date(2026, 3, 16), "BRL-LOU1", "NW-CAP", 1, "EA", "found", None, None]]
    )
    for damage in ("xml", "deflate"):
        inside, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name in inside.namelist():
                part = inside.read(name)
                if name.endswith("sheet1.xml") and damage == "xml":
                    part = part[: len(part) // 2]  # a sheet cut short: not well-formed XML
                z.writestr(name, part)
        data = out.getvalue()
        if damage == "deflate":  # the sheet's compressed bytes garbled, the zip's directory intact
            at = data.find(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
            data = data[:at] + bytes(b ^ 0x5A for b in data[at : at + 40]) + data[at + 40 :]
        with pytest.raises(FlatFileError, match=r"^adj.xlsx:1:A: "):
            read(lay, data, file="adj.xlsx")
