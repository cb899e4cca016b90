"""Status bodies become one exception tree, by reason first (409 Conflict vs AlreadyExists, 410 Expired)."""

from __future__ import annotations

import pytest

from api.client import errors


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (404, "NotFound", errors.NotFound),
        (409, "AlreadyExists", errors.AlreadyExists),
        (409, "Conflict", errors.Conflict),
        (410, "Expired", errors.Expired),
        (410, "Gone", errors.Gone),
        (422, "Invalid", errors.Invalid),
        (401, "Unauthorized", errors.Unauthorized),
        (500, "", errors.InternalError),
        (418, "", errors.ApiError),
    ],
)
def test_status_maps_to_its_exception(code: int, reason: str, expected: type[errors.ApiError]) -> None:
    error = errors.error_from_status(errors.status_for(code, reason, "m"))
    assert type(error) is expected
    assert error.code == code


def test_expired_is_a_gone_and_already_exists_a_conflict() -> None:
    assert isinstance(errors.error_from_status(errors.status_for(410, "Expired", "m")), errors.Gone)
    assert isinstance(errors.error_from_status(errors.status_for(409, "AlreadyExists", "m")), errors.Conflict)


def test_causes_are_typed() -> None:
    cause = {"reason": "FieldValueRequired", "message": "Required value", "field": "metadata.name"}
    error = errors.error_from_status(errors.status_for(422, "Invalid", "bad", causes=[cause]))
    assert error.causes == (
        errors.Cause(reason="FieldValueRequired", message="Required value", field="metadata.name"),
    )
