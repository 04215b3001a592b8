"""The item master between the ERP and the WMS: the nightly item file and catalog drift.

- :mod:`.items` (pure): an ERP's or the WMS's item rows as :class:`CatalogItem` (pounds, inches),
  and the rows of the WMS item file (the ``item-master`` layout).
- :mod:`.drift` (pure): the two item masters compared per SKU, weight, dimensions and HS code.
- :mod:`.jobs`: the scheduled jobs of ``[jobs.<name>]`` (``type = "item_master"`` and
  ``"catalog_drift"``) that read NetSuite, write or read the WMS's files and record each run in
  the ledger (``erpbridge job run NAME``). docs/netsuite.md and docs/observability.md.
"""

from .drift import Drift, Tolerance, compare, drifted_skus
from .items import CatalogItem, DimensionFields, ItemProblem, item_master_rows

__all__ = [
    "CatalogItem",
    "DimensionFields",
    "Drift",
    "ItemProblem",
    "Tolerance",
    "compare",
    "drifted_skus",
    "item_master_rows",
]
