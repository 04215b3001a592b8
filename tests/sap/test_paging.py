"""The paging loop on its own: $top/$skip pages, and SAP's server-driven paging (``__next``), which the
mock server does not produce. The query objects stand in for pyodata's; the loop is what is tested."""

from __future__ import annotations

from typing import Any

from erpbridge.connectors.sap_odata import STOCK_SERVICE, BasicAuth, SapODataConnector, SapODataSettings
from erpbridge.transports.base import Credential

from .conftest import MAPPING


class Page(list[int]):
    def __init__(self, items: list[int], next_url: str | None = None) -> None:
        super().__init__(items)
        self.next_url = next_url


class Query:
    """Records how the loop drives it, and answers from ``pages`` in order."""

    def __init__(self, pages: list[Page], calls: list[tuple[str, Any]]) -> None:
        self.pages, self.calls = pages, calls

    def top(self, n: int) -> Query:
        self.calls.append(("top", n))
        return self

    def skip(self, n: int) -> Query:
        self.calls.append(("skip", n))
        return self

    def next_url(self, url: str) -> Query:
        self.calls.append(("next", url))
        return self

    def execute(self) -> Page:
        return self.pages.pop(0)


def connector(page_size: int) -> SapODataConnector:
    return SapODataConnector(
        SapODataSettings(
            url="https://sap.example.com:44300",
            auth=BasicAuth(user="U", password=Credential("env:P", "x")),
            sales_order_mapping=MAPPING,
            page_size=page_size,
        )
    )


def test_top_and_skip_until_a_short_page() -> None:
    pages, calls = [Page([1, 2]), Page([3, 4]), Page([5])], []
    got = list(connector(2)._pages(STOCK_SERVICE, lambda: Query(pages, calls)))
    assert got == [1, 2, 3, 4, 5]
    assert calls == [("top", 2), ("skip", 0), ("top", 2), ("skip", 2), ("top", 2), ("skip", 4)]


def test_a_full_last_page_costs_one_empty_read() -> None:
    pages, calls = [Page([1, 2]), Page([])], []
    assert list(connector(2)._pages(STOCK_SERVICE, lambda: Query(pages, calls))) == [1, 2]
    assert len(calls) == 4


def test_sap_s_next_link_is_followed_relative_to_the_service() -> None:
    pages = [Page([1, 2], "A_MatlStkInAcctMod?$skiptoken=2"), Page([3], None)]
    calls: list[tuple[str, Any]] = []
    got = list(connector(500)._pages(STOCK_SERVICE, lambda: Query(pages, calls)))
    assert got == [1, 2, 3]
    assert calls == [
        ("top", 500),
        ("skip", 0),
        ("next", f"https://sap.example.com:44300{STOCK_SERVICE}/A_MatlStkInAcctMod?$skiptoken=2"),
    ]
