"""Connectors: the systems canonical documents are delivered to (ERPs, WMSs). See :mod:`.base`."""

from .base import Connector, Delivered, FolderConnector, WorkSource

__all__ = ["Connector", "Delivered", "FolderConnector", "WorkSource"]
