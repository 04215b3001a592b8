"""SuiteQL over the emulator's SQLite tables: a small, checked subset translated to SQLite.

Supported: one ``SELECT`` statement (``SELECT ... FROM t [alias] [JOIN u ON ...] [WHERE ...]
[GROUP BY ...] [ORDER BY ...]``) over the tables in :data:`TABLES`, with SQL-92 operators and
functions that SQLite shares, ``NVL`` (as ``IFNULL``) and ``BUILTIN.DF(column)`` (the display
text of a status code; the emulator knows the sales order and item fulfillment statuses). Not
supported (refused with NetSuite's "Invalid search query" error): anything but SELECT, several
statements, tables not in :data:`TABLES`, ``ROWNUM``, ``TOP``, Oracle date functions. Values come
back as NetSuite returns them: strings, column names in lower case, null columns left out.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

TABLES = frozenset(
    {"item", "customer", "transaction", "transactionline", "inventoryitemlocations", "location", "account"}
)

#: Transaction status codes (SuiteQL ``transaction.status``) and their display text.
STATUS_TEXT = {
    ("SalesOrd", "A"): "Sales Order : Pending Approval",
    ("SalesOrd", "B"): "Sales Order : Pending Fulfillment",
    ("SalesOrd", "C"): "Sales Order : Cancelled",
    ("SalesOrd", "D"): "Sales Order : Partially Fulfilled",
    ("SalesOrd", "E"): "Sales Order : Pending Billing/Partially Fulfilled",
    ("SalesOrd", "F"): "Sales Order : Pending Billing",
    ("SalesOrd", "G"): "Sales Order : Billed",
    ("SalesOrd", "H"): "Sales Order : Closed",
    ("ItemShip", "A"): "Item Fulfillment : Picked",
    ("ItemShip", "B"): "Item Fulfillment : Packed",
    ("ItemShip", "C"): "Item Fulfillment : Shipped",
}
_BY_CODE: dict[str, str] = {}
for (_type, _code), _text in STATUS_TEXT.items():
    _BY_CODE.setdefault(_code, _text)


class SuiteQLError(Exception):
    pass


_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)
_FORBIDDEN = re.compile(
    r"\b(ROWNUM|TOP|PRAGMA|ATTACH|INSERT|UPDATE|DELETE|DROP|CREATE|ALTER|REPLACE)\b", re.I
)


def translate(query: str) -> str:
    text = query.strip().rstrip(";").strip()
    if ";" in text:
        raise SuiteQLError("only one statement")
    if not re.match(r"(?is)^select\s", text):
        raise SuiteQLError("a SuiteQL query starts with SELECT")
    bad = _FORBIDDEN.search(re.sub(r"'(?:[^']|'')*'", "''", text))
    if bad:
        raise SuiteQLError(f"{bad.group(1)} is not supported by the emulator")
    for table in _FROM.findall(text):
        if table.lower() not in TABLES:
            raise SuiteQLError(f"Record '{table}' was not found.")
    text = quote_keywords(text)
    text = re.sub(r"(?i)\bBUILTIN\.DF\s*\(", "ns_df(", text)
    text = re.sub(r"(?i)\bNVL\s*\(", "IFNULL(", text)
    return text


def _outside_strings(text: str, change: Any) -> str:
    """Applies ``change`` to the parts of ``text`` outside string literals."""
    parts = re.split(r"('(?:[^']|'')*')", text)
    return "".join(part if n % 2 else change(part) for n, part in enumerate(parts))


def quote_keywords(text: str) -> str:
    """``transaction`` is a table and a column in SuiteQL and a keyword in SQLite: quote it."""
    return _outside_strings(
        text, lambda part: re.sub(r"(?i)(?<![\[\"])\btransaction\b(?![\]\"])", "[transaction]", part)
    )


def display(value: Any) -> str | None:
    return None if value is None else _BY_CODE.get(str(value), str(value))


def run(db: sqlite3.Connection, query: str) -> list[dict[str, str]]:
    sql = translate(query)
    try:
        cursor = db.execute(sql)
    except sqlite3.Error as exc:
        raise SuiteQLError(str(exc)) from None
    names = [d[0].lower() for d in cursor.description or ()]
    rows = []
    for raw in cursor.fetchall():
        row: dict[str, str] = {}
        for name, value in zip(names, raw, strict=True):
            if value is None:
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            row[name] = str(value)
        rows.append(row)
    return rows
