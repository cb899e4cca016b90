"""exec, attach and port-forward: ExecSync, or a streaming session on the runtime's URL."""

from __future__ import annotations

import argparse

from cri.crictl.arguments import usage
from cri.crictl.session import CommandError, Session, context, quote


async def exec_(session: Session, args: argparse.Namespace) -> int:
    if not args.command:
        raise usage(args, "a container ID and a command are required")
    client = await session.runtime()
    if args.sync:
        with context("execing command in container synchronously"):
            result = await client.exec_sync(args.container, list(args.command), exec_timeout=args.timeout)
        session.write_stream("stdout", result.stdout)
        session.write_stream("stderr", result.stderr)
        if result.exit_code != 0:
            session.err.write("non-zero exit code\n")
            raise CommandError("non-zero exit code", exit_code=result.exit_code, quiet=True)
        return 0
    with context("execing command in container"):
        url = await client.exec(
            args.container,
            list(args.command),
            tty=args.tty,
            stdin=args.interactive,
            stdout=True,
            stderr=not args.tty,
        )
    from cri.crictl.stream_client import StreamOptions, run_stream

    options = StreamOptions(tty=args.tty, stdin=args.interactive, transport=args.transport)
    outcome = await run_stream(session, url, options)
    if outcome.error:
        raise CommandError(f"execing command in container {args.container}: {outcome.error}", level="error")
    return 0


async def attach(session: Session, args: argparse.Namespace) -> int:
    client = await session.runtime()
    with context(f"attaching to container {quote(args.container)}"):
        url = await client.attach(
            args.container, tty=args.tty, stdin=args.stdin, stdout=True, stderr=not args.tty
        )
    from cri.crictl.stream_client import StreamOptions, run_stream

    options = StreamOptions(tty=args.tty, stdin=args.stdin, transport=args.transport, detach_keys=True)
    outcome = await run_stream(session, url, options)
    if outcome.error:
        raise CommandError(f"attaching to container: {outcome.error}")
    return 0


def parse_port_pair(text: str) -> tuple[int, int]:
    """``[LOCAL_PORT:]REMOTE_PORT`` (an empty or 0 local port means any free port)."""
    local, sep, remote = text.rpartition(":")
    try:
        remote_port = int(remote)
        local_port = int(local) if sep and local else (0 if sep else remote_port)
    except ValueError:
        raise CommandError(f"invalid port specification {quote(text)}") from None
    if not (0 < remote_port < 65536 and 0 <= local_port < 65536):
        raise CommandError(f"invalid port specification {quote(text)}: ports are 1-65535")
    return local_port, remote_port


async def port_forward(session: Session, args: argparse.Namespace) -> int:
    pairs = [parse_port_pair(text) for text in args.ports]
    client = await session.runtime()
    from cri.crictl.port_forward import forward

    async def new_url(remote: int) -> str:
        """A URL for ``remote``, or for every requested port when ``remote`` is 0 (SPDY)."""
        ports = [remote] if remote else [port for _, port in pairs]
        with context(f"port forward for pod {quote(args.pod)}"):
            return await client.port_forward(args.pod, ports)

    await forward(session, new_url, pairs, address=args.address, transport=args.transport)
    return 0
