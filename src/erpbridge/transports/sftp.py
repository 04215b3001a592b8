"""SFTP over SSH (paramiko): the only module of erpbridge that imports paramiko.

One :meth:`SftpTransport.session` is one SSH connection with one SFTP channel, reused for every
operation of a poll and closed at the end. There is no reconnecting inside a session: when the
connection drops, the operation raises :class:`~erpbridge.errors.TransportError` and the next poll
opens a new session.

Host keys are always verified against the ``known_hosts`` file of the settings (and only that file:
neither ``~/.ssh/known_hosts`` nor the system files are read, and nothing is ever added to it). An
unknown or changed host key is an :class:`~erpbridge.errors.AuthenticationError` that names the host,
the key's fingerprint and the known_hosts file. Agent and ``~/.ssh/id_*`` keys are never tried: only
the configured key and/or password.

Secrets (password, key passphrase) are :class:`~erpbridge.transports.base.Credential` values: they
are revealed when a session opens, handed to paramiko, and never logged or put into a message;
messages name the credential (``env:MEGAMART_SFTP_PASSWORD``) instead.

Error classification (paramiko and socket exceptions never escape this module):

==============================================================  =====================================
what happened                                                   erpbridge error
==============================================================  =====================================
host key unknown or not the pinned one                          AuthenticationError (terminal)
credentials refused, key cannot be decrypted                    AuthenticationError (terminal)
known_hosts or key file missing, bad settings                   ConfigError (terminal)
refused, unreachable, timeout, EOF, SSH protocol error, drop     TransportError (transient)
folder missing                                                  TransportError (transient)
file missing (fetch), permission denied                         InputError (terminal)
==============================================================  =====================================
"""

from __future__ import annotations

import builtins
import contextlib
import io
import logging
import posixpath
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import paramiko

from ..errors import AuthenticationError, ConfigError, ErpBridgeError, InputError, TransportError
from .base import (
    DEFAULT_IGNORE,
    Credential,
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


@dataclass(frozen=True, kw_only=True)
class SftpSettings:
    """How to reach one partner's SFTP server. Timeouts are in seconds.

    ``private_key`` is an OpenSSH or PEM private key file (Ed25519, ECDSA or RSA), decrypted with
    ``passphrase`` when it is encrypted. ``password`` is for password authentication. At least one of
    ``private_key`` and ``password`` is needed; with both, the key is tried first.
    ``known_hosts`` holds the pinned host key, under ``host`` for port 22 and ``[host]:port``
    otherwise (the OpenSSH convention; hashed entries work).
    """

    host: str
    username: str
    known_hosts: Path
    port: int = 22
    private_key: Path | None = None
    passphrase: Credential | None = None
    password: Credential | None = None
    partner: str | None = None
    connect_timeout: float = 15.0  # TCP connect
    banner_timeout: float = 15.0  # the server's SSH banner
    auth_timeout: float = 30.0  # an answer to an authentication request
    channel_timeout: float = 15.0  # opening the SFTP channel
    io_timeout: float = 60.0  # any one SFTP request (listing, reading or writing a block)
    stable_after: int = 0
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    def __post_init__(self) -> None:
        ctx = {"partner": self.partner, "host": self.host}
        if not self.host or not self.username:
            raise ConfigError("SFTP settings need a host and a username", **ctx)
        if not 0 < self.port < 65536:
            raise ConfigError(f"SFTP port must be 1-65535, not {self.port}", **ctx)
        if self.private_key is None and self.password is None:
            raise ConfigError("SFTP settings need a private_key or a password", **ctx)
        if self.passphrase is not None and self.private_key is None:
            raise ConfigError("an SFTP key passphrase was given without a private_key", **ctx)
        for name in ("connect_timeout", "banner_timeout", "auth_timeout", "channel_timeout", "io_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"SFTP {name} must be more than 0 seconds", **ctx)
        object.__setattr__(self, "known_hosts", Path(self.known_hosts))
        if self.private_key is not None:
            object.__setattr__(self, "private_key", Path(self.private_key))
        object.__setattr__(self, "ignore", check_ignore(self.ignore))

    @property
    def host_key_name(self) -> str:
        """How known_hosts names this server: ``host``, or ``[host]:port`` off port 22."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


class _UnknownHostKey(paramiko.SSHException):
    """Raised by :class:`_PinnedHostKeys` so that connect() can tell it from other SSH errors."""

    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(hostname)
        self.hostname = hostname
        self.key = key


class _PinnedHostKeys(paramiko.RejectPolicy):
    """Reject (never add) a host whose key is not in known_hosts, with an exception we recognise."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise _UnknownHostKey(hostname, key)


class SftpTransport:
    """A partner's folders on an SFTP server."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.gate = StabilityGate(settings.stable_after)

    @property
    def partner(self) -> str | None:
        return self.settings.partner

    @property
    def label(self) -> str:
        s = self.settings
        return f"sftp://{s.username}@{s.host}:{s.port}"

    @property
    def credential_name(self) -> str:
        """The name of what authenticates the sessions (``key:/run/secrets/id``, ``env:PASSWORD``),
        for the ledger's events: never the secret itself."""
        s = self.settings
        names = [f"key:{s.private_key}"] if s.private_key is not None else []
        names += [c.name for c in (s.passphrase, s.password) if c is not None]
        return "+".join(names)

    def __repr__(self) -> str:
        return f"SftpTransport({self.label!r}, partner={self.partner!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[SftpSession]:
        """Connect, authenticate, open the SFTP channel; close them all when the block ends."""
        client, sftp = self._connect()
        try:
            yield SftpSession(self, sftp)
        finally:
            with contextlib.suppress(Exception):
                sftp.close()
            with contextlib.suppress(Exception):
                client.close()
            log.debug("closed %s", self.label)

    # -- connecting ------------------------------------------------------------------------------

    def _context(self, **more: Any) -> dict[str, Any]:
        return {"partner": self.settings.partner, "host": self.settings.host_key_name, **more}

    def _load_key(self) -> paramiko.PKey | None:
        s = self.settings
        if s.private_key is None:
            return None
        path = s.private_key
        ctx = self._context(file=str(path))
        if not path.is_file():
            raise ConfigError(f"SFTP private key file {path} does not exist", **ctx)
        secret = s.passphrase.reveal().encode() if s.passphrase is not None else None
        try:
            try:
                # cryptography wants the passphrase as bytes, although the stub says str
                return paramiko.PKey.from_path(path, password=secret)  # type: ignore[arg-type]
            except TypeError:
                if secret is None:
                    raise
                # a passphrase was configured but the key is not encrypted: use it as it is
                return paramiko.PKey.from_path(path)
        except OSError as exc:
            raise ConfigError(f"SFTP private key file {path} cannot be read: {exc.strerror}", **ctx) from None
        except TypeError:
            raise AuthenticationError(
                f"SFTP private key {path} is encrypted and no passphrase is configured", **ctx
            ) from None
        except (ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType):
            which = f" with passphrase {s.passphrase.name}" if s.passphrase is not None else ""
            raise AuthenticationError(
                f"SFTP private key {path} cannot be loaded{which}: wrong passphrase, or not a supported private key",
                **ctx,
            ) from None

    def _connect(self) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
        s = self.settings
        known_hosts = s.known_hosts
        if not known_hosts.is_file():
            raise ConfigError(
                f"known_hosts file {known_hosts} does not exist; SFTP host keys are always verified",
                **self._context(file=str(known_hosts)),
            )
        pkey = self._load_key()
        password = s.password.reveal() if s.password is not None else None
        client = paramiko.SSHClient()
        try:
            try:
                client.load_host_keys(str(known_hosts))
            except (OSError, paramiko.SSHException, ValueError) as exc:
                raise ConfigError(
                    f"known_hosts file {known_hosts} cannot be read: {exc}",
                    **self._context(file=str(known_hosts)),
                ) from None
            client.set_missing_host_key_policy(_PinnedHostKeys())
            log.debug("connecting to %s (partner %s)", self.label, s.partner)
            client.connect(
                s.host,
                port=s.port,
                username=s.username,
                password=password,
                pkey=pkey,
                timeout=s.connect_timeout,
                banner_timeout=s.banner_timeout,
                auth_timeout=s.auth_timeout,
                channel_timeout=s.channel_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(s.io_timeout)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            self._fail_connect(exc)
        except BaseException:
            client.close()
            raise
        log.info("connected to %s as %s (partner %s)", self.label, s.username, s.partner)
        return client, sftp

    def _fail_connect(self, exc: OSError | EOFError | paramiko.SSHException) -> NoReturn:
        s = self.settings
        kh = s.known_hosts
        ctx = self._context()
        err: ErpBridgeError
        if isinstance(exc, _UnknownHostKey):
            err = AuthenticationError(
                f"host key of {s.host_key_name} ({_fingerprint(exc.key)}) is not in known_hosts {kh}: "
                "refusing to connect; add it only after checking the fingerprint with the partner",
                known_hosts=str(kh),
                **ctx,
            )
        elif isinstance(exc, paramiko.BadHostKeyException):
            err = AuthenticationError(
                f"host key of {s.host_key_name} changed: the server presented {_fingerprint(exc.key)}, "
                f"known_hosts {kh} pins {_fingerprint(exc.expected_key)}; refusing to connect "
                "(a re-keyed server, or someone in between)",
                known_hosts=str(kh),
                **ctx,
            )
        elif isinstance(exc, paramiko.AuthenticationException):
            tried = []
            if s.private_key is not None:
                tried.append(f"key {s.private_key}")
            if s.password is not None:
                tried.append(f"password {s.password.name}")
            allowed = getattr(exc, "allowed_types", None)
            also = f"; the server allows: {', '.join(allowed)}" if allowed else ""
            err = AuthenticationError(
                f"{s.host_key_name} refused our credentials for user {s.username} "
                f"(tried {' and '.join(tried)}){also}",
                user=s.username,
                **ctx,
            )
        elif isinstance(exc, TimeoutError | socket.timeout):
            err = TransportError(f"timed out connecting to {s.host_key_name}", **ctx)
        elif isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            err = TransportError(f"cannot connect to {s.host_key_name}: connection refused", **ctx)
        elif isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
            err = TransportError(f"cannot connect to {s.host_key_name}: {reason}", **ctx)
        else:
            reason = str(exc) or type(exc).__name__
            err = TransportError(f"SSH connection to {s.host_key_name} failed: {reason}", **ctx)
        raise err from exc


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"


class SftpSession:
    """Operations over one open SFTP channel. Folders are server paths (relative to the login folder
    unless they start with ``/``)."""

    def __init__(self, transport: SftpTransport, sftp: paramiko.SFTPClient) -> None:
        self._t = transport
        self._sftp = sftp

    # -- the Session interface ---------------------------------------------------------------

    def list(self, folder: str) -> builtins.list[RemoteFile]:
        ignore = self._t.settings.ignore
        with self._errors("list", folder):
            entries = self._sftp.listdir_attr(folder)
        files = [
            RemoteFile(e.filename, e.st_size or 0, float(e.st_mtime or 0))
            for e in entries
            if e.st_mode is not None and stat.S_ISREG(e.st_mode) and not is_ignored(e.filename, ignore)
        ]
        files.sort(key=lambda f: f.name)
        return self._t.gate.admit(folder, files)

    def fetch(self, folder: str, name: str) -> bytes:
        path = self._path(folder, name)
        buffer = io.BytesIO()
        with self._errors("fetch", folder, name):
            self._sftp.getfo(path, buffer)
        return buffer.getvalue()

    def put(self, folder: str, name: str, data: bytes) -> None:
        final = self._path(folder, name)
        tmp = posixpath.join(folder, temp_name(name))
        with self._errors("put", folder, name):
            try:
                # confirm=True stats the temp file: the server must hold every byte before the rename
                self._sftp.putfo(io.BytesIO(data), tmp, file_size=len(data), confirm=True)
                self._replace(tmp, final)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._sftp.remove(tmp)
                raise
        log.debug("put %s (%d bytes) on %s", final, len(data), self._t.label)

    def archive(self, folder: str, name: str, archive_folder: str) -> str | None:
        source = self._path(folder, name)
        with self._errors("archive", folder, name):
            if not self._file_exists(source, folder):
                return None
            self._makedirs(archive_folder)
            for n in range(_MAX_ARCHIVE_NAMES):
                candidate = numbered_name(name, n)
                target = posixpath.join(archive_folder, candidate)
                if self._lexists(target):
                    continue
                try:
                    # plain SFTP rename does not overwrite (OpenSSH: link + unlink)
                    self._sftp.rename(source, target)
                except OSError as exc:
                    if exc.errno is None and self._lexists(target):
                        continue  # taken between our check and the rename
                    if isinstance(exc, FileNotFoundError) and not self._lexists(source):
                        return None  # archived by someone else meanwhile
                    raise
                log.debug("archived %s as %s on %s", source, target, self._t.label)
                return candidate
        raise InputError(
            f"archive folder already holds {_MAX_ARCHIVE_NAMES} files named like {name}",
            **self._context(archive_folder, name),
        )

    def delete(self, folder: str, name: str) -> bool:
        path = self._path(folder, name)
        with self._errors("delete", folder, name):
            try:
                self._sftp.remove(path)
            except FileNotFoundError:
                if self._is_dir(folder):
                    return False
                raise
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _context(self, folder: str, name: str | None) -> dict[str, Any]:
        return {
            "partner": self._t.settings.partner,
            "host": self._t.settings.host_key_name,
            "folder": folder,
            "file": name,
        }

    def _path(self, folder: str, name: str) -> str:
        check_name(name, partner=self._t.settings.partner, folder=folder)
        return posixpath.join(folder, name)

    def _replace(self, tmp: str, final: str) -> None:
        """Rename ``tmp`` over ``final``: posix-rename@openssh.com, else remove + rename."""
        try:
            self._sftp.posix_rename(tmp, final)
            return
        except OSError as exc:
            if exc.errno is not None:
                raise  # a real refusal (no such file, permission denied)
            log.debug("posix-rename refused on %s (%s); falling back to rename", self._t.label, exc)
        try:
            self._sftp.rename(tmp, final)
        except OSError as exc:
            if exc.errno is not None or not self._lexists(final):
                raise
            # SFTPv3 rename does not overwrite. The final name is briefly absent, never partial.
            self._sftp.remove(final)
            self._sftp.rename(tmp, final)

    def _lexists(self, path: str) -> bool:
        try:
            self._sftp.lstat(path)
        except FileNotFoundError:
            return False
        return True

    def _is_dir(self, path: str) -> bool:
        try:
            st = self._sftp.stat(path)
        except FileNotFoundError:
            return False
        return st.st_mode is not None and stat.S_ISDIR(st.st_mode)

    def _file_exists(self, path: str, folder: str) -> bool:
        try:
            self._sftp.lstat(path)
        except FileNotFoundError:
            if self._is_dir(folder):
                return False
            raise
        return True

    def _makedirs(self, folder: str) -> None:
        if not folder or folder in {".", "/"} or self._is_dir(folder):
            return
        parent = posixpath.dirname(folder.rstrip("/"))
        if parent and parent != folder:
            self._makedirs(parent)
        try:
            self._sftp.mkdir(folder)
        except OSError:
            if not self._is_dir(folder):  # created meanwhile by another worker is fine
                raise

    @contextlib.contextmanager
    def _errors(self, action: str, folder: str, name: str | None = None) -> Iterator[None]:
        """Translate what paramiko and the socket raise during ``action`` into erpbridge errors."""
        try:
            yield
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self._fail(exc, action, folder, name)

    def _fail(
        self, exc: OSError | EOFError | paramiko.SSHException, action: str, folder: str, name: str | None
    ) -> NoReturn:
        ctx = self._context(folder, name)
        where = f"{folder}/{name}" if name else folder
        label = self._t.label
        err: ErpBridgeError
        if isinstance(exc, FileNotFoundError):
            folder_there = False
            with contextlib.suppress(Exception):
                folder_there = self._is_dir(folder)
            if name is not None and folder_there:
                err = InputError(f"cannot {action} {where} on {label}: no such file", **ctx)
            else:
                err = TransportError(
                    f"cannot {action} {where} on {label}: folder {folder} does not exist", **ctx
                )
        elif isinstance(exc, PermissionError):
            err = InputError(f"cannot {action} {where} on {label}: permission denied", **ctx)
        elif isinstance(exc, TimeoutError | socket.timeout):
            err = TransportError(f"cannot {action} {where} on {label}: timed out", **ctx)
        else:
            reason = str(exc) or type(exc).__name__
            err = TransportError(f"cannot {action} {where} on {label}: {reason}", **ctx)
        raise err from exc
