"""Model objects behave as frozen keyword-only dataclasses without being generated at import."""

from __future__ import annotations

import copy
import inspect
import pickle
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from api.model import core_v1, meta_v1
from api.model.primitives import Model


def _port(**changes: object) -> core_v1.ContainerPort:
    return core_v1.ContainerPort(container_port=80, name="http").replace(**changes)


def test_objects_with_equal_fields_are_equal_and_hash_alike() -> None:
    assert _port() == _port()
    assert hash(_port()) == hash(_port())
    assert _port() != _port(name="web")
    assert len({_port(), _port(), _port(protocol="UDP")}) == 2


def test_objects_of_different_classes_are_never_equal() -> None:
    assert core_v1.ExecAction(command=None) != core_v1.SecretVolumeSource()
    assert core_v1.ExecAction(command=None) != (None,)


def test_an_object_with_a_list_field_is_unhashable_like_a_frozen_dataclass() -> None:
    with pytest.raises(TypeError, match="unhashable"):
        hash(core_v1.ExecAction(command=["true"]))


def test_repr_names_the_class_and_every_field_in_order() -> None:
    assert repr(core_v1.ExecAction(command=["true"])) == "ExecAction(command=['true'])"
    assert repr(_port()).startswith("ContainerPort(container_port=80, host_ip=None, host_port=None, ")


def test_fields_cannot_be_assigned_or_deleted() -> None:
    port = _port()
    with pytest.raises(FrozenInstanceError, match="container_port"):
        port.container_port = 81  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="name"):
        del port.name
    with pytest.raises(FrozenInstanceError):
        port.unknown = 1  # type: ignore[attr-defined]
    assert port == _port()


def test_replace_copies_with_the_given_fields_changed() -> None:
    port = _port()
    changed = port.replace(host_port=8080)
    assert (changed.container_port, changed.name, changed.host_port) == (80, "http", 8080)
    assert port.host_port is None
    assert type(changed) is core_v1.ContainerPort


def test_replace_rejects_a_name_that_is_not_a_field() -> None:
    with pytest.raises(TypeError, match="ContainerPort has no field 'port'"):
        _port(port=1)


def test_constructor_takes_keywords_only_and_requires_required_fields() -> None:
    with pytest.raises(TypeError):
        core_v1.ContainerPort(80)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="container_port"):
        core_v1.ContainerPort()  # type: ignore[call-arg]
    assert core_v1.ObjectReference() == core_v1.ObjectReference.from_dict({})


def test_objects_survive_copy_and_pickle() -> None:
    pod = core_v1.Pod(metadata=meta_v1.ObjectMeta(name="web", labels={"app": "web"}))
    assert copy.copy(pod) == pod
    assert copy.deepcopy(pod) == pod
    assert pickle.loads(pickle.dumps(pod)) == pod


def test_a_pattern_matches_fields_by_keyword() -> None:
    match _port():
        case core_v1.ContainerPort(container_port=80, name=name):
            assert name == "http"
        case _:
            pytest.fail("the port did not match")


def test_every_class_has_its_constructor_written_in_its_module() -> None:
    classes = [c for _, c in inspect.getmembers(core_v1, inspect.isclass) if issubclass(c, Model)]
    assert len(classes) > 200
    for cls in classes:
        init = vars(cls).get("__init__")
        if cls.__slots__:
            assert init is not None and Path(init.__code__.co_filename).name == "core_v1.py", cls
