"""Endpoints, the config file and its precedence, and how wrong input is reported."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cri.crictl.app import run
from cri.crictl.config import ConfigError, parse_duration, resolve_settings
from tests.crictl.conftest import Crictl


async def _run(*argv: str, environ: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await run(list(argv), out=out, err=err, environ=environ)
    return code, out.getvalue(), err.getvalue()


def test_flags_beat_environment_which_beats_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text(
        "runtime-endpoint: unix:///from/file.sock\nimage-endpoint: unix:///img/file.sock\ntimeout: 7\n"
    )
    environ = {"CRI_CONFIG_FILE": str(config), "CONTAINER_RUNTIME_ENDPOINT": "unix:///from/env.sock"}

    from_env = resolve_settings(
        runtime_flag=None,
        image_flag=None,
        timeout_flag=None,
        debug_flag=False,
        config_flag=None,
        environ=environ,
    )
    assert from_env.runtime_endpoints == ("unix:///from/env.sock",)
    assert from_env.image_endpoints == ("unix:///img/file.sock",)
    assert from_env.timeout == 7.0

    from_flag = resolve_settings(
        runtime_flag="/from/flag.sock",
        image_flag=None,
        timeout_flag="1m30s",
        debug_flag=False,
        config_flag=None,
        environ=environ,
    )
    assert from_flag.runtime_endpoints == ("/from/flag.sock",)
    assert from_flag.timeout == 90.0


def test_image_endpoint_defaults_to_the_runtime_one_and_defaults_are_flagged(tmp_path: Path) -> None:
    environ = {"CRI_CONFIG_FILE": str(tmp_path / "absent.yaml")}
    settings = resolve_settings(
        runtime_flag="unix:///r.sock",
        image_flag=None,
        timeout_flag=None,
        debug_flag=False,
        config_flag=None,
        environ=environ,
    )
    assert settings.image_endpoints == ("unix:///r.sock",)
    assert settings.timeout == 2.0 and not settings.endpoints_defaulted
    defaulted = resolve_settings(
        runtime_flag=None,
        image_flag=None,
        timeout_flag=None,
        debug_flag=False,
        config_flag=None,
        environ=environ,
    )
    assert defaulted.endpoints_defaulted
    assert defaulted.runtime_endpoints[0] == "unix:///run/containerd/containerd.sock"


def test_go_durations() -> None:
    assert parse_duration("2s") == 2.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1h2m3s") == 3723.0
    assert parse_duration("10") == 10.0
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("5 minutes")


def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        resolve_settings(
            runtime_flag=None,
            image_flag=None,
            timeout_flag=None,
            debug_flag=False,
            config_flag=str(config),
            environ={},
        )


async def test_config_set_get_and_list(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "crictl.yaml"
    env = {"CRI_CONFIG_FILE": str(config)}
    assert (await _run("config", "--set", "runtime-endpoint=unix:///x.sock,timeout=9", environ=env))[0] == 0
    assert (await _run("config", "debug", "true", environ=env))[0] == 0
    assert (await _run("config", "--get", "runtime-endpoint", environ=env))[1] == "unix:///x.sock\n"
    code, out, _ = await _run("--config", str(config), "config", "--list", environ={})
    assert code == 0
    assert out.splitlines() == [
        "KEY                    VALUE",
        "runtime-endpoint       unix:///x.sock",
        "image-endpoint         ",
        "timeout                9",
        "debug                  true",
        "pull-image-on-create   false",
        "disable-pull-on-run    false",
    ]
    code, _, err = await _run("config", "--get", "colour", environ=env)
    assert code == 1 and "no configuration option named colour" in err
    code, _, err = await _run("config", "--set", "timeout=soon", environ=env)
    assert code == 1 and "timeout" in err


async def test_the_config_file_endpoint_is_used(crictl: Crictl, tmp_path: Path) -> None:
    config = tmp_path / "crictl.yaml"
    config.write_text(f"runtime-endpoint: unix://{crictl.socket}\n")
    code, out, err = await _run("version", environ={"CRI_CONFIG_FILE": str(config)})
    assert code == 0, err
    assert out.startswith("Version:  0.1.0\nRuntimeName:  tinykube-fake\n")


async def test_an_unreachable_endpoint_is_named(tmp_path: Path) -> None:
    socket = tmp_path / "nothing.sock"
    code, _, err = await _run("-r", f"unix://{socket}", "ps", environ={})
    assert code == 1
    assert f'endpoint \\"unix://{socket}\\"' in err
    assert "no such file or directory" in err
    assert "Traceback" not in err


async def test_default_endpoints_warn_that_they_are_deprecated(tmp_path: Path) -> None:
    # whether a runtime listens at a default endpoint on this machine does not matter here
    environ = {"CRI_CONFIG_FILE": str(tmp_path / "x")}
    _, _, err = await _run("--timeout", "0.2s", "version", environ=environ)
    assert "runtime connect using default endpoints: [unix:///run/containerd/containerd.sock" in err
    assert "deprecated" in err


async def test_unknown_flags_print_usage_and_exit_1(crictl: Crictl) -> None:
    result = await crictl("ps", "--bogus")
    assert result.code == 1
    assert result.err.startswith("Incorrect Usage: flag provided but not defined: -bogus")
    assert "usage: crictl ps" in result.err


async def test_missing_ids_print_usage_and_exit_1(crictl: Crictl) -> None:
    for command in ("inspect", "stop", "start", "rm", "inspectp", "stopp", "rmp", "inspecti", "rmi"):
        result = await crictl(command)
        assert result.code == 1, command
        assert "Incorrect Usage: ID cannot be empty" in result.err or "ImageID cannot be empty" in result.err
    result = await crictl("exec", "abc")
    assert result.code == 1 and "Incorrect Usage" in result.err


async def test_rpc_errors_show_code_and_message_never_a_traceback(crictl: Crictl) -> None:
    result = await crictl("inspect", "0123456789ab")
    assert result.code == 1
    assert "rpc error: code = NotFound desc =" in result.err
    assert "Traceback" not in result.err and result.out == ""


async def test_unsupported_output_formats_are_refused(crictl: Crictl) -> None:
    result = await crictl("ps", "-o", "xml")
    assert result.code == 1 and "unsupported output format" in result.err
    bad_template = await crictl("version", "-o", "go-template", "--template", "{{.missing.deeper}}")
    assert bad_template.code == 1 and "nil pointer evaluating" in bad_template.err


async def test_help_and_version(crictl: Crictl) -> None:
    assert (await crictl("--version")).out.startswith("crictl version ")
    bare = await crictl()
    assert bare.code == 0 and "inspectp" in bare.out


async def test_debug_reports_the_connection(crictl: Crictl) -> None:
    result = await crictl("-D", "version")
    assert result.code == 0
    assert f"connect using endpoint 'unix://{crictl.socket}' with '2s' timeout" in result.err
    assert "level=debug" in result.err
    assert "level=debug" not in (await crictl("version")).err
