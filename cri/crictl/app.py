"""Entry point: parse crictl's command line, resolve settings, run the subcommand's handler."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from cri.buildinfo import project_version
from cri.crictl import cli
from cri.crictl.config import ConfigError, resolve_settings
from cri.crictl.session import CommandError, Logger, Session, rpc_text

Handler = Callable[[Session, argparse.Namespace], Awaitable[int | None]]


def main(argv: list[str], *, host_commands: tuple[str, ...] = ()) -> int:
    try:
        return asyncio.run(run(argv, host_commands=host_commands))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `crictl ps | head`: the reader left, as SIGPIPE ends a Go program
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


async def run(
    argv: list[str],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
    environ: dict[str, str] | None = None,
    now_ns: Callable[[], int] = time.time_ns,
    host_commands: tuple[str, ...] = (),
) -> int:
    """Run one crictl command line; returns the exit status (streams default to the process's)."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args, parser = cli.parse(argv)
    except cli.UsageError as exc:
        err.write(f"Incorrect Usage: {exc.message}\n\n{exc.help_text}\n")
        return 1
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    if args.global_version:
        out.write(f"crictl version {project_version()}\n")
        return 0
    if args.command is None:
        out.write(parser.format_help())
        return 0
    try:
        settings = resolve_settings(
            runtime_flag=args.runtime_endpoint,
            image_flag=args.image_endpoint,
            timeout_flag=args.global_timeout,
            debug_flag=args.global_debug,
            config_flag=args.global_config,
            environ=dict(os.environ if environ is None else environ),
        )
    except ConfigError as exc:
        Logger(err=err, now_ns=now_ns).log("fatal", str(exc))
        return 1
    session = Session(
        settings=settings,
        out=out,
        err=err,
        stdin=stdin or sys.stdin,
        now_ns=now_ns,
        host_commands=host_commands,
    )
    return await _dispatch(session, args)


async def _dispatch(session: Session, args: argparse.Namespace) -> int:
    from cri.errors import CRIError

    module_name, _, function = str(args.handler).partition(":")
    module = importlib.import_module(f"cri.crictl.{module_name}")
    handler: Handler = getattr(module, function)
    try:
        status = await handler(session, args)
    except cli.UsageError as exc:
        session.err.write(f"Incorrect Usage: {exc.message}\n\n{exc.help_text}\n")
        return 1
    except CommandError as exc:
        if not exc.quiet:
            session.log(exc.level, exc.message)
        return exc.exit_code
    except CRIError as exc:
        session.log("fatal", rpc_text(exc))
        return 1
    finally:
        await session.close()
    return status or 0
