"""A subset of Go's text/template, enough for crictl's ``-o go-template --template``.

Supported: text with ``{{ }}`` actions and ``{{-``/``-}}`` trimming, comments, field chains
(``.status.id``, ``$x.a``), variables (``$``, ``$x := ...``, ``range $i, $e := ...``), pipelines with
``|``, parentheses, string/number/bool/nil literals, ``if``/``else if``/``else``, ``range`` (with
``else``), ``with``, ``end``, and the functions and, or, not, len, index, print, printf, println,
eq, ne, lt, le, gt, ge plus crictl's json, title, lower, upper. Not supported: ``define``,
``template``, ``block``, ``break``/``continue`` and method calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "<no value>"
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:\\.|[^"\\])*")|(?P<raw>`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    |(?P<op>:=|[|(),=])|(?P<var>\$\w*(?:\.\w+)*)|(?P<field>(?:\.\w+)+|\.)|(?P<ident>\w+(?:\.\w+)*))""",
    re.X,
)


class TemplateError(Exception):
    pass


@dataclass
class _Node:
    kind: str  # text | action | if | range | with
    text: str = ""
    pipe: list[Any] = field(default_factory=list)
    declare: list[str] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    orelse: list[_Node] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens, pos, source = [], 0, source.strip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"unexpected {source[pos:]!r} in action")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _lex(template: str) -> list[tuple[str, str]]:
    """[(text|action, content)] with trim markers applied."""
    items: list[tuple[str, str]] = []
    pos = 0
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match.group(1):
            text = text.rstrip()
        if items and items[-1][0] == "trim":
            items.pop()
            text = text.lstrip()
        items.append(("text", text))
        items.append(("action", match.group(2)))
        if match.group(3):
            items.append(("trim", ""))
        pos = match.end()
    tail = template[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if items and items[-1][0] == "trim":
        items.pop()
        tail = tail.lstrip()
    items.append(("text", tail))
    return items


class _Parser:
    def __init__(self, template: str) -> None:
        self.items = _lex(template)
        self.pos = 0

    def parse(self) -> list[_Node]:
        nodes, stop = self._block()
        if stop is not None:
            raise TemplateError(f"unexpected {{{{{stop}}}}}")
        return nodes

    def _block(self) -> tuple[list[_Node], str | None]:
        nodes: list[_Node] = []
        while self.pos < len(self.items):
            kind, content = self.items[self.pos]
            self.pos += 1
            if kind == "text":
                if content:
                    nodes.append(_Node("text", text=content))
                continue
            content = content.strip()
            if content.startswith("/*"):
                continue
            keyword, _, rest = content.partition(" ")
            if keyword in ("end", "else"):
                return nodes, content
            if keyword in ("if", "range", "with"):
                nodes.append(self._control(keyword, rest))
            else:
                nodes.append(self._action(content))
        return nodes, None

    def _action(self, content: str) -> _Node:
        tokens = _tokens(content)
        declare: list[str] = []
        if ":=" in [t[1] for t in tokens if t[0] == "op"]:
            split = [t[1] for t in tokens].index(":=")
            declare = [t[1] for t in tokens[:split] if t[0] == "var"]
            tokens = tokens[split + 1 :]
        return _Node("action", pipe=tokens, declare=declare)

    def _control(self, keyword: str, rest: str) -> _Node:
        head = self._action(rest)
        node = _Node(keyword, pipe=head.pipe, declare=head.declare)
        node.body, stop = self._block()
        if stop is None:
            raise TemplateError(f"unexpected EOF: {{{{{keyword}}}}} without {{{{end}}}}")
        if stop.startswith("else"):
            chained = stop[len("else") :].strip()
            if chained.startswith("if ") or chained.startswith("with "):
                word, _, more = chained.partition(" ")
                node.orelse = [self._control(word, more)]
                return node
            node.orelse, stop = self._block()
            if stop != "end":
                raise TemplateError(f"{{{{{keyword}}}}}: expected {{{{end}}}} after {{{{else}}}}")
        return node


def render(template: str, data: Any) -> str:
    """Execute ``template`` over ``data`` (decoded JSON) as Go's text/template would."""
    nodes = _Parser(template).parse()
    out: list[str] = []
    _Exec(out, {"$": data}).run(nodes, data)
    return "".join(out)


class _Exec:
    def __init__(self, out: list[str], variables: dict[str, Any]) -> None:
        self.out = out
        self.vars = variables

    def run(self, nodes: list[_Node], dot: Any) -> None:
        for node in nodes:
            getattr(self, f"_{node.kind}")(node, dot)

    def _text(self, node: _Node, dot: Any) -> None:
        self.out.append(node.text)

    def _action(self, node: _Node, dot: Any) -> None:
        value = self._pipeline(node.pipe, dot)
        if node.declare:
            self.vars[node.declare[0]] = value
            return
        self.out.append(go_format(value))

    def _if(self, node: _Node, dot: Any) -> None:
        self.run(node.body if truthy(self._pipeline(node.pipe, dot)) else node.orelse, dot)

    def _with(self, node: _Node, dot: Any) -> None:
        value = self._pipeline(node.pipe, dot)
        if truthy(value):
            self.run(node.body, value)
        else:
            self.run(node.orelse, dot)

    def _range(self, node: _Node, dot: Any) -> None:
        value = self._pipeline(node.pipe, dot)
        if isinstance(value, Mapping):
            pairs = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        elif value is None:
            pairs = []
        else:
            raise TemplateError(f"range can't iterate over {go_format(value)}")
        if not pairs:
            self.run(node.orelse, dot)
        for key, element in pairs:
            if len(node.declare) == 2:
                self.vars[node.declare[0]], self.vars[node.declare[1]] = key, element
            elif node.declare:
                self.vars[node.declare[0]] = element
            self.run(node.body, element)

    def _pipeline(self, tokens: list[tuple[str, str]], dot: Any) -> Any:
        commands = _split(tokens, "|")
        value: Any = _UNSET
        for command in commands:
            value = self._command(command, dot, value)
        return None if value is _UNSET else value

    def _command(self, tokens: list[tuple[str, str]], dot: Any, piped: Any) -> Any:
        if not tokens:
            raise TemplateError("missing value for command")
        operands = _group(tokens)
        head = operands[0]
        if len(head) == 1 and head[0][0] == "ident" and head[0][1] in FUNCTIONS:
            args = [self._operand(op, dot) for op in operands[1:]]
            if piped is not _UNSET:
                args.append(piped)
            return FUNCTIONS[head[0][1]](*args)
        if len(operands) > 1 or piped is not _UNSET:
            raise TemplateError(f"can't give argument to non-function {head[0][1]}")
        return self._operand(head, dot)

    def _operand(self, tokens: list[tuple[str, str]], dot: Any) -> Any:
        kind, text = tokens[0]
        if kind == "op" and text == "(":
            if tokens[-1][0] == "field":
                inner = self._pipeline(tokens[1:-2], dot)
                return _walk(inner, tokens[-1][1].split(".")[1:], tokens[-1][1])
            return self._pipeline(tokens[1:-1], dot)
        if kind == "str":
            try:
                return json.loads(text)
            except ValueError:
                raise TemplateError(f"malformed string literal {text}") from None
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "field":
            return _walk(dot, text.split(".")[1:] if text != "." else [], text)
        if kind == "var":
            name, *path = text.split(".")
            if name not in self.vars:
                raise TemplateError(f"undefined variable: {name}")
            return _walk(self.vars[name], path, text)
        if text in ("true", "false"):
            return text == "true"
        if text == "nil":
            return None
        if text in FUNCTIONS:
            return FUNCTIONS[text]()
        raise TemplateError(f'function "{text}" not defined')


_UNSET = object()


def _split(tokens: list[tuple[str, str]], separator: str) -> list[list[tuple[str, str]]]:
    parts: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for token in tokens:
        if token == ("op", "("):
            depth += 1
        elif token == ("op", ")"):
            depth -= 1
        if token == ("op", separator) and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _group(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split a command into operands, keeping parenthesised pipelines whole."""
    groups: list[list[tuple[str, str]]] = []
    depth = 0
    for token in tokens:
        chained = token[0] == "field" and token[1] != "." and groups and groups[-1][-1] == ("op", ")")
        if depth == 0 and not chained:
            groups.append([])
        groups[-1].append(token)
        if token == ("op", "("):
            depth += 1
        elif token == ("op", ")"):
            depth -= 1
    return groups


def _walk(value: Any, path: list[str], text: str) -> Any:
    for name in path:
        if not name:
            continue
        if isinstance(value, Mapping):
            value = value.get(name)
        elif value is None:
            raise TemplateError(f"nil pointer evaluating interface {{}}.{name} in <{text}>")
        else:
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    return value


def truthy(value: Any) -> bool:
    return bool(value) if value is not None else False


def go_format(value: Any) -> str:
    """fmt's %v for decoded JSON values."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_inner(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_inner(v) for v in value) + "]"
    return str(value)


def _inner(value: Any) -> str:
    return "<nil>" if value is None else go_format(value)


def _printf(fmt: str, *args: Any) -> str:
    converted = re.sub(r"%(-?\d*)v", r"%\1s", fmt)
    values = tuple(go_format(a) if isinstance(a, Mapping | list | bool) or a is None else a for a in args)
    try:
        return converted % values
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf: {exc}") from None


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            value = value[key] if not isinstance(value, Mapping) else value.get(key)
        except (IndexError, TypeError, KeyError):
            raise TemplateError(f"index out of range: {key}") from None
    return value


def _compare(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(left: Any, right: Any) -> bool:
        try:
            return op(left, right)
        except TypeError:
            raise TemplateError("incompatible types for comparison") from None

    return compare


def _and(*args: Any) -> Any:
    for arg in args:
        if not truthy(arg):
            return arg
    return args[-1] if args else None


def _or(*args: Any) -> Any:
    for arg in args:
        if truthy(arg):
            return arg
    return args[-1] if args else None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": lambda value: not truthy(value),
    "len": lambda value: len(value),
    "index": _index,
    "print": lambda *args: " ".join(go_format(a) for a in args),
    "println": lambda *args: " ".join(go_format(a) for a in args) + "\n",
    "printf": _printf,
    "eq": lambda left, *rights: any(left == right for right in rights),
    "ne": _compare(lambda a, b: a != b),
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "json": lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True),
    "title": lambda text: str(text).title(),
    "lower": lambda text: str(text).lower(),
    "upper": lambda text: str(text).upper(),
}
