"""What every long-running `tinykube` command shares: log setup and stopping on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, for the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
