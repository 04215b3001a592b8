"""The rules every transport keeps, run against local folders, a real sshd, and the memory double."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from erpbridge.errors import InputError, TransportError
from erpbridge.transports import RemoteFile, Session

from .conftest import Rig

PO = b"ISA*00*          *00*          *ZZ*MEGAMART       *ZZ*NWOUTFITTERS   *261120*0930*U*00401*000000501*0*P*>~"


def names(files: list[RemoteFile]) -> list[str]:
    return [f.name for f in files]


def test_put_list_fetch(rig: Rig) -> None:
    out = rig.folder("outbound")
    with rig.transport.session() as s:
        assert s.list(out) == []
        s.put(out, "997_000000042.edi", b"ack one")
        s.put(out, "855_000000043.edi", PO)
        listed = s.list(out)
        assert names(listed) == ["855_000000043.edi", "997_000000042.edi"]  # sorted by name
        assert [f.size for f in listed] == [len(PO), len(b"ack one")]
        assert all(f.mtime > 0 for f in listed)
        assert s.fetch(out, "855_000000043.edi") == PO
    assert rig.contents("outbound") == {"855_000000043.edi": PO, "997_000000042.edi": b"ack one"}


def test_put_replaces_an_existing_file_and_leaves_no_temp_file(rig: Rig) -> None:
    out = rig.folder("outbound")
    with rig.transport.session() as s:
        s.put(out, "997.edi", b"first version, longer")
        s.put(out, "997.edi", b"second")
        assert s.fetch(out, "997.edi") == b"second"
    assert rig.contents("outbound") == {"997.edi": b"second"}


def test_bytes_round_trip_unchanged(rig: Rig) -> None:
    payload = bytes(range(256)) * 300 + b"\r\n\x00~\x1d"
    out = rig.folder("outbound")
    with rig.transport.session() as s:
        s.put(out, "binary.dat", payload)
        assert s.fetch(out, "binary.dat") == payload
        s.put(out, "empty.edi", b"")
        assert s.fetch(out, "empty.edi") == b""


def test_temporary_and_hidden_names_are_never_listed(rig: Rig) -> None:
    for name in (".hidden.edi", "po.edi.tmp", "po.edi.part", "PO.EDI.PART", "po.edi.filepart", "po.edi"):
        rig.drop("inbound", name, PO)
    with rig.transport.session() as s:
        assert names(s.list(rig.folder("inbound"))) == ["po.edi"]


def test_a_file_still_being_written_is_held_back_until_two_listings_agree(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(stable_after=1)
    inbound = rig.folder("inbound")
    rig.drop("inbound", "done.edi", PO)
    with rig.transport.session() as s:
        assert s.list(inbound) == []  # first sighting: nothing is known to be settled yet
        rig.drop("inbound", "growing.edi", PO[:40])  # the partner's tool is still writing this
        assert names(s.list(inbound)) == ["done.edi"]
        rig.append("inbound", "growing.edi", PO[40:80])
        assert names(s.list(inbound)) == ["done.edi"]  # it grew since the last listing
    with rig.transport.session() as s:  # the gate remembers across sessions (polls)
        assert names(s.list(inbound)) == ["done.edi", "growing.edi"]  # unchanged since the last one
        assert s.fetch(inbound, "growing.edi") == PO[:80]


def test_stable_after_two_needs_three_identical_listings(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(stable_after=2)
    rig.drop("inbound", "po.edi", PO)
    with rig.transport.session() as s:
        seen = [names(s.list(rig.folder("inbound"))) for _ in range(3)]
    assert seen == [[], [], ["po.edi"]]


def test_archive_moves_the_file_and_never_overwrites(rig: Rig) -> None:
    inbound, archive = rig.folder("inbound"), rig.folder("archive/2026-11")  # created on first use
    with rig.transport.session() as s:
        for content in (b"first", b"second", b"third"):
            rig.drop("inbound", "orders.edi", content)
            s.archive(inbound, "orders.edi", archive)
        assert s.list(inbound) == []
        assert names(s.list(archive)) == ["orders.1.edi", "orders.2.edi", "orders.edi"]
    assert rig.contents("archive/2026-11") == {
        "orders.edi": b"first",
        "orders.1.edi": b"second",
        "orders.2.edi": b"third",
    }


def test_archive_returns_the_name_and_is_idempotent(rig: Rig) -> None:
    inbound, archive = rig.folder("inbound"), rig.folder("archive")
    rig.drop("inbound", "850", PO)
    with rig.transport.session() as s:
        assert s.archive(inbound, "850", archive) == "850"
        assert s.archive(inbound, "850", archive) is None  # already gone: a retry after a crash
        rig.drop("inbound", "850", PO)
        assert s.archive(inbound, "850", archive) == "850.1"


def test_delete_is_idempotent(rig: Rig) -> None:
    inbound = rig.folder("inbound")
    rig.drop("inbound", "po.edi", PO)
    with rig.transport.session() as s:
        assert s.delete(inbound, "po.edi") is True
        assert s.delete(inbound, "po.edi") is False
        assert s.list(inbound) == []


def test_missing_file_is_an_input_error(rig: Rig) -> None:
    with rig.transport.session() as s, pytest.raises(InputError) as caught:
        s.fetch(rig.folder("inbound"), "nope.edi")
    assert caught.value.context["file"] == "nope.edi"
    assert caught.value.context["partner"] == "megamart"
    assert not caught.value.transient


@pytest.mark.parametrize("action", ["list", "fetch", "put", "delete", "archive"])
def test_missing_folder_is_a_transport_error(rig: Rig, action: str) -> None:
    gone = rig.folder("no-such-folder")
    with rig.transport.session() as s, pytest.raises(TransportError) as caught:
        if action == "list":
            s.list(gone)
        elif action == "put":
            s.put(gone, "x.edi", b"x")
        elif action == "archive":
            s.archive(gone, "x.edi", rig.folder("archive"))
        else:
            getattr(s, action)(gone, "x.edi")
    assert caught.value.transient
    assert "no-such-folder" in str(caught.value)
    assert caught.value.context["partner"] == "megamart"


@pytest.mark.parametrize("name", ["", ".", "..", "../etc/passwd", "a/b", "a\\b", "nul\x00.edi"])
def test_names_cannot_leave_their_folder(rig: Rig, name: str) -> None:
    inbound = rig.folder("inbound")
    with rig.transport.session() as s:
        for call in (
            lambda: s.fetch(inbound, name),
            lambda: s.put(inbound, name, b"x"),
            lambda: s.delete(inbound, name),
            lambda: s.archive(inbound, name, rig.folder("archive")),
        ):
            with pytest.raises(InputError, match="not a plain file name"):
                call()
    assert rig.contents("inbound") == {}


def test_concurrent_lister_never_sees_a_partial_file(rig: Rig) -> None:
    """Upload big files in one session while another session lists and fetches them."""
    out = rig.folder("outbound")
    payload = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB
    count = 4

    def upload() -> None:
        with rig.transport.session() as s:
            for i in range(count):
                s.put(out, f"856_{i}.edi", payload)

    with rig.transport.session() as reader, ThreadPoolExecutor(1) as pool:
        uploading = pool.submit(upload)
        while not uploading.done():
            for f in reader.list(out):
                assert f.size == len(payload), f
                assert reader.fetch(out, f.name) == payload
        uploading.result()  # re-raises what the uploader raised
        assert names(reader.list(out)) == [f"856_{i}.edi" for i in range(count)]
    assert sorted(rig.contents("outbound")) == [f"856_{i}.edi" for i in range(count)]


def test_sessions_satisfy_the_protocol(rig: Rig) -> None:
    def use(session: Session) -> list[RemoteFile]:
        return session.list(rig.folder("inbound"))

    with rig.transport.session() as s:
        assert use(s) == []
    assert "megamart" in repr(rig.transport) or rig.kind == "memory"
    assert rig.transport.label
