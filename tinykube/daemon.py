"""What every long-running `tinykube` command shares: log setup, startup errors reported in one line,
stopping on SIGTERM/SIGINT, and a crash reported as one, with its traceback.

``run_daemon(name, load_config, run)``: ``load_config()`` reads and validates the configuration;
``run(config)`` serves until cancelled. A ``StartupError`` (raised by ``load_config``, or by ``run``
before it serves: a runtime socket that is missing, a port that is taken) is the user's to fix: one
line, exit status 2. Any other exception is a bug: logged with its traceback, exit status 1.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
USAGE_ERROR = 2
CRASHED = 1

log = logging.getLogger("tinykube")
ConfigT = TypeVar("ConfigT")


class StartupError(Exception):
    """The daemon cannot start as configured; the message says what to fix."""


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)


def run_daemon(
    name: str,
    load_config: Callable[[], ConfigT],
    run: Callable[[ConfigT], Coroutine[Any, Any, None]],
) -> int:
    """Loads the configuration, then runs until SIGTERM or SIGINT; the command's exit status."""
    try:
        config = load_config()
        asyncio.run(until_signalled(run(config)))
    except StartupError as exc:
        print(f"tinykube {name}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except Exception:
        log.exception("tinykube %s failed", name)
        return CRASHED
    return 0


async def until_cancelled() -> None:
    """What a daemon does once it serves: wait until stopped, that is until its task is cancelled."""
    await asyncio.Event().wait()


async def until_signalled(serving: Coroutine[Any, Any, None]) -> None:
    """Runs ``serving``; SIGTERM or SIGINT cancels it, so its clean-up runs, and ends this normally."""
    task = asyncio.ensure_future(serving)
    loop = asyncio.get_running_loop()
    signalled: list[int] = []

    def stop(signum: int) -> None:
        signalled.append(signum)
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        await task
    except asyncio.CancelledError:
        if not signalled:
            raise
        log.info("stopped by %s", signal.Signals(signalled[0]).name)
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
