"""Alembic migrations of the ledger schema; :meth:`erpbridge.ledger.Ledger.open` runs them to head."""
