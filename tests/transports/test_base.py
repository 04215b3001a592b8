"""The pieces every transport shares: the stability gate, names, credentials, the memory double."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

import erpbridge.transports as transports
from erpbridge.errors import ConfigError, InputError, TransportError
from erpbridge.transports import Credential, MemoryTransport, RemoteFile, StabilityGate
from erpbridge.transports.base import check_name, is_ignored, numbered_name, temp_name


def test_public_names() -> None:
    assert sorted(transports.__all__) == sorted(
        [
            "DEFAULT_IGNORE", "Credential", "FolderSyncs", "LocalTransport", "MemoryTransport", "RemoteFile",
            "Session",
            "SftpSettings", "SftpTransport", "StabilityGate", "Transport",
        ]
    )  # fmt: skip
    for name in transports.__all__:
        assert hasattr(transports, name), name


def f(name: str, size: int, mtime: float = 1.0) -> RemoteFile:
    return RemoteFile(name, size, mtime)


def test_gate_lets_a_file_through_once_it_stopped_changing() -> None:
    gate = StabilityGate(stable_after=1)
    assert gate.admit("in", [f("a", 10)]) == []
    assert gate.admit("in", [f("a", 20)]) == []  # grew
    assert gate.admit("in", [f("a", 20, mtime=2.0)]) == []  # touched
    assert gate.admit("in", [f("a", 20, mtime=2.0)]) == [f("a", 20, mtime=2.0)]
    assert gate.admit("in", [f("a", 20, mtime=2.0)]) == [f("a", 20, mtime=2.0)]  # stays through


def test_gate_forgets_files_that_disappear_and_keeps_folders_apart() -> None:
    gate = StabilityGate(stable_after=1)
    gate.admit("in", [f("a", 1)])
    gate.admit("other", [f("a", 1)])
    assert gate.admit("in", []) == []
    assert gate.admit("in", [f("a", 1)]) == []  # came back: starts over
    assert gate.admit("other", [f("a", 1)]) == [f("a", 1)]


def test_gate_off_by_default() -> None:
    assert StabilityGate().admit("in", [f("a", 1)]) == [f("a", 1)]
    with pytest.raises(ConfigError):
        StabilityGate(-1)


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        (".x", True), ("a.tmp", True), ("a.TMP", True), ("a.part", True), ("a.filepart", True),
        ("a.edi", False), ("tmp.edi", False), ("part", False), ("a.partial", False),
    ],
)  # fmt: skip
def test_ignored_names(name: str, ignored: bool) -> None:
    assert is_ignored(name) is ignored


def test_temp_names_are_ignored_and_unique() -> None:
    names = {temp_name("po.edi") for _ in range(50)}
    assert len(names) == 50 and all(is_ignored(n) and "po.edi" in n for n in names)


def test_numbered_names_keep_the_extension() -> None:
    assert [numbered_name("orders.edi", n) for n in range(3)] == [
        "orders.edi",
        "orders.1.edi",
        "orders.2.edi",
    ]
    assert numbered_name("850", 2) == "850.2"
    assert numbered_name("a.b.c", 1) == "a.b.1.c"


def test_check_name_context() -> None:
    with pytest.raises(InputError) as caught:
        check_name("../x", partner="megamart", folder="inbound")
    assert caught.value.context == {"file": "'../x'", "partner": "megamart", "folder": "inbound"}


def test_credential_shows_only_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-value"
    plain = Credential("vault:x", secret)
    assert plain.reveal() == secret
    assert secret not in repr(plain) + str(plain) + f"{plain}"
    with pytest.raises(TypeError):
        pickle.dumps(plain)
    assert copy.deepcopy({"pw": plain})["pw"] is plain

    monkeypatch.setenv("SFTP_PW", secret)
    assert Credential.from_env("SFTP_PW").reveal() == secret
    monkeypatch.delenv("SFTP_PW")
    with pytest.raises(ConfigError, match="SFTP_PW is not set"):
        Credential.from_env("SFTP_PW").reveal()

    (tmp_path / "pw").write_text(secret + "\n")
    assert Credential.from_file(tmp_path / "pw").reveal() == secret
    with pytest.raises(ConfigError, match="cannot be read"):
        Credential.from_file(tmp_path / "absent").reveal()
    with pytest.raises(ConfigError, match="is empty"):
        Credential("empty", "").reveal()


def test_credential_callable_failure_names_the_credential() -> None:
    def broken() -> str:
        raise RuntimeError("vault sealed")

    with pytest.raises(ConfigError, match="credential vault:megamart cannot be read"):
        Credential("vault:megamart", broken).reveal()


def test_memory_transport_counts_sessions_and_injects_failures() -> None:
    t = MemoryTransport(["inbound"], partner="megamart")
    t.drop("inbound", "po.edi", b"ISA")
    t.fail_next(TransportError("connection reset"))
    with pytest.raises(TransportError), t.session():
        pass
    with t.session() as s:
        t.fail_next(TransportError("connection reset"), times=2)
        for _ in range(2):
            with pytest.raises(TransportError):
                s.list("inbound")
        assert [x.name for x in s.list("inbound")] == ["po.edi"]
        s.put("inbound", "x.edi", b"1")
    assert t.sessions_opened == 2
    assert t.files("inbound") == {"po.edi": b"ISA", "x.edi": b"1"}
