"""Fixtures for the transport tests: a real OpenSSH sshd on 127.0.0.1, and a partner's folders.

Every pytest(-xdist) worker starts its own sshd on a free port, as the current user, with keys
generated into the worker's temporary folder; the SFTP subsystem starts in ``sftp_root`` so SFTP
paths are the same relative paths the local transport uses. Each test gets its own copy of
``sftp_fixtures/`` (``area``). Destructive tests (stopping the server) use a server of their own
(``make_sshd``). Readiness is a poll for the SSH banner with a deadline, never a fixed sleep.

With ``CI`` set to true, a missing ``/usr/sbin/sshd`` fails the SFTP tests; otherwise they are
skipped with the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from erpbridge.transports import LocalTransport, MemoryTransport
from erpbridge.transports.sftp import SftpSettings, SftpTransport
from tests.conftest import ROOT

SSHD = Path(os.environ.get("ERPBRIDGE_SSHD", "/usr/sbin/sshd"))
FIXTURES = ROOT / "sftp_fixtures"
PARTNER = "megamart"
RSA_PASSPHRASE = "rsa-Passphrase-7f3e9b1c"  # a secret the tests look for in messages and logs
WRONG_PASSWORD = "pw-Wrong-c4a8e2d6"  # likewise
READY_WITHIN = 15.0  # seconds for sshd to answer with its banner


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_sshd() -> None:
    missing = [str(p) for p in (SSHD,) if not os.access(p, os.X_OK)]
    if shutil.which("ssh-keygen") is None:
        missing.append("ssh-keygen")
    if not missing:
        return
    reason = (
        f"OpenSSH server not available ({', '.join(missing)} missing): "
        "apt-get install -y openssh-server (scripts/test installs it)"
    )
    if _in_ci():
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def _run(*args: str | os.PathLike[str]) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def keygen(path: Path, kind: str, passphrase: str = "") -> Path:
    extra = ["-b", "2048"] if kind == "rsa" else []
    if passphrase:
        extra += ["-a", "4"]  # fewer KDF rounds than the default 16: the tests decrypt it often
    _run("ssh-keygen", "-q", "-t", kind, *extra, "-N", passphrase, "-C", "", "-f", path)
    return path


def public_key(path: Path) -> str:
    """``type base64`` of a key's public half."""
    kind, b64 = Path(f"{path}.pub").read_text().split()[:2]
    return f"{kind} {b64}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _sshd_version() -> tuple[int, int]:
    done = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, timeout=10)
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", done.stderr + done.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        rest = raw[raw.rfind(")") + 2 :].split()
        table[int(entry)] = (int(rest[1]), rest[0])
    return table


def descendants(pid: int) -> list[int]:
    table = _process_table()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (pp, _) in table.items() if pp == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _die_with_parent() -> None:
    """In the child before exec: have Linux kill sshd if the pytest worker dies without teardown."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return state[state.rfind(")") + 2] in "ZX"


@dataclass
class Keys:
    folder: Path
    host: Path  # the server's ed25519 host key
    client: Path  # ed25519, no passphrase, authorized
    client_rsa: Path  # RSA with RSA_PASSPHRASE, authorized
    stranger: Path  # ed25519, not authorized
    other_host: Path  # an ed25519 host key the server does not have
    other_host_rsa: Path  # an RSA host key the server does not have

    @classmethod
    def generate(cls, folder: Path) -> Keys:
        keys = cls(
            folder=folder,
            host=keygen(folder / "host_ed25519", "ed25519"),
            client=keygen(folder / "client_ed25519", "ed25519"),
            client_rsa=keygen(folder / "client_rsa", "rsa", RSA_PASSPHRASE),
            stranger=keygen(folder / "stranger_ed25519", "ed25519"),
            other_host=keygen(folder / "other_host_ed25519", "ed25519"),
            other_host_rsa=keygen(folder / "other_host_rsa", "rsa"),
        )
        (folder / "authorized_keys").write_text(f"{public_key(keys.client)}\n{public_key(keys.client_rsa)}\n")
        return keys


@dataclass
class SshServer:
    """One OpenSSH sshd on 127.0.0.1, serving SFTP from ``sftp_root``; restartable on the same port."""

    workdir: Path
    keys: Keys
    sftp_root: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / "sshd.log"

    def start(self) -> None:
        attempts = 1 if self.port else 5  # a chosen port may be taken by then: pick another
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_port()
            if self._start_once():
                return
        raise RuntimeError(f"sshd did not start:\n{self.log_text()[-3000:]}")

    def _start_once(self) -> bool:
        config = self.workdir / "sshd_config"
        lines = [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.keys.host}",
            f"AuthorizedKeysFile {self.keys.folder / 'authorized_keys'}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AllowTcpForwarding no",
            "X11Forwarding no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "MaxStartups 100",
            f"Subsystem sftp internal-sftp -d {self.sftp_root}",
        ]
        if _sshd_version() >= (9, 8):
            lines.append("PerSourcePenalties no")  # the tests fail logins on purpose
        config.write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(SSHD), "-f", str(config), "-D", "-e"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self._answers():
                return True
            try:
                self.proc.wait(timeout=0.05)  # doubles as the pause between probes
            except subprocess.TimeoutExpired:
                continue
            if "Address already in use" in self.log_text():
                return False
            raise RuntimeError(f"sshd exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
        self.stop()
        raise RuntimeError(f"sshd gave no banner within {READY_WITHIN}s:\n{self.log_text()[-3000:]}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    def session_pids(self) -> list[int]:
        """The per-connection processes sshd has forked so far."""
        return descendants(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        """Kill sshd and every connection it serves (like a crashed or rebooted server)."""
        if self.proc is None:
            return
        victims = [self.proc.pid, *descendants(self.proc.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not all(_gone(p) for p in victims):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd processes {victims} survived SIGKILL")
            time.sleep(0.01)  # polling for the kernel to finish the kill, not synchronising with sshd
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connections(self) -> int:
        """TCP connections sshd accepted so far (one "Connection from" line each, logged pre-banner)."""
        return self.log_text().count("Connection from 127.0.0.1")

    def known_hosts(self, name: str, *, key: Path | None = None, host: str | None = None) -> Path:
        """A known_hosts file pinning ``key`` (default: the real host key) for this server."""
        path = self.workdir / name
        entry = host or f"[127.0.0.1]:{self.port}"
        path.write_text(f"{entry} {public_key(key or self.keys.host)}\n")
        return path

    def settings(self, **overrides: Any) -> SftpSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": getpass.getuser(),
            "known_hosts": self.known_hosts("known_hosts"),
            "private_key": self.keys.client,
            "partner": PARTNER,
            "connect_timeout": 5,
            "banner_timeout": 5,
            "auth_timeout": 10,
            "channel_timeout": 5,
            "io_timeout": 10,
        }
        values.update(overrides)
        return SftpSettings(**values)


@pytest.fixture(scope="session")
def ssh_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    require_sshd()
    return Keys.generate(tmp_path_factory.mktemp("ssh-keys"))


@pytest.fixture(scope="session")
def sftp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sftp-root")


@pytest.fixture(scope="session")
def sshd(ssh_keys: Keys, sftp_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    server = SshServer(tmp_path_factory.mktemp("sshd"), ssh_keys, sftp_root)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_sshd(ssh_keys: Keys, sftp_root: Path, tmp_path: Path) -> Iterator[Callable[[], SshServer]]:
    """Servers of the test's own, for tests that stop or freeze them."""
    servers: list[SshServer] = []

    def make() -> SshServer:
        server = SshServer(tmp_path / f"sshd{len(servers)}", ssh_keys, sftp_root)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@dataclass
class Area:
    """A test's own copy of sftp_fixtures/: ``disk`` on the file system, ``prefix`` as SFTP sees it."""

    disk: Path
    prefix: str

    def folder(self, role: str) -> str:
        return f"{self.prefix}/{PARTNER}/{role}"

    def path(self, role: str) -> Path:
        return self.disk / PARTNER / role


@pytest.fixture
def area(sftp_root: Path, request: pytest.FixtureRequest) -> Area:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    disk = sftp_root / name
    n = 0
    while disk.exists():
        n += 1
        disk = sftp_root / f"{name}.{n}"
    shutil.copytree(FIXTURES, disk)
    return Area(disk, disk.name)


@dataclass
class Rig:
    """One transport over one partner area, and the partner's side of it (writing files directly)."""

    kind: str
    transport: LocalTransport | SftpTransport | MemoryTransport
    area: Area

    def folder(self, role: str) -> str:
        if isinstance(self.transport, MemoryTransport):
            return role
        if isinstance(self.transport, LocalTransport):
            return f"{PARTNER}/{role}"
        return self.area.folder(role)

    def drop(self, role: str, name: str, data: bytes) -> None:
        """The partner writes a file (straight to its final name, not atomically)."""
        if isinstance(self.transport, MemoryTransport):
            self.transport.drop(role, name, data)
        else:
            (self.area.path(role) / name).write_bytes(data)

    def append(self, role: str, name: str, data: bytes) -> None:
        if isinstance(self.transport, MemoryTransport):
            self.transport.drop(role, name, self.transport.files(role)[name] + data)
        else:
            with open(self.area.path(role) / name, "ab") as fh:
                fh.write(data)

    def contents(self, role: str) -> dict[str, bytes]:
        """Everything in a folder, hidden and temporary names included."""
        if isinstance(self.transport, MemoryTransport):
            return self.transport.files(role)
        folder = self.area.path(role)
        if not folder.is_dir():
            return {}
        return {
            p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != ".gitkeep"
        }


def make_rig(kind: str, area: Area, request: pytest.FixtureRequest, **options: Any) -> Rig:
    if kind == "local":
        return Rig(kind, LocalTransport(area.disk, partner=PARTNER, **options), area)
    if kind == "memory":
        return Rig(kind, MemoryTransport(["inbound", "outbound"], partner=PARTNER, **options), area)
    server: SshServer = request.getfixturevalue("sshd")
    return Rig(kind, SftpTransport(server.settings(**options)), area)


@pytest.fixture(params=["local", "sftp", "memory"])
def rig_factory(request: pytest.FixtureRequest, area: Area) -> Callable[..., Rig]:
    """Build a :class:`Rig` of each kind, with transport options such as ``stable_after``."""

    def factory(**options: Any) -> Rig:
        return make_rig(request.param, area, request, **options)

    return factory


@pytest.fixture
def rig(rig_factory: Callable[..., Rig]) -> Rig:
    return rig_factory()
