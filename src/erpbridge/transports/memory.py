"""An in-memory transport: the test double that flows and pipelines test against.

It keeps the same rules as the real transports (temp names ignored, the stability gate, idempotent
archive and delete, no overwriting in the archive, missing folder -> TransportError, missing file ->
InputError), and it lets a test play the partner and the network::

    t = MemoryTransport(folders=["inbound", "outbound", "archive"], partner="megamart")
    t.drop("inbound", "po_1001.edi", b"ISA*00*...")        # the partner uploads a file
    t.fail_next(TransportError("connection reset"))         # the next operation fails once
    ...
    assert t.files("outbound") == {"997_000000042.edi": b"ISA*..."}
    assert t.sessions_opened == 1
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence

from ..errors import ErpBridgeError, InputError, TransportError
from .base import (
    DEFAULT_IGNORE,
    RemoteFile,
    StabilityGate,
    check_ignore,
    check_name,
    is_ignored,
    numbered_name,
)


class MemoryTransport:
    """Folders held in a dict: ``{folder: {name: (data, mtime)}}``. Thread-safe."""

    def __init__(
        self,
        folders: Iterable[str] = (),
        *,
        partner: str | None = None,
        stable_after: int = 0,
        ignore: Sequence[str] = DEFAULT_IGNORE,
    ) -> None:
        self.partner = partner
        self.ignore = check_ignore(ignore)
        self.gate = StabilityGate(stable_after)
        self.sessions_opened = 0
        self._folders: dict[str, dict[str, tuple[bytes, float]]] = {f: {} for f in folders}
        self._failures: list[ErpBridgeError] = []
        self._clock = itertools.count(1)
        self._lock = threading.RLock()

    @property
    def label(self) -> str:
        return f"memory:{self.partner or 'anonymous'}"

    @contextlib.contextmanager
    def session(self) -> Iterator[MemorySession]:
        with self._lock:
            self.sessions_opened += 1
            self._maybe_fail()
        yield MemorySession(self)

    # -- playing the partner and the network ------------------------------------------------------

    def add_folder(self, folder: str) -> None:
        with self._lock:
            self._folders.setdefault(folder, {})

    def drop(self, folder: str, name: str, data: bytes, *, mtime: float | None = None) -> None:
        """Place a file as a partner would (no atomicity, any name, the folder is created)."""
        with self._lock:
            stamp = float(next(self._clock)) if mtime is None else mtime
            self._folders.setdefault(folder, {})[name] = (bytes(data), stamp)

    def files(self, folder: str) -> dict[str, bytes]:
        """Everything in ``folder``, temp names included (for assertions)."""
        with self._lock:
            return {name: data for name, (data, _) in sorted(self._folders.get(folder, {}).items())}

    def fail_next(self, error: ErpBridgeError, times: int = 1) -> None:
        """Make the next ``times`` operations (session opens included) raise ``error``."""
        with self._lock:
            self._failures.extend([error] * times)

    def _maybe_fail(self) -> None:
        if self._failures:
            raise self._failures.pop(0)


class MemorySession:
    """Operations on the folders of one :class:`MemoryTransport`."""

    def __init__(self, transport: MemoryTransport) -> None:
        self._t = transport

    def list(self, folder: str) -> builtins.list[RemoteFile]:
        with self._t._lock:
            files = [
                RemoteFile(name, len(data), mtime)
                for name, (data, mtime) in sorted(self._folder("list", folder).items())
                if not is_ignored(name, self._t.ignore)
            ]
        return self._t.gate.admit(folder, files)

    def fetch(self, folder: str, name: str) -> bytes:
        with self._t._lock:
            entry = self._folder("fetch", folder, name).get(name)
            if entry is None:
                raise InputError(f"cannot fetch {folder}/{name}: no such file", **self._context(folder, name))
            return entry[0]

    def put(self, folder: str, name: str, data: bytes) -> None:
        with self._t._lock:
            self._folder("put", folder, name)[name] = (bytes(data), float(next(self._t._clock)))

    def archive(self, folder: str, name: str, archive_folder: str) -> str | None:
        with self._t._lock:
            files = self._folder("archive", folder, name)
            if name not in files:
                return None
            target = self._t._folders.setdefault(archive_folder, {})
            n = 0
            while numbered_name(name, n) in target:
                n += 1
            candidate = numbered_name(name, n)
            target[candidate] = files.pop(name)
            return candidate

    def delete(self, folder: str, name: str) -> bool:
        with self._t._lock:
            return self._folder("delete", folder, name).pop(name, None) is not None

    def _context(self, folder: str, name: str | None) -> dict[str, str | None]:
        return {"partner": self._t.partner, "folder": folder, "file": name}

    def _folder(self, action: str, folder: str, name: str | None = None) -> dict[str, tuple[bytes, float]]:
        self._t._maybe_fail()
        if name is not None:
            check_name(name, partner=self._t.partner, folder=folder)
        files = self._t._folders.get(folder)
        if files is None:
            raise TransportError(
                f"cannot {action}: folder {folder} does not exist", **self._context(folder, name)
            )
        return files
