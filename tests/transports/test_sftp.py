"""SFTP against a real OpenSSH sshd: authentication, host key pinning, connections, failures."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko
import pytest

from erpbridge.errors import AuthenticationError, ConfigError, ErpBridgeError, InputError, TransportError
from erpbridge.transports import Credential
from erpbridge.transports.sftp import SftpSettings, SftpTransport

from .conftest import PARTNER, RSA_PASSPHRASE, WRONG_PASSWORD, Area, Keys, SshServer, free_port

SECRETS = (RSA_PASSPHRASE, WRONG_PASSWORD)


def full_text(exc: BaseException) -> str:
    """Everything an exception would show anywhere: message, repr, context, the whole chain."""
    parts = [str(exc), repr(exc), repr(getattr(exc, "context", {}))]
    parts += traceback.format_exception(exc)
    return "\n".join(parts)


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture everything at DEBUG (paramiko's own loggers included); no record may hold a secret."""
    caplog.set_level(logging.DEBUG)
    # `erpbridge run` (run in-process by other tests of this worker) quiets paramiko's logger itself
    caplog.set_level(logging.DEBUG, logger="paramiko")
    yield caplog
    for record in caplog.records:
        assert_no_secrets(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            assert_no_secrets(full_text(record.exc_info[1]))


def connect_error(settings: SftpSettings) -> ErpBridgeError:
    with pytest.raises(ErpBridgeError) as caught, SftpTransport(settings).session():
        pass
    assert_no_secrets(full_text(caught.value))
    return caught.value


# -- authentication -----------------------------------------------------------------------------


def test_ed25519_key_session(sshd: SshServer, area: Area, logs: pytest.LogCaptureFixture) -> None:
    t = SftpTransport(sshd.settings())
    with t.session() as s:
        s.put(area.folder("outbound"), "997.edi", b"ack")
        assert [f.name for f in s.list(area.folder("outbound"))] == ["997.edi"]
    assert "connected to sftp://" in logs.text


def test_rsa_key_with_passphrase_from_a_callable(
    sshd: SshServer, ssh_keys: Keys, area: Area, logs: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def vault() -> str:
        calls.append(1)
        return RSA_PASSPHRASE

    passphrase = Credential("vault:megamart/sftp-key", vault)
    t = SftpTransport(sshd.settings(private_key=ssh_keys.client_rsa, passphrase=passphrase))
    for _ in range(2):
        with t.session() as s:
            assert s.list(area.folder("inbound")) == []
    assert len(calls) == 2  # read each time a session opens: rotation needs no restart
    assert RSA_PASSPHRASE not in repr(t.settings) + repr(passphrase) + str(passphrase)


def test_wrong_passphrase_names_the_credential_not_the_value(sshd: SshServer, ssh_keys: Keys) -> None:
    err = connect_error(
        sshd.settings(private_key=ssh_keys.client_rsa, passphrase=Credential("env:KEY_PASS", WRONG_PASSWORD))
    )
    assert isinstance(err, AuthenticationError)
    assert "env:KEY_PASS" in str(err) and str(ssh_keys.client_rsa) in str(err)


def test_encrypted_key_without_passphrase(sshd: SshServer, ssh_keys: Keys) -> None:
    err = connect_error(sshd.settings(private_key=ssh_keys.client_rsa))
    assert isinstance(err, AuthenticationError) and "no passphrase" in str(err)


def test_unauthorized_client_key(sshd: SshServer, ssh_keys: Keys) -> None:
    err = connect_error(sshd.settings(private_key=ssh_keys.stranger))
    assert isinstance(err, AuthenticationError)
    assert "refused our credentials" in str(err) and str(ssh_keys.stranger) in str(err)
    assert err.context["partner"] == PARTNER


def test_wrong_password(sshd: SshServer, logs: pytest.LogCaptureFixture) -> None:
    # Password login cannot succeed here (root has no password; sshd refuses root passwords), so
    # this checks the refusal and that the password goes nowhere but to the server.
    password = Credential.from_env("ERPBRIDGE_TEST_SFTP_PASSWORD")
    os.environ["ERPBRIDGE_TEST_SFTP_PASSWORD"] = WRONG_PASSWORD
    try:
        err = connect_error(sshd.settings(private_key=None, password=password))
    finally:
        del os.environ["ERPBRIDGE_TEST_SFTP_PASSWORD"]
    assert isinstance(err, AuthenticationError)
    assert "password env:ERPBRIDGE_TEST_SFTP_PASSWORD" in str(err)
    assert any(r.name.startswith("paramiko") for r in logs.records)  # the library's own DEBUG lines too


def test_key_then_password_both_refused(sshd: SshServer, ssh_keys: Keys) -> None:
    err = connect_error(
        sshd.settings(
            private_key=ssh_keys.stranger, password=Credential("file:/run/secrets/pw", WRONG_PASSWORD)
        )
    )
    assert isinstance(err, AuthenticationError)
    assert "file:/run/secrets/pw" in str(err)


# -- host keys ----------------------------------------------------------------------------------


def test_unknown_host_is_refused(sshd: SshServer, area: Area) -> None:
    known_hosts = sshd.known_hosts("kh_other_host", host="[127.0.0.2]:22")
    err = connect_error(sshd.settings(known_hosts=known_hosts))
    assert isinstance(err, AuthenticationError) and not err.transient
    assert f"[127.0.0.1]:{sshd.port}" in str(err) and str(known_hosts) in str(err)
    assert "not in known_hosts" in str(err)
    assert known_hosts.read_text().count("\n") == 1  # nothing was added


def test_empty_known_hosts_refuses_every_host(sshd: SshServer) -> None:
    known_hosts = sshd.workdir / "kh_empty"
    known_hosts.write_text("")
    err = connect_error(sshd.settings(known_hosts=known_hosts))
    assert isinstance(err, AuthenticationError)
    assert known_hosts.read_text() == ""


def test_changed_host_key_is_refused(sshd: SshServer, ssh_keys: Keys) -> None:
    known_hosts = sshd.known_hosts("kh_changed", key=ssh_keys.other_host)
    err = connect_error(sshd.settings(known_hosts=known_hosts))
    assert isinstance(err, AuthenticationError)
    assert "changed" in str(err) and str(known_hosts) in str(err) and f"[127.0.0.1]:{sshd.port}" in str(err)
    real = paramiko.PKey.from_path(ssh_keys.host)
    assert real.fingerprint in str(err)  # on-call can compare it with what the partner says


def test_pinned_key_of_another_type_is_refused(sshd: SshServer, ssh_keys: Keys) -> None:
    known_hosts = sshd.known_hosts("kh_rsa", key=ssh_keys.other_host_rsa)
    err = connect_error(sshd.settings(known_hosts=known_hosts))
    assert isinstance(err, AuthenticationError)
    assert str(known_hosts) in str(err)


def test_missing_files_are_config_errors(sshd: SshServer, tmp_path: Path) -> None:
    err = connect_error(sshd.settings(known_hosts=tmp_path / "absent_known_hosts"))
    assert isinstance(err, ConfigError) and "absent_known_hosts" in str(err)
    err = connect_error(sshd.settings(private_key=tmp_path / "absent_key"))
    assert isinstance(err, ConfigError) and "absent_key" in str(err)


def test_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="private_key or a password"):
        SftpSettings(host="h", username="u", known_hosts=tmp_path / "kh")
    with pytest.raises(ConfigError, match="port"):
        SftpSettings(
            host="h", username="u", known_hosts=tmp_path / "kh", password=Credential("p", "x"), port=0
        )
    with pytest.raises(ConfigError, match="io_timeout"):
        SftpSettings(
            host="h", username="u", known_hosts=tmp_path / "kh", password=Credential("p", "x"), io_timeout=0
        )


# -- connections and failures ------------------------------------------------------------------


def test_one_connection_per_session(sshd: SshServer, area: Area) -> None:
    t = SftpTransport(sshd.settings())
    before = sshd.connections()
    with t.session() as s:
        for i in range(5):
            s.put(area.folder("outbound"), f"{i}.edi", b"x")
            s.list(area.folder("outbound"))
            s.fetch(area.folder("outbound"), f"{i}.edi")
            s.archive(area.folder("outbound"), f"{i}.edi", area.folder("archive"))
            s.delete(area.folder("archive"), f"{i}.edi")
    assert sshd.connections() - before == 1
    with t.session() as s:
        s.list(area.folder("inbound"))
    assert sshd.connections() - before == 2


def test_connection_refused_is_transient(sshd: SshServer) -> None:
    err = connect_error(sshd.settings(port=free_port()))
    assert isinstance(err, TransportError) and err.transient


def test_silent_server_times_out(sshd: SshServer) -> None:
    with socket.socket() as silent:  # accepts TCP connections (backlog) but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        err = connect_error(sshd.settings(port=port, banner_timeout=0.5))
    assert isinstance(err, TransportError) and err.transient


def test_server_stopped_mid_session_then_back(
    make_sshd: Callable[[], SshServer], area: Area, logs: pytest.LogCaptureFixture
) -> None:
    server = make_sshd()
    t = SftpTransport(server.settings())
    inbound = area.folder("inbound")
    (area.path("inbound") / "po.edi").write_bytes(b"ISA")
    with t.session() as s:
        assert [f.name for f in s.list(inbound)] == ["po.edi"]
        server.stop()
        for call in (lambda: s.list(inbound), lambda: s.fetch(inbound, "po.edi")):
            with pytest.raises(TransportError) as caught:
                call()
            assert caught.value.transient and caught.value.context["partner"] == PARTNER
    with pytest.raises(TransportError), t.session():  # down: the next poll fails too, transiently
        pass
    server.start()  # same port, same host key
    with t.session() as s:
        assert s.fetch(inbound, "po.edi") == b"ISA"


def test_frozen_server_hits_the_io_timeout(make_sshd: Callable[[], SshServer], area: Area) -> None:
    server = make_sshd()
    t = SftpTransport(server.settings(io_timeout=0.5))
    with t.session() as s:
        s.list(area.folder("inbound"))
        frozen = server.session_pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(TransportError, match="timed out"):
                s.list(area.folder("inbound"))
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)


class PausedUpload:
    """Stops the uploading thread after its first block reached paramiko, until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paused = threading.Event()
        self.release = threading.Event()
        original = paramiko.sftp_file.SFTPFile.write

        def write(file: Any, data: Any) -> Any:
            result = original(file, data)
            if not self.paused.is_set():
                file.flush()
                self.paused.set()
                assert self.release.wait(30), "the test never released the upload"
            return result

        monkeypatch.setattr(paramiko.sftp_file.SFTPFile, "write", write)


def test_put_is_atomic_while_a_lister_watches(
    sshd: SshServer, area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = SftpTransport(sshd.settings())
    out, payload = area.folder("outbound"), os.urandom(1024 * 1024)
    pause = PausedUpload(monkeypatch)

    def upload() -> None:
        with t.session() as s:
            s.put(out, "856_000000077.edi", payload)

    with ThreadPoolExecutor(1) as pool:
        uploading = pool.submit(upload)
        try:
            assert pause.paused.wait(30)
            on_disk = os.listdir(area.path("outbound"))
            temps = [n for n in on_disk if n.startswith(".856_000000077.edi.") and n.endswith(".part")]
            assert len(temps) == 1 and "856_000000077.edi" not in on_disk  # half written, under a temp name
            with t.session() as watcher:
                assert watcher.list(out) == []  # neither the final name nor the temp name
        finally:
            pause.release.set()
        uploading.result(30)
    assert sorted(os.listdir(area.path("outbound"))) == [".gitkeep", "856_000000077.edi"]
    assert (area.path("outbound") / "856_000000077.edi").read_bytes() == payload


def test_connection_lost_during_upload_leaves_no_final_file(
    make_sshd: Callable[[], SshServer], area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_sshd()
    t = SftpTransport(server.settings())
    pause = PausedUpload(monkeypatch)

    def upload() -> None:
        with t.session() as s:
            s.put(area.folder("outbound"), "856.edi", os.urandom(1024 * 1024))

    with ThreadPoolExecutor(1) as pool:
        uploading = pool.submit(upload)
        try:
            assert pause.paused.wait(30)
            server.stop()
        finally:
            pause.release.set()
        with pytest.raises(TransportError) as caught:
            uploading.result(30)
    assert caught.value.transient
    assert "856.edi" not in os.listdir(area.path("outbound"))  # at most an ignored .856.edi.*.part


def test_put_without_posix_rename_falls_back(
    sshd: SshServer, area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(self: Any, old: str, new: str) -> None:
        raise OSError("Operation unsupported")  # what paramiko raises for SSH_FX_OP_UNSUPPORTED

    monkeypatch.setattr(paramiko.SFTPClient, "posix_rename", unsupported)
    out = area.folder("outbound")
    with SftpTransport(sshd.settings()).session() as s:
        s.put(out, "997.edi", b"first")
        s.put(out, "997.edi", b"second")  # the final name exists: remove, then rename
        assert s.fetch(out, "997.edi") == b"second"
    assert sorted(os.listdir(area.path("outbound"))) == [".gitkeep", "997.edi"]


def test_permission_denied_is_terminal(sshd: SshServer, area: Area) -> None:
    if os.geteuid() == 0:
        pytest.skip("root is never denied")
    locked = area.path("outbound")
    locked.chmod(0o500)
    try:
        with SftpTransport(sshd.settings()).session() as s, pytest.raises(InputError):
            s.put(area.folder("outbound"), "x.edi", b"x")
    finally:
        locked.chmod(0o755)


def test_importing_transports_does_not_load_paramiko() -> None:
    code = "import sys, erpbridge.transports as t; assert 'paramiko' not in sys.modules; t.SftpTransport"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_credential_name_is_what_events_record_never_the_secret(tmp_path: Path) -> None:
    settings = SftpSettings(
        host="sftp.example",
        username="nw",
        known_hosts=tmp_path / "known_hosts",
        private_key=tmp_path / "id_ed25519",
        passphrase=Credential("env:KEY_PASSPHRASE", "s3cret-passphrase"),
        password=Credential("file:/run/secrets/pw", "hunter2"),
    )
    name = SftpTransport(settings).credential_name
    assert name == f"key:{tmp_path / 'id_ed25519'}+env:KEY_PASSPHRASE+file:/run/secrets/pw"
    assert "hunter2" not in name and "s3cret" not in name
