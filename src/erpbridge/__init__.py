"""erpbridge: an EDI gateway and ERP integration daemon.

X12 partners <-> canonical documents <-> SAP, NetSuite and WMS flat files, with every step
recorded in a ledger. See README.md and docs/.
"""

__version__ = "0.1.0"
