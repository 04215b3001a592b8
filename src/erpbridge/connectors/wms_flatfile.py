"""The WMS as flat files in declared layouts (formats/flatfile): pick orders and the item master out.

A WMS that works from files takes its work as files in its own layouts: a pick order per order to
ship (from a retailer's PurchaseOrder, or SAP's delivery to pick, the WarehouseShippingOrder of a
SHPORD), and the item master (the SKUs it must know to receive and pick them). Its answers (ship
confirmations, inventory snapshots, adjustments) are read by outbound flows with a ``layout``
(docs/flatfiles.md); this connector is the way in.

:class:`WmsFlatFileConnector` is the ``wms_flatfile`` endpoint type's connector (an inbound flow's
``target``). For each canonical document it:

1. maps it with the endpoint's mapping for its kind (``source: PurchaseOrder``, ``target:
   wms/<name>``: a plain JSON ``{"rows": [...]}``, each row a dict by the layout's column names, with
   ``_record`` for a layout with record types);
2. writes the rows in the endpoint's layout (:func:`erpbridge.formats.flatfile.write`: strict, a
   value that does not fit its column is an error naming the row and column, nothing truncated);
3. puts the file ``<key><suffix>`` into the flow's folder through the endpoint's transport
   (atomically: the WMS never sees half a file).

Idempotent on ``key``: the same document and key make the same bytes under the same name, so a
repeat replaces the file with itself (as :class:`~erpbridge.connectors.FolderConnector` does). A mapping finding or a value the layout refuses raises
:class:`~erpbridge.errors.DocumentRejectedError` (terminal: the document is quarantined with the
reason); the transport's errors pass through (transient ones are retried).

:meth:`WmsFlatFileConnector.write_items` writes the item master: item rows (already in the item
layout's columns, such as a NetSuite helper makes from NetSuite's items) as one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DocumentRejectedError, FlatFileError
from ..formats.flatfile import Layout, load_layout, write
from ..mapping import Mapping as LoadedMapping
from ..mapping import load_mapping
from ..transports import Transport
from .base import Delivered, FolderConnector


@dataclass(frozen=True, kw_only=True)
class WmsFlatFileSettings:
    """A ``wms_flatfile`` endpoint: the layout its files are written in, the mapping per canonical
    kind that makes the layout's rows, and the files' suffix."""

    name: str
    layout: Path
    mappings: Mapping[str, Path] = field(default_factory=dict)
    suffix: str = ".txt"


class WmsFlatFileConnector(FolderConnector):
    """Canonical documents as flat files in ``folder`` of a transport (see the module); the session
    handling is the folder connector's."""

    def __init__(self, settings: WmsFlatFileSettings, transport: Transport, folder: str) -> None:
        super().__init__(settings.name, transport, folder)
        self.settings = settings
        self.layout: Layout = load_layout(settings.layout)
        self._mappings: dict[str, LoadedMapping] = {}

    def file_name(self, key: str) -> str:  # type: ignore[override]  # the suffix is the endpoint's
        """The file a key is delivered as (characters a file name cannot hold become ``_``)."""
        return FolderConnector.file_name(key).removesuffix(".json") + self.settings.suffix

    def rows(self, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The layout's rows of one canonical document (pure: the endpoint's mapping for its kind)."""
        kind = str(document.get("kind"))
        path = self.settings.mappings.get(kind)
        if path is None:
            raise DocumentRejectedError(
                f"[endpoints.{self.name}] has no mapping for {kind} (it maps {', '.join(self.settings.mappings) or 'nothing'})"
            )
        if kind not in self._mappings:
            self._mappings[kind] = load_mapping(path)
        result = self._mappings[kind].apply(document)
        if result.document is None:
            raise DocumentRejectedError("; ".join(str(f) for f in result.findings))
        rows = result.document.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DocumentRejectedError(
                f'{path}: the mapping must make {{"rows": [{{...}}, ...]}}, not {rows!r}'
            )
        return rows

    def render(self, document: Mapping[str, Any], *, key: str) -> tuple[str, bytes]:
        """The file name and bytes a document is delivered as (pure)."""
        name = self.file_name(key)
        try:
            return name, write(self.layout, self.rows(document), file=name)
        except FlatFileError as exc:
            raise DocumentRejectedError(
                f"layout {self.layout.name} ({self.layout.file}) refuses a row: {exc}"
            ) from None

    def deliver(self, document: Mapping[str, Any], *, key: str) -> Delivered:
        name, body = self.render(document, key=key)
        return self._put(name, body)

    def write_items(self, items: Iterable[Mapping[str, Any]], *, key: str) -> Delivered:
        """The item master: ``items`` (rows by the layout's column names) as one file ``<key><suffix>``."""
        name = self.file_name(key)
        try:
            body = write(self.layout, items, file=name)
        except FlatFileError as exc:
            raise DocumentRejectedError(
                f"layout {self.layout.name} ({self.layout.file}) refuses an item: {exc}"
            ) from None
        return self._put(name, body)

    def _put(self, name: str, body: bytes) -> Delivered:
        try:
            self._open().put(self.folder, name, body)
        except BaseException:
            self.close()  # a broken session is not reused
            raise
        return Delivered(name, detail={"folder": self.folder, "layout": self.layout.name})


__all__ = ["WmsFlatFileConnector", "WmsFlatFileSettings"]
