"""config: get, set and list the settings in crictl's config file."""

from __future__ import annotations

import argparse

from cri.crictl.arguments import usage
from cri.crictl.config import KEYS, ConfigError, FileConfig, read_config, with_setting, write_config
from cri.crictl.session import CommandError, Session
from cri.crictl.tables import Table


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


async def config(session: Session, args: argparse.Namespace) -> int:
    path = session.settings.config_file
    try:
        current = read_config(path)
        if args.get is not None:
            if args.get not in KEYS:
                raise ConfigError(f"no configuration option named {args.get}")
            session.out.write(_text(current.as_yaml_mapping()[args.get]) + "\n")
            return 0
        if args.set:
            write_config(_apply_settings(current, args.set), path)
            return 0
        if args.list:
            session.out.write(_listing(current))
            return 0
        if not args.args:
            raise usage(args, "a key and a value, --get, --set or --list is required")
        if len(args.args) != 2:
            raise usage(args, "expected exactly one KEY and one VALUE")
        write_config(with_setting(current, args.args[0], args.args[1]), path)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"writing config file {path}: {exc.strerror or exc}") from None
    return 0


def _apply_settings(current: FileConfig, settings: list[str]) -> FileConfig:
    for setting in settings:
        for option in setting.split(","):
            key, sep, value = option.partition("=")
            if not sep or "=" in value:
                raise ConfigError(f"incorrectly specified option: {setting}")
            current = with_setting(current, key, value)
    return current


def _listing(current: FileConfig) -> str:
    table = Table()
    table.add_row(["KEY", "VALUE"])
    for key, value in current.as_yaml_mapping().items():
        table.add_row([key, _text(value)])
    return table.render()
