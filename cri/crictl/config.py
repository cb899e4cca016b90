"""crictl's settings: flags over environment over the config file (``/etc/crictl.yaml``).

The config file has crictl's keys: ``runtime-endpoint``, ``image-endpoint``, ``timeout`` (seconds),
``debug``, ``pull-image-on-create`` and ``disable-pull-on-run``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_FILE = Path("/etc/crictl.yaml")
DEFAULT_TIMEOUT = 2.0
DEFAULT_ENDPOINTS = (
    "unix:///run/containerd/containerd.sock",
    "unix:///run/crio/crio.sock",
    "unix:///var/run/cri-dockerd.sock",
)
ENV_RUNTIME_ENDPOINT = "CONTAINER_RUNTIME_ENDPOINT"
ENV_IMAGE_ENDPOINT = "IMAGE_SERVICE_ENDPOINT"
ENV_CONFIG_FILE = "CRI_CONFIG_FILE"
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(Exception):
    """A config file or setting crictl would refuse, with the reason."""


@dataclass(frozen=True, kw_only=True)
class FileConfig:
    """The config file's contents, attribute names are the YAML keys with ``_`` for ``-``."""

    runtime_endpoint: str = ""
    image_endpoint: str = ""
    timeout: int = 0
    debug: bool = False
    pull_image_on_create: bool = False
    disable_pull_on_run: bool = False

    def as_yaml_mapping(self) -> dict[str, Any]:
        return {f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}


KEYS = tuple(f.name.replace("_", "-") for f in fields(FileConfig))


def config_file_path(flag_value: str | None, environ: dict[str, str]) -> Path:
    if flag_value:
        return Path(flag_value)
    if environ.get(ENV_CONFIG_FILE):
        return Path(environ[ENV_CONFIG_FILE])
    return DEFAULT_CONFIG_FILE


def read_config(path: Path) -> FileConfig:
    """The file's settings; a missing file means defaults."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return FileConfig()
    except OSError as exc:
        raise ConfigError(f"load config file: {exc}") from None
    import yaml

    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"load config file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"load config file {path}: expected a mapping of settings")
    config = FileConfig()
    for key, value in raw.items():
        if key in KEYS:
            config = with_setting(config, str(key), "" if value is None else str(value))
    return config


def with_setting(config: FileConfig, key: str, value: str) -> FileConfig:
    """``config`` with ``key`` set from its text form, as ``crictl config --set key=value``."""
    if key not in KEYS:
        raise ConfigError(f"no configuration option named {key}")
    name = key.replace("-", "_")
    current = getattr(config, name)
    parsed: Any = value
    if isinstance(current, bool):
        parsed = _parse_bool(key, value)
    elif isinstance(current, int):
        try:
            parsed = int(value)
        except ValueError:
            raise ConfigError(f"parse {key} value {value!r}: not an integer") from None
    return replace(config, **{name: parsed})


def _parse_bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false", ""):
        return False
    raise ConfigError(f"parse {key} value {value!r}: not a boolean")


def write_config(config: FileConfig, path: Path) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config.as_yaml_mapping(), sort_keys=False, default_flow_style=False)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_duration(text: str) -> float:
    """A Go duration (``2s``, ``1m30s``, ``500ms``) or plain seconds, in seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What one crictl run uses, after flags, environment and config file are combined."""

    runtime_endpoints: tuple[str, ...]
    image_endpoints: tuple[str, ...]
    endpoints_defaulted: bool
    timeout: float
    debug: bool
    pull_image_on_create: bool
    disable_pull_on_run: bool
    config_file: Path


def resolve_settings(
    *,
    runtime_flag: str | None,
    image_flag: str | None,
    timeout_flag: str | None,
    debug_flag: bool,
    config_flag: str | None,
    environ: dict[str, str],
) -> Settings:
    """crictl's precedence: flag, then environment, then config file, then the defaults."""
    path = config_file_path(config_flag, environ)
    config = read_config(path)
    runtime = runtime_flag or environ.get(ENV_RUNTIME_ENDPOINT) or config.runtime_endpoint
    image = image_flag or environ.get(ENV_IMAGE_ENDPOINT) or config.image_endpoint
    runtimes = (runtime,) if runtime else DEFAULT_ENDPOINTS
    images = (image,) if image else runtimes
    if timeout_flag is not None:
        try:
            timeout = parse_duration(timeout_flag)
        except ValueError as exc:
            raise ConfigError(f'invalid value "{timeout_flag}" for flag -timeout: {exc}') from None
    else:
        timeout = float(config.timeout) if config.timeout > 0 else DEFAULT_TIMEOUT
    return Settings(
        runtime_endpoints=runtimes,
        image_endpoints=images,
        endpoints_defaulted=not runtime,
        timeout=timeout,
        debug=debug_flag or config.debug,
        pull_image_on_create=config.pull_image_on_create,
        disable_pull_on_run=config.disable_pull_on_run,
        config_file=path,
    )
