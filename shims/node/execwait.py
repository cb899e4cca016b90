"""``python -I -S shims/node/execwait.py PID_FILE -- RUNC_EXEC_ARGV...``: run ``runc exec --detach``
and exit with the exec'd process's status once that process exits.

Foreground ``runc exec`` copies the output through its own pipes and returns only when every holder
of them is gone, so a command that leaves a child in the background (``sh -c 'daemon & echo ok'``)
would hold ExecSync until that child exits. Here the process writes to our caller's pipes directly
and, as a child subreaper, we reap it ourselves when runc has detached (what conmon --exec does).

It runs once per ExecSync (every exec probe), so it imports nothing beyond ``os``, ``sys`` and
``ctypes``: started isolated (``-I -S``) it costs a fifth of the CPU of ``-m`` with ``subprocess``.
"""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36
SIGTERM, SIG_DFL = 15, 0


def command(pid_file: str, runc_argv: list[str]) -> list[str]:
    """The argv that runs ``runc_argv`` under execwait, in an isolated interpreter."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), pid_file, "--", *runc_argv]


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the killing signal."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _become_subreaper(libc: ctypes.CDLL) -> None:
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _release_stdio() -> None:
    """Our copies of the output pipes must not keep them open once the process is gone."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)


def _wait_for(pid: int) -> int:
    """Reap orphans handed to us until ``pid`` exits; its exit code."""
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid:
            return exit_code(status)


def _run(argv: list[str]) -> int:
    child = os.posix_spawnp(argv[0], argv, dict(os.environ))
    return exit_code(os.waitpid(child, 0)[1])


def main(argv: list[str]) -> int:
    pid_file, separator, *runc_argv = argv
    if separator != "--" or not runc_argv:
        print("usage: execwait PID_FILE -- RUNC_EXEC_ARGV...", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    _become_subreaper(libc)
    detached = _run(runc_argv)
    if detached != 0:
        return detached
    _release_stdio()
    libc.signal(SIGTERM, SIG_DFL)
    with open(pid_file) as pid:
        return _wait_for(int(pid.read().strip()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
