"""crictl's command line: global flags, subcommands, their flags, short flags and aliases.

Only argparse here: each subcommand names its handler as ``module:function`` and that module is
imported when the subcommand runs.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

PROG = "crictl"
TRANSPORTS = ("spdy", "websocket")


class UsageError(Exception):
    """Wrong arguments: crictl prints ``Incorrect Usage``, the command's help, and exits 1."""

    def __init__(self, message: str, help_text: str) -> None:
        super().__init__(message)
        self.message = message
        self.help_text = help_text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_help())


def _handler(parser: argparse.ArgumentParser, target: str) -> None:
    parser.set_defaults(handler=target, command_parser=parser)


def _output(parser: argparse.ArgumentParser, default: str, choices: str) -> None:
    parser.add_argument("-o", "--output", default=default, help=f"Output format, One of: {choices}")
    parser.add_argument(
        "--template", default="", help="The template string is only used when output is go-template"
    )


def _pull_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--creds", default="", help="Use `USERNAME[:PASSWORD]` for accessing the registry")
    parser.add_argument("--auth", default="", help="Use `AUTH_STRING` for accessing the registry")
    parser.add_argument("-u", "--username", default="", help="Use `USERNAME` for accessing the registry")
    parser.add_argument("--pull-timeout", default="0s", help="Maximum time to be used for pulling the image")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", default="", help="Filter by container id")
    parser.add_argument("--name", default="", help="filter by container name regular expression pattern")
    parser.add_argument("-p", "--pod", default="", help="Filter by pod id")
    parser.add_argument("--image", default="", help="Filter by container image")
    parser.add_argument("-s", "--state", default="", help="Filter by container state")
    parser.add_argument("--label", action="append", default=[], help="Filter by key=value label")
    parser.add_argument("-n", "--last", type=int, default=0, help="Show last n recently created containers")
    parser.add_argument(
        "-l", "--latest", action="store_true", help="Show the most recently created container"
    )
    parser.add_argument("--namespace", default="", help="Filter by pod namespace regular expression pattern")


def _containers(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("create", help="Create a new container")
    p.add_argument("pod")
    p.add_argument("container_config")
    p.add_argument("pod_config")
    p.add_argument("--no-pull", action="store_true", help="Do not pull the image on container creation")
    p.add_argument("--with-pull", action="store_true", help="Pull the image on container creation")
    p.add_argument(
        "-T", "--cancel-timeout", default="0s", help="Seconds to wait for a container create request"
    )
    _pull_flags(p)
    _handler(p, "containers:create")

    p = sub.add_parser("start", help="Start one or more created containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    _handler(p, "containers:start")

    p = sub.add_parser("stop", help="Stop one or more running containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument("-t", "--timeout", type=int, default=0, help="Seconds to wait to kill the container")
    _handler(p, "containers:stop")

    p = sub.add_parser("rm", help="Remove one or more containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument("-f", "--force", action="store_true", help="Force removal of the container")
    p.add_argument("-a", "--all", action="store_true", help="Remove all containers")
    p.add_argument(
        "--keep-logs", action="store_true", help="Preserve the container log file and its rotations"
    )
    _handler(p, "containers:rm")

    p = sub.add_parser("ps", help="List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers")
    _filters(p)
    p.add_argument("--no-trunc", action="store_true", help="Show output without truncating the ID")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-v", "--verbose", action="store_true", help="Show verbose information for containers")
    p.add_argument("-r", "--resolve-image-path", action="store_true", help="Show the image path")
    _output(p, "table", "json, yaml, table, go-template")
    _handler(p, "containers:ps")

    p = sub.add_parser("inspect", help="Display the status of one or more containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    _output(p, "json", "json, yaml, go-template or table")
    p.add_argument("-q", "--quiet", action="store_true", help="Do not show verbose information")
    _handler(p, "containers:inspect")

    p = sub.add_parser("update", help="Update one or more running containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument("--cpu-period", type=int, default=0, help="CPU CFS period")
    p.add_argument("--cpu-quota", type=int, default=0, help="CPU CFS quota")
    p.add_argument(
        "--cpu-share", type=int, default=0, help="CPU shares (relative weight vs. other containers)"
    )
    p.add_argument("--cpuset-cpus", default="", help="CPU(s) to use")
    p.add_argument("--cpuset-mems", default="", help="Memory node(s) to use")
    p.add_argument("--memory", default="", help="Memory limit (e.g. 512m, 1g)")
    _handler(p, "containers:update")

    p = sub.add_parser("run", help="Run a new container inside a sandbox")
    p.add_argument("container_config")
    p.add_argument("pod_config")
    p.add_argument("-r", "--runtime", default="", help="Runtime handler to use")
    p.add_argument("--no-pull", action="store_true", help="Do not pull the image")
    p.add_argument("--with-pull", action="store_true", help="Pull the image")
    p.add_argument(
        "-T", "--cancel-timeout", default="0s", help="Seconds to wait for a container create request"
    )
    _pull_flags(p)
    _handler(p, "containers:run")

    p = sub.add_parser("checkpoint", help="Checkpoint one or more running containers")
    p.add_argument("ids", nargs="*", metavar="CONTAINER-ID")
    p.add_argument("-e", "--export", default="", help="Specify the name of the tar archive")
    _handler(p, "containers:checkpoint")


def _pods(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("runp", help="Run a new pod")
    p.add_argument("pod_config")
    p.add_argument("-r", "--runtime", default="", help="Runtime handler to use")
    p.add_argument(
        "-T", "--cancel-timeout", default="0s", help="Seconds to wait for a run pod sandbox request"
    )
    _handler(p, "pods:runp")

    for name, verb, target in (("stopp", "Stop", "pods:stopp"), ("rmp", "Remove", "pods:rmp")):
        p = sub.add_parser(name, help=f"{verb} one or more pods")
        p.add_argument("ids", nargs="*", metavar="POD-ID")
        if name == "rmp":
            p.add_argument("-f", "--force", action="store_true", help="Force removal of the pod sandbox")
            p.add_argument("-a", "--all", action="store_true", help="Remove all pods")
        _handler(p, target)

    p = sub.add_parser("pods", help="List pods")
    p.add_argument("--id", default="", help="filter by pod id")
    p.add_argument("--name", default="", help="filter by pod name regular expression pattern")
    p.add_argument("--namespace", default="", help="filter by pod namespace regular expression pattern")
    p.add_argument("-s", "--state", default="", help="filter by pod state")
    p.add_argument("--label", action="append", default=[], help="filter by key=value label")
    p.add_argument("-v", "--verbose", action="store_true", help="show verbose info for pods")
    p.add_argument("-q", "--quiet", action="store_true", help="list only pod IDs")
    p.add_argument("-l", "--latest", action="store_true", help="Show the most recently created pod")
    p.add_argument("-n", "--last", type=int, default=0, help="Show last n recently created pods")
    p.add_argument("--no-trunc", action="store_true", help="Show output without truncating the ID")
    _output(p, "table", "json, yaml, table, go-template")
    _handler(p, "pods:pods")

    p = sub.add_parser("inspectp", help="Display the status of one or more pods")
    p.add_argument("ids", nargs="*", metavar="POD-ID")
    _output(p, "json", "json, yaml, go-template or table")
    p.add_argument("-q", "--quiet", action="store_true", help="Do not show verbose information")
    _handler(p, "pods:inspectp")


def _images(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("pull", help="Pull an image from a registry")
    p.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    _pull_flags(p)
    p.add_argument(
        "-p", "--pod-config", default="", help="Use `pod-config.[json|yaml]` to override the pull context"
    )
    p.add_argument(
        "-a", "--annotation", action="append", default=[], help="Annotation to be set on the pulled image"
    )
    _handler(p, "images:pull")

    p = sub.add_parser("images", aliases=["image", "img"], help="List images")
    p.add_argument("reference", nargs="?", default="", metavar="REPOSITORY[:TAG]")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("-v", "--verbose", action="store_true", help="Show verbose info for images")
    p.add_argument("--digests", action="store_true", help="Show digests")
    p.add_argument("--no-trunc", action="store_true", help="Show output without truncating the ID")
    p.add_argument("--pinned", action="store_true", help="Show whether the image is pinned or not")
    p.add_argument(
        "-f", "--filter", action="append", default=[], help="Filter output based on provided conditions"
    )
    _output(p, "table", "json, yaml, table, go-template")
    _handler(p, "images:images")

    p = sub.add_parser("inspecti", help="Return the status of one or more images")
    p.add_argument("ids", nargs="*", metavar="IMAGE-ID")
    _output(p, "json", "json, yaml, go-template or table")
    p.add_argument("-q", "--quiet", action="store_true", help="Do not show verbose information")
    _handler(p, "images:inspecti")

    p = sub.add_parser("rmi", help="Remove one or more images")
    p.add_argument("ids", nargs="*", metavar="IMAGE-ID")
    p.add_argument("-a", "--all", action="store_true", help="Remove all images")
    p.add_argument("-q", "--prune", action="store_true", help="Remove all unused images")
    _handler(p, "images:rmi")

    p = sub.add_parser("imagefsinfo", help="Return image filesystem info")
    _output(p, "json", "json, yaml or go-template")
    _handler(p, "images:imagefsinfo")


def _runtime(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("version", help="Display runtime version information")
    p.add_argument("-o", "--output", default="", help="Output format, One of: json, yaml, go-template")
    p.add_argument(
        "--template", default="", help="The template string is only used when output is go-template"
    )
    _handler(p, "runtime:version")

    p = sub.add_parser("info", help="Display information of the container runtime")
    _output(p, "json", "json, yaml or go-template")
    p.add_argument("-q", "--quiet", action="store_true", help="Do not show verbose information")
    _handler(p, "runtime:info")

    p = sub.add_parser("runtime-config", help="Retrieve the container runtime configuration")
    _output(p, "json", "json, yaml or go-template")
    _handler(p, "runtime:runtime_config")

    p = sub.add_parser("update-runtime-config", help="Update the runtime configuration")
    p.add_argument("--pod-cidr", default="", help="The new Classless Inter-Domain Routing (CIDR) value")
    _handler(p, "runtime:update_runtime_config")

    p = sub.add_parser("config", help="Get, set and list crictl configuration options")
    p.add_argument("args", nargs="*", metavar="[KEY VALUE]")
    p.add_argument("--get", default=None, help="show the option value")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        help="set option (can specify multiple or separate values with commas: opt1=val1,opt2=val2)",
    )
    p.add_argument("-l", "--list", action="store_true", help="show all option value")
    _handler(p, "configcmd:config")

    p = sub.add_parser("completion", help="Output shell completion code")
    p.add_argument("shell", nargs="?", default="bash", choices=["bash", "zsh", "fish"])
    _handler(p, "completion:completion")


def _streams(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("exec", help="Run a command in a running container")
    p.add_argument("container", metavar="CONTAINER-ID")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    p.add_argument("-s", "--sync", action="store_true", help="Run the command synchronously")
    p.add_argument("--timeout", type=int, default=0, help="Timeout in seconds")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open")
    p.add_argument(
        "-r", "--transport", default="spdy", choices=TRANSPORTS, help="Transport protocol to be used"
    )
    _handler(p, "streams:exec_")

    p = sub.add_parser("attach", help="Attach to a running container")
    p.add_argument("container", metavar="CONTAINER-ID")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-i", "--stdin", action="store_true", help="Keep STDIN open")
    p.add_argument(
        "-r", "--transport", default="spdy", choices=TRANSPORTS, help="Transport protocol to be used"
    )
    _handler(p, "streams:attach")

    p = sub.add_parser("port-forward", help="Forward local port to a pod")
    p.add_argument("pod", metavar="POD-ID")
    p.add_argument("ports", nargs="+", metavar="[LOCAL_PORT:]REMOTE_PORT")
    p.add_argument("--address", default="localhost", help="Addresses to listen on")
    p.add_argument(
        "-r", "--transport", default="spdy", choices=TRANSPORTS, help="Transport protocol to be used"
    )
    _handler(p, "streams:port_forward")

    p = sub.add_parser("logs", help="Fetch the logs of a container")
    p.add_argument("container", metavar="CONTAINER-ID")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-p", "--previous", action="store_true", help="Print the logs for the previous instance")
    p.add_argument("--since", default="", help="Show logs since timestamp (RFC3339) or relative (e.g. 42m)")
    p.add_argument("--tail", type=int, default=-1, help="Number of lines to show from the end of the logs")
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("--limit-bytes", type=int, default=-1, help="Maximum bytes of logs to return")
    p.add_argument("--stream", default="", choices=["", "stdout", "stderr"], help="Only print this stream")
    p.add_argument("-r", "--reopen", action="store_true", help="Reopen the container log before reading")
    _handler(p, "logscmd:logs")


def _monitoring(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("stats", help="List container(s) resource usage statistics")
    p.add_argument("container", nargs="?", default="", metavar="ID")
    p.add_argument(
        "-a", "--all", action="store_true", help="Show all containers (default shows just running)"
    )
    p.add_argument("--id", default="", help="Filter by container id")
    p.add_argument("-p", "--pod", default="", help="Filter by pod id")
    p.add_argument("--label", action="append", default=[], help="Filter by key=value label")
    p.add_argument("-s", "--seconds", type=int, default=1, help="Sample duration for CPU usage in seconds")
    p.add_argument("-w", "--watch", action="store_true", help="Watch pod resources")
    _output(p, "table", "json, yaml, table, go-template")
    _handler(p, "statscmd:stats")

    p = sub.add_parser("statsp", help="List pod statistics")
    p.add_argument("pod", nargs="?", default="", metavar="ID")
    p.add_argument("--id", default="", help="Filter by pod id")
    p.add_argument("--label", action="append", default=[], help="Filter by key=value label")
    p.add_argument("-s", "--seconds", type=int, default=1, help="Sample duration for CPU usage in seconds")
    p.add_argument("-w", "--watch", action="store_true", help="Watch pod resources")
    _output(p, "table", "json, yaml, table, go-template")
    _handler(p, "statscmd:statsp")

    p = sub.add_parser("metricdescs", help="List metric descriptors")
    _output(p, "json", "json, yaml or go-template")
    _handler(p, "statscmd:metricdescs")

    p = sub.add_parser("metricsp", help="List pod metrics")
    _output(p, "json", "json, yaml or go-template")
    _handler(p, "statscmd:metricsp")

    p = sub.add_parser("events", aliases=["event"], help="Stream the events of containers")
    _output(p, "json", "json, yaml or go-template")
    _handler(p, "eventscmd:events")


def build_parser() -> _Parser:
    parser = _Parser(prog=PROG, description="client for CRI")
    add = parser.add_argument
    add("-c", "--config", dest="global_config", default=None, help="Location of the client config file")
    add("-D", "--debug", dest="global_debug", action="store_true", help="Enable debug mode")
    add("-i", "--image-endpoint", default=None, help="Endpoint of CRI image manager service")
    add("-r", "--runtime-endpoint", default=None, help="Endpoint of CRI container runtime service")
    add(
        "-t",
        "--timeout",
        dest="global_timeout",
        default=None,
        help="Timeout of connecting to the server (2s)",
    )
    add("-v", "--version", dest="global_version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for build in (_containers, _pods, _images, _runtime, _streams, _monitoring):
        build(sub)
    for choice in sub._choices_actions:
        sub.choices[choice.dest].description = choice.help
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand name and alias with its parser (for help and shell completion)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings]


def parse(argv: list[str]) -> tuple[argparse.Namespace, Any]:
    """Parse a command line; unknown flags are reported against the subcommand that got them."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        culprit: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        flag = next((e for e in extras if e.startswith("-")), None)
        message = (
            f"flag provided but not defined: -{flag.lstrip('-')}"
            if flag is not None
            else f"unexpected arguments: {' '.join(extras)}"
        )
        raise UsageError(message, culprit.format_help())
    return args, parser
