"""Transports move bytes between erpbridge and partners' folders: local disk, SFTP, memory (tests).

See :mod:`erpbridge.transports.base` for the interface and its rules, and docs/transports.md.
``SftpTransport`` and ``SftpSettings`` are imported on first use, so that code which never speaks
SFTP does not load paramiko.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DEFAULT_IGNORE, Credential, RemoteFile, Session, StabilityGate, Transport
from .local import FolderSyncs, LocalTransport
from .memory import MemoryTransport

if TYPE_CHECKING:
    from .sftp import SftpSettings, SftpTransport

    def _every_transport_is_a_transport(
        local: LocalTransport, memory: MemoryTransport, sftp: SftpTransport
    ) -> list[Transport]:
        """Never called: mypy checks here that the three classes satisfy the Protocol."""
        return [local, memory, sftp]


__all__ = [
    "DEFAULT_IGNORE",
    "Credential",
    "FolderSyncs",
    "LocalTransport",
    "MemoryTransport",
    "RemoteFile",
    "Session",
    "SftpSettings",
    "SftpTransport",
    "StabilityGate",
    "Transport",
]


def __getattr__(name: str) -> Any:
    if name in {"SftpSettings", "SftpTransport"}:
        from . import sftp

        return getattr(sftp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
