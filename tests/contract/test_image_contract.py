"""Image behaviour every backend must show (CRI-NOTES: images)."""

from __future__ import annotations

import pytest

from cri import domain as d
from cri import errors
from cri.client import CRIClient

IMAGE = "docker.io/library/busybox:1.36"


async def test_pull_returns_the_image_id_that_status_and_list_report(cri: CRIClient) -> None:
    image_id = await cri.pull_image(IMAGE)
    status = (await cri.image_status(IMAGE)).image
    assert status is not None and status.id == image_id
    assert IMAGE in status.repo_tags
    assert any(image.id == image_id for image in await cri.list_images())


async def test_tag_digest_and_id_resolve_to_the_same_image(cri: CRIClient) -> None:
    image_id = await cri.pull_image(IMAGE)
    image = (await cri.image_status(IMAGE)).image
    assert image is not None and image.repo_digests
    for reference in (image_id, image.repo_digests[0], "busybox:1.36"):
        found = (await cri.image_status(reference)).image
        assert found is not None and found.id == image_id, reference


async def test_status_of_a_missing_image_is_empty_not_an_error(cri: CRIClient) -> None:
    result = await cri.image_status("docker.io/library/never-pulled:0.0")
    assert result.image is None


async def test_remove_by_tag_removes_the_image_and_is_idempotent(cri: CRIClient) -> None:
    await cri.pull_image(IMAGE)
    await cri.remove_image(IMAGE)
    assert (await cri.image_status(IMAGE)).image is None
    await cri.remove_image(IMAGE)


async def test_list_filter_by_reference(cri: CRIClient) -> None:
    image_id = await cri.pull_image(IMAGE)
    listed = await cri.list_images(d.ImageFilter(image=d.ImageSpec(image=IMAGE)))
    assert [image.id for image in listed] == [image_id]


async def test_a_malformed_reference_is_invalid_argument(cri: CRIClient) -> None:
    with pytest.raises(errors.InvalidArgument):
        await cri.pull_image("Not A Valid/Reference::")
