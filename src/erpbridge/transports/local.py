"""Folders on a local or mounted disk, laid out like a partner's SFTP folders.

``LocalTransport(root)`` serves folders *below* ``root``: ``s.list("megamart/inbound")`` lists
``root/megamart/inbound``. Folder names are relative, ``/``-separated and may not contain ``..``, so a
configured folder cannot point outside the root.

- ``put`` writes ``.NAME.RANDOM.part`` in the target folder, fsyncs it, ``os.replace``-s it onto the
  final name and fsyncs the folder: the final name holds either the old file or the whole new one.
- ``archive`` renames into the archive folder (created when missing); across file systems it copies,
  fsyncs and then removes the original.
- A session may *hold* its syncs (:meth:`LocalSession.hold_syncs`) in a :class:`FolderSyncs`: a
  put then writes its temporary file and stops there, and :meth:`FolderSyncs.sync` later fsyncs
  every such file together (concurrent fsyncs share the file system's journal commits), renames
  each onto its final name only then, and fsyncs each folder once. The pipeline does so for a
  chunk of inbound files, and syncs before the ledger records what those puts did. A name that
  appears always has its whole content, fsynced, as without holding.
- Errors: a missing folder is a :class:`~erpbridge.errors.TransportError` (transient). A configured
  folder that is not there is nearly always a share that is not mounted yet, a partner directory being
  recreated, or a disk that went away; all of those heal, and nothing is lost by retrying: the poll
  fails before any document was claimed, and a folder that stays missing shows up as a poll that keeps
  failing. A missing or unreadable *file* is an :class:`~erpbridge.errors.InputError` (terminal:
  retrying the same file cannot help). Permission problems are InputError too; a full disk (ENOSPC,
  EDQUOT) and other I/O errors are TransportError.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import logging
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import NamedTuple, NoReturn

from ..errors import ConfigError, ErpBridgeError, InputError, TransportError
from .base import (
    DEFAULT_IGNORE,
    RemoteFile,
    StabilityGate,
    check_ignore,
    check_name,
    is_ignored,
    numbered_name,
    temp_name,
)

log = logging.getLogger(__name__)

_MAX_ARCHIVE_NAMES = 1000


class LocalTransport:
    """A partner's folders below ``root`` on a local or mounted file system."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        partner: str | None = None,
        stable_after: int = 0,
        ignore: Sequence[str] = DEFAULT_IGNORE,
        fsync: bool = True,
    ) -> None:
        self.root = Path(root).absolute()
        self.partner = partner
        self.ignore = check_ignore(ignore)
        self.fsync = fsync
        self.gate = StabilityGate(stable_after)
        self.folders: dict[str, Path] = {}  # folder names checked and resolved (LocalSession._folder)

    @property
    def label(self) -> str:
        return f"local:{self.root}"

    @contextlib.contextmanager
    def session(self) -> Iterator[LocalSession]:
        """A session on the local folders (nothing to connect; here for the common interface)."""
        yield LocalSession(self)

    def __repr__(self) -> str:
        return f"LocalTransport({str(self.root)!r}, partner={self.partner!r})"


class _HeldPut(NamedTuple):
    """A put whose temporary file is written, waiting for :meth:`FolderSyncs.sync`."""

    tmp: Path
    final: Path
    session: LocalSession
    folder: str
    name: str


class FolderSyncs:
    """Puts and folder fsyncs held by sessions (:meth:`LocalSession.hold_syncs`), made together by
    :meth:`sync`: the files fsynced at once, renamed, and each folder fsynced once for any number of
    files. Whoever holds syncs here calls :meth:`sync` before it records (or reports) that those
    puts and renames are done."""

    def __init__(self) -> None:
        self._owed: dict[Path, None] = {}  # in the order first owed
        self._puts: list[_HeldPut] = []

    def owe(self, path: Path) -> None:
        self._owed[path] = None

    def hold(self, put: _HeldPut) -> None:
        self._puts.append(put)

    @property
    def owed(self) -> int:
        """How many puts and folders wait for :meth:`sync`."""
        return len(self._owed) + len(self._puts)

    def sync(self) -> None:
        """Finish every held put (its file fsynced, then renamed onto its name), in the order they
        were made, then fsync every folder owed (best effort, as :meth:`LocalSession._sync_dir`).
        A put that fails raises the error its session's put would have raised; the puts after it
        are not renamed (their temporary files removed), so none of their names appears."""
        puts, self._puts = self._puts, []
        done = 0
        try:
            _fsync_files([p.tmp for p in puts])
            while done < len(puts):  # done: how many are renamed (the except below starts there)
                os.replace(puts[done].tmp, puts[done].final)
                self._owed[puts[done].final.parent] = None
                done += 1
        except _FileError as exc:
            self._discard(puts[done:])
            failed = next(p for p in puts if p.tmp == exc.path)
            failed.session._fail(exc.error, "put", failed.folder, failed.name)
        except OSError as exc:
            self._discard(puts[done:])
            puts[done].session._fail(exc, "put", puts[done].folder, puts[done].name)
        owed, self._owed = list(self._owed), {}
        for path in owed:
            _fsync_dir(path)

    @staticmethod
    def _discard(puts: list[_HeldPut]) -> None:
        for put in puts:
            with contextlib.suppress(OSError):
                os.unlink(put.tmp)


class _FileError(Exception):
    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(str(error))
        self.path, self.error = path, error


def _fsync_files(paths: list[Path]) -> None:
    """fsync each file, several at a time (fsync releases the GIL, and the file system's journal
    commits one transaction for the fsyncs that wait together); _FileError for the first to fail."""

    def one(path: Path) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _FileError(path, exc) from exc

    if len(paths) <= 1:
        for path in paths:
            one(path)
        return
    with ThreadPoolExecutor(max_workers=min(8, len(paths)), thread_name_prefix="erpbridge-fsync") as pool:
        for future in [pool.submit(one, path) for path in paths]:
            future.result()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalSession:
    """Operations on the folders of one :class:`LocalTransport`."""

    def __init__(self, transport: LocalTransport) -> None:
        self._t = transport
        self._held: FolderSyncs | None = None

    def hold_syncs(self, syncs: FolderSyncs | None) -> None:
        """From now on, puts write their temporary file and leave the fsync and the rename to
        ``syncs``, and the fsyncs of folders after a rename (archive, delete) are owed to it
        (``None``: at once again). The caller makes them, with ``syncs.sync()``, before it relies on
        those files being there (a held put's name appears only then)."""
        self._held = syncs

    # -- the Session interface ---------------------------------------------------------------

    def list(self, folder: str) -> builtins.list[RemoteFile]:
        path = self._folder(folder)
        files: builtins.list[RemoteFile] = []
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if is_ignored(entry.name, self._t.ignore):
                        continue
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed between readdir and stat
                    if stat.S_ISREG(st.st_mode):
                        files.append(RemoteFile(entry.name, st.st_size, st.st_mtime_ns / 1e9))
        except OSError as exc:
            self._fail(exc, "list", folder, None)
        files.sort(key=lambda f: f.name)
        return self._t.gate.admit(folder, files)

    def fetch(self, folder: str, name: str) -> bytes:
        path = self._file(folder, name)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            self._fail(exc, "fetch", folder, name)

    def put(self, folder: str, name: str, data: bytes) -> None:
        final = self._file(folder, name)
        tmp = final.with_name(temp_name(name))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            self._fail(exc, "put", folder, name)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if self._t.fsync and self._held is None:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if self._t.fsync and self._held is not None:  # fsynced and renamed by FolderSyncs.sync
                self._held.hold(_HeldPut(tmp, final, self, folder, name))
                return
            os.replace(tmp, final)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                self._fail(exc, "put", folder, name)
            raise
        self._sync_dir(final.parent)
        log.debug("put %s/%s (%d bytes) on %s", folder, name, len(data), self._t.label)

    def archive(self, folder: str, name: str, archive_folder: str) -> str | None:
        source = self._file(folder, name)
        target_dir = self._folder(archive_folder)
        try:
            if not self._exists(source, folder, name):
                return None
            target_dir.mkdir(parents=True, exist_ok=True)
            for n in range(_MAX_ARCHIVE_NAMES):
                candidate = numbered_name(name, n)
                target = target_dir / candidate
                if os.path.lexists(target):
                    continue
                try:
                    self._move(source, target)
                except FileNotFoundError:
                    if os.path.lexists(source) or not target_dir.is_dir():
                        raise
                    return None  # another process archived it since the check above: done
                self._sync_dir(target_dir)
                self._sync_dir(source.parent)
                log.debug("archived %s/%s as %s/%s", folder, name, archive_folder, candidate)
                return candidate
        except OSError as exc:
            self._fail(exc, "archive", folder, name)
        raise InputError(
            f"archive folder already holds {_MAX_ARCHIVE_NAMES} files named like {name}",
            **self._context(archive_folder, name),
        )

    def delete(self, folder: str, name: str) -> bool:
        path = self._file(folder, name)
        try:
            os.unlink(path)
        except FileNotFoundError:
            if path.parent.is_dir():
                return False
            self._fail(FileNotFoundError(errno.ENOENT, "no such folder"), "delete", folder, name)
        except OSError as exc:
            self._fail(exc, "delete", folder, name)
        self._sync_dir(path.parent)
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _context(self, folder: str, name: str | None) -> dict[str, str | None]:
        return {"partner": self._t.partner, "folder": folder, "file": name}

    def _folder(self, folder: str) -> Path:
        known = self._t.folders.get(folder)
        if known is not None:
            return known
        parts = PurePosixPath(folder).parts
        if folder.startswith("/") or ".." in parts or "\\" in folder or "\x00" in folder:
            raise ConfigError(
                f"a local folder must be relative to the transport root and stay below it: {folder!r}",
                partner=self._t.partner,
                root=str(self._t.root),
            )
        self._t.folders[folder] = path = self._t.root.joinpath(*parts)
        return path

    def _file(self, folder: str, name: str) -> Path:
        check_name(name, partner=self._t.partner, folder=folder)
        return self._folder(folder) / name

    def _exists(self, path: Path, folder: str, name: str) -> bool:
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            if path.parent.is_dir():
                return False
            raise
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{folder}/{name} is not a regular file", **self._context(folder, name))
        return True

    def _move(self, source: Path, target: Path) -> None:
        try:
            os.rename(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # the archive folder is on another file system: copy, make it durable, then remove
            tmp = target.with_name(temp_name(target.name))
            try:
                shutil.copy2(source, tmp)
                if self._t.fsync:
                    with open(tmp, "rb") as fh:
                        os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            os.unlink(source)

    def _sync_dir(self, path: Path) -> None:
        """Make a rename durable: fsync the folder (best effort; some file systems refuse), or owe
        it to the :class:`FolderSyncs` this session holds its syncs in."""
        if not self._t.fsync:
            return
        if self._held is not None:
            self._held.owe(path)
            return
        _fsync_dir(path)

    def _fail(self, exc: OSError, action: str, folder: str, name: str | None) -> NoReturn:
        """Translate an OSError from ``action`` into erpbridge's error tree."""
        ctx = self._context(folder, name)
        where = f"{folder}/{name}" if name else folder
        folder_path = self._folder(folder)
        err: ErpBridgeError
        if isinstance(exc, FileNotFoundError | NotADirectoryError):
            if name is not None and folder_path.is_dir():
                err = InputError(f"cannot {action} {where}: no such file", **ctx)
            else:
                err = TransportError(
                    f"cannot {action} {where}: folder {folder_path} does not exist (not mounted or not created?)",
                    **ctx,
                )
        elif isinstance(exc, PermissionError):
            err = InputError(f"cannot {action} {where}: permission denied", **ctx)
        elif isinstance(exc, IsADirectoryError):
            err = InputError(f"cannot {action} {where}: it is a folder", **ctx)
        else:
            reason = exc.strerror or type(exc).__name__
            err = TransportError(f"cannot {action} {where}: {reason}", **ctx)
        raise err from exc
