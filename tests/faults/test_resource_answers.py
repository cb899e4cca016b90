"""Resource faults answer RESOURCE_EXHAUSTED naming what was written and where, and leave no half-file."""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

import grpc
import pytest

from cri import domain as d
from cri.errors import ResourceExhausted
from cri.servicer.guard import status_of
from shims.node.recordstore import RecordStore
from shims.oci.content import ContentStore
from shims.oci.pull import Puller
from shims.oci.service import ImageStoreConfig, OciImages
from shims.oci.store import ImageStore
from shims.runc.records import ContainerRecord, SandboxRecord

SANDBOX = SandboxRecord(
    id="a" * 64,
    config=d.PodSandboxConfig(metadata=d.PodSandboxMetadata(name="p", namespace="default", uid="u")),
    runtime_handler="",
    created_at=1,
    cgroup_parent="/tinykube/" + "a" * 64,
)


def _writes_fail_under(directory: Path, monkeypatch: pytest.MonkeyPatch, code: int = errno.ENOSPC) -> None:
    """``os.write`` to a file under ``directory`` fails as a full disk does; other writes go through."""
    real_write: Callable[[int, bytes], int] = os.write

    def write(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(directory)):
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EDQUOT, "disk quota exceeded"),
    ],
)
def test_a_full_disk_names_the_file_and_its_filesystem(code: int, words: str) -> None:
    status = status_of("CreateContainer", OSError(code, os.strerror(code), "/proc/self/gone/0.log"))
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status.message == f"CreateContainer: write /proc/self/gone/0.log: {words} (filesystem /proc)"


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.EMFILE, "too many open files"), (errno.ENFILE, "too many open files in system")],
)
def test_no_file_descriptors_left_is_resource_exhausted(code: int, words: str) -> None:
    status = status_of("PullImage", OSError(code, os.strerror(code)))
    assert (status.code, status.message) == (grpc.StatusCode.RESOURCE_EXHAUSTED, f"PullImage: {words}")


def test_no_file_descriptors_left_names_the_file_being_opened() -> None:
    error = OSError(errno.EMFILE, os.strerror(errno.EMFILE), "/run/x/config.json")
    status = status_of("CreateContainer", error)
    assert status.message == "CreateContainer: open /run/x/config.json: too many open files"


def test_other_os_errors_stay_internal() -> None:
    status = status_of("PullImage", OSError(errno.EIO, os.strerror(errno.EIO)))
    assert status.code == grpc.StatusCode.INTERNAL


def test_a_record_save_on_a_full_disk_keeps_the_previous_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordStore(tmp_path, sandbox_type=SandboxRecord, container_type=ContainerRecord)
    store.save(SANDBOX)
    _writes_fail_under(tmp_path, monkeypatch)
    with pytest.raises(ResourceExhausted) as raised:
        store.save(dataclasses.replace(SANDBOX, ips=("10.211.0.9",)))
    path = store.sandbox_dir / f"{SANDBOX.id}.json"
    assert raised.value.message.startswith(f"saving the record of {SANDBOX.id}: write {path}: no space")
    monkeypatch.undo()
    assert sorted(p.name for p in store.sandbox_dir.iterdir()) == [path.name]
    assert store.load().sandboxes == (SANDBOX,)


def test_a_blob_put_on_a_full_disk_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = ContentStore(tmp_path)
    _writes_fail_under(tmp_path, monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        content.put(b"{}")
    assert list((tmp_path / "ingest").iterdir()) == []
    assert content.digests() == set()


class _PullerOnAFullDisk:
    async def pull(self, text: str, **_: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


async def test_pull_image_on_a_full_disk_names_the_image_store(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    images = OciImages(ImageStoreConfig(root=store.root), store, cast(Puller, _PullerOnAFullDisk()))
    with pytest.raises(ResourceExhausted) as raised:
        await images.pull_image(d.ImageSpec(image="busybox:1.36"), None, None)
    assert raised.value.message.startswith(
        f"PullImage 'busybox:1.36' into the image store: write {store.root}: no space left on device"
    )
