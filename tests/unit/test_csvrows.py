"""The CSV reader (formats/csvrows.py): rows with their lines, and every problem at file:line:column."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpbridge.errors import CsvError, ErpBridgeError, InputError, TerminalError
from erpbridge.formats.csvrows import CsvTable, read_csv

HEADER = b"warehouse,sku,on_hand,uom\n"


def error(data: bytes, **options: str) -> CsvError:
    with pytest.raises(CsvError) as info:
        read_csv(data, file="stock.csv", **options)
    return info.value


def where(exc: CsvError) -> tuple[int, int]:
    return exc.line, exc.column


# -- what a good file gives ------------------------------------------------------------------------


def test_rows_are_dicts_of_strings_with_the_line_they_start_on() -> None:
    table = read_csv(HEADER + b"BRL-LOU1,NW-TS-BLK-S,480,EA\nBRL-LOU1,NW-TS-BLK-M,0720,EA\n", file="s.csv")
    assert table.header == ("warehouse", "sku", "on_hand", "uom")
    assert table.delimiter == "," and table.encoding == "utf-8"
    assert [(r.line, r.values) for r in table.rows] == [
        (2, {"warehouse": "BRL-LOU1", "sku": "NW-TS-BLK-S", "on_hand": "480", "uom": "EA"}),
        (3, {"warehouse": "BRL-LOU1", "sku": "NW-TS-BLK-M", "on_hand": "0720", "uom": "EA"}),  # as written
    ]


def test_the_view_mappings_read_carries_each_rows_line() -> None:
    table = read_csv(b"sku,qty\n\nA,1\n", file="s.csv")
    assert table.view("s.csv") == {"file": "s.csv", "rows": [{"sku": "A", "qty": "1", "_line": 3}]}


def test_a_header_alone_gives_no_rows() -> None:
    assert read_csv(b"sku,qty\r\n").rows == ()


def test_a_utf8_bom_is_dropped_and_cp1252_can_be_declared() -> None:
    assert read_csv(b"\xef\xbb\xbfsku,qty\nA,1\n").header == ("sku", "qty")
    table = read_csv(b"sku;description\nA;Caf\xe9 \x80 mug\n", encoding="cp1252")
    assert table.rows[0].values["description"] == "Café € mug" and table.encoding == "cp1252"


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"a,b,c\n1,2,3\n", ","),
        (b"a;b;c\n1;2;3\n", ";"),
        (b"a|b|c\n1|2|3\n", "|"),
        (b"a\tb\tc\n1\t2\t3\n", "\t"),
        (b'"x,y";b;c\n1;2;3\n', ";"),  # a comma inside a quoted name is not a delimiter
        (b"sku\nA\n", ","),  # one column: no delimiter at all
    ],
)
def test_the_delimiter_is_sniffed_from_the_header(data: bytes, delimiter: str) -> None:
    assert read_csv(data).delimiter == delimiter


def test_a_given_delimiter_wins_over_the_sniff() -> None:
    table = read_csv(b"a;b,c\n1;2,3\n", delimiter=",")
    assert table.header == ("a;b", "c") and table.rows[0].values == {"a;b": "1;2", "c": "3"}


def test_quoting_per_rfc_4180_and_mixed_line_ends() -> None:
    data = b'sku,description,qty\r\nA,"TEE, BLACK ""S""",1\nB,"two\r\nlines",2\rC,12" RULER,3'
    table = read_csv(data)
    assert [(r.line, r.values["description"]) for r in table.rows] == [
        (2, 'TEE, BLACK "S"'),
        (3, "two\r\nlines"),
        (5, '12" RULER'),  # a quote inside an unquoted value is kept as it is
    ]


def test_header_names_are_stripped_values_are_not() -> None:
    table = read_csv(b" sku , qty \n A , 1 \n")
    assert table.header == ("sku", "qty") and table.rows[0].values == {"sku": " A ", "qty": " 1 "}


def test_lines_with_no_value_at_all_are_not_rows() -> None:
    table = read_csv(b"\n\nsku,qty\n,\n\nA,1\n,,\n")
    assert table.header == ("sku", "qty")
    assert [(r.line, r.values) for r in table.rows] == [(6, {"sku": "A", "qty": "1"})]


def test_a_huge_quoted_value_below_the_limit_is_read_whole() -> None:
    big = "x" * (csv.field_size_limit() - 10)
    table = read_csv(f'sku,note\nA,"{big}"\n'.encode())
    assert table.rows[0].values["note"] == big


# -- what a bad file says -------------------------------------------------------------------------


def test_an_empty_file_needs_a_header() -> None:
    for data in (b"", b"\xef\xbb\xbf", b"\n\r\n\n", b",,,\n"):
        exc = error(data)
        assert (
            str(exc) == "stock.csv:1:1: the file is empty: a CSV file needs a header row naming its columns"
        )


def test_a_row_with_too_many_values_points_at_the_first_extra_one() -> None:
    exc = error(HEADER + b"BRL-LOU1,NW-TS-BLK-S,480,EA\nBRL-LOU1,NW-TS-BLK-M,1,200,EA\n")
    assert where(exc) == (3, 28)  # "EA": a thousands separator split 1,200 into two values
    assert "5 values, but the header names 4 columns" in str(exc)
    assert str(exc).startswith("stock.csv:3:28: ")


def test_a_row_with_too_few_values_names_what_is_missing() -> None:
    exc = error(HEADER + b"BRL-LOU1,NW-TS-BLK-S\n")
    assert where(exc) == (2, 21)
    assert str(exc).endswith("no value for on_hand, uom")


def test_a_ragged_row_after_a_multi_line_value_names_its_own_line() -> None:
    exc = error(b'sku,note\nA,"one\ntwo"\nB,x,y\n')
    assert where(exc) == (4, 5)


def test_an_undecodable_byte_is_named_at_its_line_and_column() -> None:
    exc = error(HEADER + b"BRL-LOU1,NW-CAF\xc9-MUG,1,EA\n")
    assert where(exc) == (2, 16)
    assert "c9" in str(exc) and "cp1252" in str(exc)  # and it says what to declare


def test_an_undefined_cp1252_byte_is_an_error_too() -> None:
    exc = error(b"sku\nA\x81\n", encoding="cp1252")
    assert where(exc) == (2, 2)


def test_a_column_counts_characters_not_bytes() -> None:
    exc = error("sku,description\nA,Café crème,extra\n".encode())
    assert where(exc) == (2, 14)


@pytest.mark.parametrize(
    ("data", "at", "says"),
    [
        (b"sku,,qty\n", (1, 5), "column 2 of the header has no name"),
        (b"sku,qty,sku\n", (1, 9), "column 'sku' is named twice (columns 1 and 3)"),
        (b"sku,_line\n", (1, 5), "'_line' cannot be a column name"),
        (b"sku,qty,\nA,1,\n", (1, 9), "column 3 of the header has no name"),  # a trailing delimiter
    ],
)
def test_bad_header_names(data: bytes, at: tuple[int, int], says: str) -> None:
    exc = error(data)
    assert where(exc) == at and says in str(exc)


def test_text_after_a_closing_quote() -> None:
    exc = error(b'sku,description\nA,"TEE" BLACK\n')
    assert where(exc) == (2, 8) and "after the closing quote" in str(exc)


def test_a_quote_that_is_never_closed_points_at_its_opening() -> None:
    exc = error(b'sku,description\nA,"TEE BLACK\nB,x\nC,y\n')
    assert where(exc) == (2, 3) and "never closed" in str(exc)


def test_nul_bytes_are_refused_where_they_are() -> None:
    exc = error(b"sku,qty\nA,1\x002\n")
    assert where(exc) == (2, 4) and "NUL" in str(exc)


def test_a_utf16_export_read_as_utf8_says_so() -> None:
    data = "sku,qty\nA,1\n".encode("utf-16")
    assert "UTF-16" in str(error(data))
    assert read_csv(data, encoding="utf-16").rows[0].values == {"sku": "A", "qty": "1"}


def test_a_value_over_the_field_limit() -> None:
    exc = error(b"sku,note\nA,x\nB," + b"y" * (csv.field_size_limit() + 1) + b"\n")
    assert where(exc) == (3, 3) and "longer than" in str(exc)


def test_a_runaway_quote_is_caught_by_the_field_limit_or_the_end() -> None:
    exc = error(b'sku,note\nA,"open\n' + b"filler line\n" * 20000)
    assert where(exc) == (2, 3)


def test_an_ambiguous_delimiter_must_be_declared() -> None:
    exc = error(b"a,b;c;d,e\n")
    assert where(exc) == (1, 1) and "declare it" in str(exc)
    assert read_csv(b"a,b;c;d,e\n", delimiter=";").header == ("a,b", "c", "d,e")


def test_bad_options() -> None:
    assert "encoding" in str(error(b"a\n", encoding="klingon"))
    assert "delimiter" in str(error(b"a\n", delimiter='"'))


def test_errors_are_terminal_input_errors() -> None:
    exc = error(b"")
    assert isinstance(exc, InputError) and isinstance(exc, TerminalError) and not exc.transient
    assert exc.file == "stock.csv"


# -- random input ---------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_erpbridge_errors(data: bytes) -> None:
    try:
        table = read_csv(data, file="f.csv")
    except ErpBridgeError as exc:
        assert isinstance(exc, CsvError)
        assert str(exc).startswith(f"f.csv:{exc.line}:{exc.column}: ") and exc.line >= 1 and exc.column >= 1
        return
    assert isinstance(table, CsvTable)
    assert all(len(r.values) == len(table.header) for r in table.rows)


_CELL = st.text(alphabet=st.sampled_from(list('ab ,;"\r\n\t|é')), max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=6),
    st.sampled_from([",", ";", "\t", "|"]),
)
def test_what_the_csv_writer_writes_is_read_back(rows: list[list[str]], delimiter: str) -> None:
    import io

    header = ["c1", "c2", "c3"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    table = read_csv(out.getvalue().encode(), delimiter=delimiter)
    assert [list(r.values.values()) for r in table.rows] == [r for r in rows if any(r)]
