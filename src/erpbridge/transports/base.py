"""The transport interface: what a flow sees of a partner's folders, whatever carries the bytes.

A transport is configured once per partner and lives as long as the daemon. Each poll opens one
:class:`Session` (one SSH connection for SFTP) and closes it at the end::

    with transport.session() as s:
        for f in s.list("inbound"):                 # only finished, settled files
            data = s.fetch("inbound", f.name)       # bytes, never text
            ...                                     # ledger commits the payload first
            s.archive("inbound", f.name, "archive") # then the file leaves the inbound folder
        s.put("outbound", "997_000000042.edi", ack) # atomic: temp name, then rename

Rules every transport keeps (tests/transports/test_contract.py runs them against each one):

- ``list`` returns regular files only, never temporary names (:data:`DEFAULT_IGNORE`: dot files,
  ``*.tmp``, ``*.part``, ``*.filepart``) and, when the transport has ``stable_after=N``, only files
  whose size and mtime were the same in the N listings before this one (:class:`StabilityGate`).
- ``put`` writes to a temporary name in the same folder and renames it over the final name, so the
  final name never holds a partial file; it replaces an existing file of that name (a retried put of
  the same document is harmless).
- ``archive`` and ``delete`` are idempotent: a file that is already gone is not an error (after a
  crash between "archived" and "recorded", the retry must not fail). ``archive`` never overwrites a
  file in the archive folder: a partner re-using a file name gets ``orders.1.txt``, ``orders.2.txt``.
- names are plain file names: no ``/``, ``\\``, NUL, ``.`` or ``..`` (a name cannot leave its folder).
- errors are erpbridge errors only: :class:`~erpbridge.errors.TransportError` (transient: the peer,
  the connection or the folder is not there right now), :class:`~erpbridge.errors.InputError` (this
  file cannot be read or written), :class:`~erpbridge.errors.AuthenticationError` (credentials or
  host key refused), :class:`~erpbridge.errors.ConfigError` (the transport's settings are wrong).
"""

from __future__ import annotations

import builtins
import fnmatch
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, ErpBridgeError, InputError

#: Names that are never listed: files still being written by us or by the partner's tools
#: (WinSCP writes ``*.filepart``, many scripts ``*.tmp`` or ``*.part``; dot files are hidden).
DEFAULT_IGNORE: tuple[str, ...] = (".*", "*.tmp", "*.part", "*.filepart")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file in a folder listing. ``mtime`` is seconds since the epoch (SFTP: whole seconds)."""

    name: str
    size: int
    mtime: float


class Session(Protocol):
    """One connection to a partner's folders, for one poll. Not shared between threads."""

    def list(self, folder: str) -> builtins.list[RemoteFile]:
        """Finished files in ``folder``, sorted by name (temp names and unsettled files left out)."""
        ...

    def fetch(self, folder: str, name: str) -> bytes:
        """The whole content of one file."""
        ...

    def put(self, folder: str, name: str, data: bytes) -> None:
        """Write ``data`` as ``folder/name`` atomically (temp name, then rename over the final name)."""
        ...

    def archive(self, folder: str, name: str, archive_folder: str) -> str | None:
        """Move a file into ``archive_folder`` (created when missing) without overwriting anything there.

        Returns the name it was archived under, or ``None`` if the file was already gone.
        """
        ...

    def delete(self, folder: str, name: str) -> bool:
        """Remove a file; ``False`` if it was already gone."""
        ...


class Transport(Protocol):
    """A partner's folders, reachable one :class:`Session` at a time."""

    @property
    def label(self) -> str:
        """Where the folders are, for logs and messages (``sftp://user@host:port``); no secrets."""
        ...

    def session(self) -> AbstractContextManager[Session]:
        """Open a session (one connection) that is closed when the ``with`` block ends."""
        ...


class Credential:
    """A secret (password, key passphrase) that only its *name* ever shows.

    ``value`` is the secret itself or a callable returning it, called each time a session opens (so
    a rotated secret is picked up without a restart). ``repr()``, ``str()`` and every error message
    show only ``name``, such as ``env:MEGAMART_SFTP_PASSWORD``.
    """

    __slots__ = ("_source", "name")

    def __init__(self, name: str, value: str | Callable[[], str]) -> None:
        if not name:
            raise ConfigError("a credential needs a name (it is what messages show instead of the value)")
        self.name = name
        self._source = value

    @classmethod
    def from_env(cls, variable: str) -> Credential:
        """The value of an environment variable, read when a session opens."""
        name = f"env:{variable}"

        def read() -> str:
            try:
                return os.environ[variable]
            except KeyError:
                raise ConfigError(f"environment variable {variable} is not set", credential=name) from None

        return cls(name, read)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credential:
        """The content of a file (a mounted secret), without its trailing newline."""
        file = Path(path)
        name = f"file:{file}"

        def read() -> str:
            try:
                return file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ConfigError(
                    f"secret file {file} cannot be read: {exc.strerror}", credential=name
                ) from None

        return cls(name, read)

    def reveal(self) -> str:
        """The secret. Hand it to the library that needs it; never log it or put it in a message."""
        source = self._source
        if callable(source):
            try:
                value = source()
            except ErpBridgeError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"credential {self.name} cannot be read ({type(exc).__name__})", credential=self.name
                ) from exc
        else:
            value = source
        if not isinstance(value, str) or not value:
            raise ConfigError(f"credential {self.name} is empty", credential=self.name)
        return value

    def __repr__(self) -> str:
        return f"Credential({self.name!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError(f"{self!r} cannot be pickled (it would carry the secret)")

    def __copy__(self) -> Credential:
        return self  # immutable: copies (and deep copies of settings holding it) share it

    def __deepcopy__(self, memo: dict[int, Any]) -> Credential:
        return self


class StabilityGate:
    """Holds files back until their size and mtime were unchanged over ``stable_after`` listings.

    A partner's tool that writes straight to the final name (no temp name) leaves a growing file; a
    file counts as settled when it looks the same in consecutive listings, one poll apart. No sleeping:
    the gate only compares what ``list`` saw this time with what it saw the previous times.
    ``stable_after=0`` lets every file through at once. State is kept per folder, in memory, on the
    transport (so across sessions); a file that disappears or changes starts over.
    """

    def __init__(self, stable_after: int = 0) -> None:
        if stable_after < 0:
            raise ConfigError(f"stable_after must be 0 or more listings, not {stable_after}")
        self.stable_after = stable_after
        self._seen: dict[str, dict[str, tuple[int, float, int]]] = {}
        self._lock = threading.Lock()

    def admit(self, folder: str, files: Sequence[RemoteFile]) -> list[RemoteFile]:
        """Record this listing of ``folder`` and return the files that are settled."""
        if self.stable_after == 0:
            return list(files)
        with self._lock:
            previous = self._seen.get(folder, {})
            current: dict[str, tuple[int, float, int]] = {}
            settled: list[RemoteFile] = []
            for f in files:
                before = previous.get(f.name)
                unchanged = before is not None and before[0] == f.size and before[1] == f.mtime
                count = before[2] + 1 if unchanged and before is not None else 0
                current[f.name] = (f.size, f.mtime, count)
                if count >= self.stable_after:
                    settled.append(f)
            self._seen[folder] = current
            return settled


def is_ignored(name: str, patterns: Sequence[str] = DEFAULT_IGNORE) -> bool:
    """Whether ``name`` is a temporary or hidden name that ``list`` leaves out (case-insensitive)."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def check_name(name: str, **context: Any) -> str:
    """``name`` if it is a plain file name that cannot leave its folder; else :class:`InputError`."""
    if not isinstance(name, str) or name in {"", ".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise InputError(f"not a plain file name: {name!r}", file=repr(name), **context)
    return name


def temp_name(name: str) -> str:
    """The name a file is written under before it is renamed to ``name``: hidden, unique, ignored."""
    return f".{name}.{secrets.token_hex(4)}.part"


def numbered_name(name: str, n: int) -> str:
    """``name`` for n == 0, else the n-th alternative that keeps the extension: ``a.edi`` -> ``a.2.edi``."""
    if n == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name}.{n}"
    return f"{stem}.{n}.{ext}"


def check_ignore(patterns: Sequence[str]) -> tuple[str, ...]:
    """The ignore patterns as a tuple; a single string is refused (it would be taken letter by letter)."""
    if isinstance(patterns, str):
        raise ConfigError(f"ignore must be a list of patterns, not the string {patterns!r}")
    return tuple(patterns)
