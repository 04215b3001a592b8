"""Local folders: atomic writes on disk, archive across file systems, the root boundary."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from erpbridge.errors import ConfigError, InputError, TransportError
from erpbridge.transports import FolderSyncs, LocalTransport

from .conftest import FIXTURES, PARTNER


@pytest.fixture
def transport(tmp_path: Path) -> LocalTransport:
    import shutil

    shutil.copytree(FIXTURES, tmp_path / "mailbox")
    return LocalTransport(tmp_path / "mailbox", partner=PARTNER)


def outbound(t: LocalTransport) -> Path:
    return t.root / PARTNER / "outbound"


def test_put_renames_a_complete_fsynced_temp_file(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bytes, bool]] = []
    fsynced: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd: int) -> None:
        fsynced.append(fd)
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        # the moment before the rename: the final name is absent, the temp file is complete and synced
        seen.append((Path(src).name, Path(src).read_bytes(), Path(dst).exists()))
        assert fsynced, "the temp file must be fsynced before it is renamed"
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with transport.session() as s:
        s.put(f"{PARTNER}/outbound", "997.edi", b"whole ack")
    [(tmp, content, final_existed)] = seen
    assert tmp.startswith(".997.edi.") and tmp.endswith(".part")
    assert content == b"whole ack" and not final_existed
    assert len(fsynced) >= 2  # the file, then the folder (the rename is durable)
    assert sorted(p.name for p in outbound(transport).iterdir()) == [".gitkeep", "997.edi"]


def test_held_puts_are_fsynced_together_then_renamed_and_each_folder_synced_once(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    renamed: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append(kind)
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        # a name appears only after its file was fsynced; the held ones after all three were
        assert synced.count("file") == (3 if len(renamed) < 3 else 4), synced
        renamed.append(Path(dst).name)
        real_replace(src, dst)

    (transport.root / PARTNER / "inbound" / "po-1.edi").write_bytes(b"ISA")
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    syncs = FolderSyncs()
    out = outbound(transport)
    with transport.session() as s:
        s.hold_syncs(syncs)
        for n in range(3):
            s.put(f"{PARTNER}/outbound", f"997-{n}.edi", f"ack {n}".encode())
        s.archive(f"{PARTNER}/inbound", "po-1.edi", f"{PARTNER}/archive")
        # nothing fsynced, no name there yet (the temporary files are, hidden); the archive's
        # rename is done, its two folders owed
        assert synced == [] and syncs.owed == 3 + 2
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == []
        syncs.sync()
        assert synced == ["file"] * 3 + ["folder"] * 3 and syncs.owed == 0
        assert renamed == ["997-0.edi", "997-1.edi", "997-2.edi"]  # in the order put
        assert [(out / f"997-{n}.edi").read_bytes() for n in range(3)] == [b"ack 0", b"ack 1", b"ack 2"]
        assert [p.name for p in out.iterdir() if p.name.endswith(".part")] == []
        s.hold_syncs(None)  # at once again
        s.put(f"{PARTNER}/outbound", "997-3.edi", b"ack")
        assert synced[-2:] == ["file", "folder"] and syncs.owed == 0


def test_a_held_put_that_fails_at_sync_leaves_no_name_and_says_which_file(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    syncs = FolderSyncs()
    with transport.session() as s:
        s.hold_syncs(syncs)
        for n in range(3):
            s.put(f"{PARTNER}/outbound", f"997-{n}.edi", b"ack")

        def fsync(fd: int) -> None:
            if os.readlink(f"/proc/self/fd/{fd}").find(".997-1.edi.") >= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(TransportError, match="No space left") as caught:
            syncs.sync()
    assert caught.value.transient and caught.value.context["file"] == "997-1.edi"
    # nothing renamed (the fsyncs come first), every temporary file removed
    assert [p.name for p in outbound(transport).iterdir()] == [".gitkeep"]


def test_a_failed_write_leaves_neither_a_final_nor_a_temp_file(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with transport.session() as s, pytest.raises(TransportError, match="No space left") as caught:
        s.put(f"{PARTNER}/outbound", "997.edi", b"ack")
    assert caught.value.transient and caught.value.context["file"] == "997.edi"
    assert [p.name for p in outbound(transport).iterdir()] == [".gitkeep"]


def test_put_keeps_the_old_file_until_the_new_one_is_complete(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transport.session() as s:
        s.put(f"{PARTNER}/outbound", "846.edi", b"old inventory")

        def interrupted(src: Any, dst: Any) -> None:
            raise KeyboardInterrupt  # the daemon is stopped between write and rename

        monkeypatch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            s.put(f"{PARTNER}/outbound", "846.edi", b"new inventory")
    assert (outbound(transport) / "846.edi").read_bytes() == b"old inventory"
    assert sorted(p.name for p in outbound(transport).iterdir()) == [".gitkeep", "846.edi"]


def test_archive_across_file_systems_copies_then_removes(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound = transport.root / PARTNER / "inbound"
    (inbound / "po.edi").write_bytes(b"ISA*")
    real_rename = os.rename

    def cross_device(src: Any, dst: Any) -> None:
        if "archive" in str(dst):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", cross_device)
    with transport.session() as s:
        assert s.archive(f"{PARTNER}/inbound", "po.edi", f"{PARTNER}/archive") == "po.edi"
    assert not (inbound / "po.edi").exists()
    archive = transport.root / PARTNER / "archive"
    assert sorted(p.name for p in archive.iterdir()) == [".gitkeep", "po.edi"]
    assert (archive / "po.edi").read_bytes() == b"ISA*"


@pytest.mark.parametrize("folder", ["/etc", "../outside", f"{PARTNER}/../../outside", "a\\b"])
def test_folders_cannot_leave_the_root(transport: LocalTransport, folder: str) -> None:
    with transport.session() as s, pytest.raises(ConfigError, match="below it"):
        s.list(folder)


def test_directories_and_symlinks_are_not_listed(transport: LocalTransport, tmp_path: Path) -> None:
    inbound = transport.root / PARTNER / "inbound"
    (inbound / "subfolder").mkdir()
    (tmp_path / "elsewhere.edi").write_bytes(b"x")
    (inbound / "link.edi").symlink_to(tmp_path / "elsewhere.edi")
    (inbound / "po.edi").write_bytes(b"ISA")
    with transport.session() as s:
        assert [f.name for f in s.list(f"{PARTNER}/inbound")] == ["po.edi"]
        with pytest.raises(InputError, match="not a regular file"):
            s.archive(f"{PARTNER}/inbound", "subfolder", f"{PARTNER}/archive")


def test_unreadable_file_is_terminal(transport: LocalTransport) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    path = transport.root / PARTNER / "inbound" / "po.edi"
    path.write_bytes(b"ISA")
    path.chmod(0)
    with transport.session() as s, pytest.raises(InputError, match="permission denied"):
        s.fetch(f"{PARTNER}/inbound", "po.edi")


def test_reading_a_folder_as_a_file(transport: LocalTransport) -> None:
    with transport.session() as s, pytest.raises(InputError):
        s.fetch(PARTNER, "inbound")


def test_a_file_archived_by_another_process_meanwhile_is_done_not_an_error(
    transport: LocalTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes archiving the same file: the one that loses the race finds it gone (None)."""
    inbox, archive = f"{PARTNER}/inbound", f"{PARTNER}/archive"
    (transport.root / inbox / "po.edi").write_bytes(b"ISA")
    with transport.session() as s:
        checked = type(s)._exists

        def other_process_wins(self: Any, path: Path, folder: str, name: str) -> bool:
            found = checked(self, path, folder, name)
            (transport.root / archive).mkdir(parents=True, exist_ok=True)
            os.rename(path, transport.root / archive / "po.edi")  # between the check and the move
            return found

        monkeypatch.setattr(type(s), "_exists", other_process_wins)
        assert s.archive(inbox, "po.edi", archive) is None
    assert sorted(p.name for p in (transport.root / archive).iterdir() if p.name != ".gitkeep") == ["po.edi"]
