"""A small CloudWatch Logs Insights evaluator: exactly the part of the query language the module's
saved queries (queries/*.query) use, run over JSON log lines the engine printed.

Supported, and nothing else (anything else raises Unsupported, so a query that strays beyond what
is modelled here fails its test instead of being evaluated wrongly):

- ``#`` comments; commands separated by ``|``;
- ``fields F, ...``;
- ``filter EXPR``: ``F = | != | < | <= | > | >= LITERAL``, ``F in [LITERAL, ...]``, ``and``,
  ``or``, ``not``, parentheses; literals are "strings" or numbers;
- ``stats AGG [as NAME], ... [by F, ...]`` with ``count(*)``, ``count(F)``, ``pct(F, N)``,
  ``max(F)``, ``min(F)``, ``avg(F)``, ``sum(F)``;
- ``sort F [asc|desc]`` (desc by default, as in Logs Insights); ``limit N``.

Semantics, as documented for Logs Insights where it is documented (CWL_AnalyzeLogData-discoverable-
fields, CWL_QuerySyntax), and the cautious reading where it is not:

- JSON events are flattened: nested keys joined with dots, array items by index
  (``findings.0.malware``). Only the first FIELD_LIMIT flattened fields of an event are discovered
  (100 in the older documentation, 200 in the newer: the smaller one here).
- A missing field and a JSON null are the same: every comparison with them is false, ``!=``
  included (queries must not rely on either reading; tests check that the fields compared with
  ``!=`` are never missing), and aggregations skip them.
- ``pct`` is the nearest-rank percentile of the values (AWS approximates on large sets).
- Results come back as GetQueryResults gives them: rows of ``{"field", "value"}`` with string
  values, ``@ptr`` in rows of a query without stats, ``@timestamp`` as ``YYYY-MM-DD HH:MM:SS.mmm``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FIELD_LIMIT = 100
KEYWORDS = {"and", "or", "not", "in", "as", "by", "asc", "desc"}
AGGREGATIONS = {"count", "pct", "max", "min", "avg", "sum"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>|\||,|\(|\)|\[|\]|\*)
      | (?P<name>@?[A-Za-z_][A-Za-z0-9_.@]*)
    )""",
    re.VERBOSE,
)


class Unsupported(ValueError):
    """The query uses something this evaluator does not model."""


@dataclass
class Event:
    timestamp_ms: int
    message: str
    ptr: str = ""


@dataclass
class Command:
    name: str
    tokens: list[tuple[str, str]]


@dataclass
class Query:
    commands: list[Command]
    fields_used: set[str] = field(default_factory=set)  # every field the query reads
    aliases: set[str] = field(default_factory=set)
    not_equal_fields: set[str] = field(default_factory=set)  # fields compared with !=


# --- parsing ----------------------------------------------------------------------------------


def _strip_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        out, in_string, index = [], False, 0
        while index < len(line):
            char = line[index]
            if char == "\\" and in_string:
                out.append(line[index : index + 2])
                index += 2
                continue
            if char == '"':
                in_string = not in_string
            elif char == "#" and not in_string:
                break
            out.append(char)
            index += 1
        lines.append("".join(out))
    return "\n".join(lines)


def tokenize(text: str) -> list[tuple[str, str]]:
    text, tokens, position = _strip_comments(text), [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(f"cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse(text: str) -> Query:
    tokens = tokenize(text)
    commands: list[Command] = []
    current: list[tuple[str, str]] = []
    for token in [*tokens, ("op", "|")]:
        if token == ("op", "|"):
            if not current or current[0][0] != "name":
                raise Unsupported("empty command")
            commands.append(Command(current[0][1].lower(), current[1:]))
            current = []
        else:
            current.append(token)
    query = Query(commands)
    for command in commands:
        reader = {
            "fields": _check_fields,
            "filter": _check_filter,
            "stats": _check_stats,
            "sort": _check_sort,
            "limit": _check_limit,
        }.get(command.name)
        if reader is None:
            raise Unsupported(f"command {command.name!r}")
        reader(command.tokens, query)
    return query


def _split(tokens: list[tuple[str, str]], separator: str = ",") -> list[list[tuple[str, str]]]:
    parts: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for token in tokens:
        if token[1] in "([":
            depth += 1
        elif token[1] in ")]":
            depth -= 1
        if token == ("op", separator) and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _field_name(token: tuple[str, str], query: Query) -> str:
    kind, value = token
    if kind != "name" or value.lower() in KEYWORDS:
        raise Unsupported(f"expected a field name, got {value!r}")
    if value not in query.aliases:
        query.fields_used.add(value)
    return value


def _check_fields(tokens: list[tuple[str, str]], query: Query) -> None:
    for part in _split(tokens):
        if len(part) != 1:
            raise Unsupported(f"fields: only plain field names ({part})")
        _field_name(part[0], query)


def _check_filter(tokens: list[tuple[str, str]], query: Query) -> None:
    parser = _ExprParser(tokens, query)
    parser.expression()
    if parser.position != len(tokens):
        raise Unsupported(f"filter: cannot read from {tokens[parser.position :]}")


def _check_stats(tokens: list[tuple[str, str]], query: Query) -> None:
    by_at = next((i for i, t in enumerate(tokens) if t == ("name", "by")), len(tokens))
    for part in _split(tokens[:by_at]):
        _aggregation(part, query)
    for part in _split(tokens[by_at + 1 :]) if by_at < len(tokens) else []:
        if len(part) != 1:
            raise Unsupported(f"stats by: only plain field names ({part})")
        _field_name(part[0], query)


def _aggregation(part: list[tuple[str, str]], query: Query) -> tuple[str, str | None, float, str]:
    """(function, field or None for *, percent, output name)."""
    if len(part) < 3 or part[0][0] != "name" or part[1] != ("op", "("):
        raise Unsupported(f"stats: {part}")
    function = part[0][1].lower()
    if function not in AGGREGATIONS:
        raise Unsupported(f"stats function {function!r}")
    close = part.index(("op", ")"))
    inside, rest = part[2:close], part[close + 1 :]
    percent = 0.0
    if function == "pct":
        if len(inside) != 3 or inside[1] != ("op", ",") or inside[2][0] != "number":
            raise Unsupported(f"pct needs a field and a percentile: {inside}")
        percent = float(inside[2][1])
        inside = inside[:1]
    if inside == [("op", "*")]:
        if function != "count":
            raise Unsupported(f"{function}(*)")
        source = None
    elif len(inside) == 1:
        source = _field_name(inside[0], query)
    else:
        raise Unsupported(f"stats argument {inside}")
    label = "".join(t[1] for t in part[: close + 1]).replace(",", ", ")
    if rest:
        if len(rest) != 2 or rest[0] != ("name", "as") or rest[1][0] != "name":
            raise Unsupported(f"stats: {rest}")
        label = rest[1][1]
        query.aliases.add(label)
    return function, source, percent, label


def _check_sort(tokens: list[tuple[str, str]], query: Query) -> None:
    if not 1 <= len(tokens) <= 2 or (len(tokens) == 2 and tokens[1][1] not in ("asc", "desc")):
        raise Unsupported(f"sort: one field, asc or desc ({tokens})")
    _field_name(tokens[0], query)


def _check_limit(tokens: list[tuple[str, str]], query: Query) -> None:
    if len(tokens) != 1 or tokens[0][0] != "number" or not 1 <= int(tokens[0][1]) <= 10_000:
        raise Unsupported(f"limit: one number from 1 to 10000 ({tokens})")


class _ExprParser:
    """Recursive descent over a filter: or > and > not > comparison; builds a predicate."""

    def __init__(self, tokens: list[tuple[str, str]], query: Query) -> None:
        self.tokens, self.query, self.position = tokens, query, 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise Unsupported("filter ends too early")
        self.position += 1
        return token

    def expression(self) -> Callable[[dict[str, Any]], bool]:
        left = self._and()
        while self._peek() == ("name", "or"):
            self._take()
            right = self._and()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
        return left

    def _and(self) -> Callable[[dict[str, Any]], bool]:
        left = self._not()
        while self._peek() == ("name", "and"):
            self._take()
            right = self._not()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
        return left

    def _not(self) -> Callable[[dict[str, Any]], bool]:
        if self._peek() == ("name", "not"):
            self._take()
            inner = self._not()
            return lambda row: not inner(row)
        if self._peek() == ("op", "("):
            self._take()
            inner = self.expression()
            if self._take() != ("op", ")"):
                raise Unsupported("filter: unbalanced parentheses")
            return inner
        return self._comparison()

    def _literal(self) -> Any:
        kind, value = self._take()
        if kind == "string":
            return json.loads(value)
        if kind == "number":
            return float(value)
        raise Unsupported(f"filter: expected a literal, got {value!r}")

    def _comparison(self) -> Callable[[dict[str, Any]], bool]:
        name = _field_name(self._take(), self.query)
        kind, op = self._take()
        if (kind, op) == ("name", "in"):
            if self._take() != ("op", "["):
                raise Unsupported("in: expected [")
            values = [self._literal()]
            while self._peek() == ("op", ","):
                self._take()
                values.append(self._literal())
            if self._take() != ("op", "]"):
                raise Unsupported("in: expected ]")
            return lambda row: _present(row, name) and any(_equal(row[name], v) for v in values)
        if kind != "op" or op not in ("=", "!=", "<", "<=", ">", ">="):
            raise Unsupported(f"filter operator {op!r}")
        literal = self._literal()
        if op == "!=":
            self.query.not_equal_fields.add(name)
        compare = _COMPARE[op]
        return lambda row: _present(row, name) and compare(row[name], literal)


def _present(row: dict[str, Any], name: str) -> bool:
    return row.get(name) is not None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equal(value: Any, literal: Any) -> bool:
    if isinstance(literal, float):
        number = _number(value)
        return number is not None and number == literal
    return _text(value) == literal


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, literal: Any) -> bool:
        if isinstance(literal, float):
            number = _number(value)
            return number is not None and op(number, literal)
        return op(_text(value), literal)

    return compare


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "!=": lambda value, literal: not _equal(value, literal),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
}


# --- events -----------------------------------------------------------------------------------


def flatten(document: Any, limit: int = FIELD_LIMIT) -> dict[str, Any]:
    """The fields Logs Insights discovers in a JSON event, in document order, at most `limit`."""
    found: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{prefix}.{key}" if prefix else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{prefix}.{index}")
        else:
            found[prefix] = value

    walk(document, "")
    return found


def all_fields(document: Any) -> list[str]:
    """Every flattened field name of a JSON document, nulls included, in order (no limit)."""
    return list(flatten(document, limit=math.inf))  # type: ignore[arg-type]


def _row(event: Event) -> dict[str, Any]:
    row = flatten(json.loads(event.message))
    row["@timestamp"] = event.timestamp_ms
    row["@message"] = event.message
    row["@ptr"] = event.ptr
    return row


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def timestamp_text(milliseconds: int) -> str:
    moment = datetime.fromtimestamp(milliseconds / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{milliseconds % 1000:03d}"


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, "")
    number = _number(value)
    return (0, number) if number is not None else (1, _text(value))


# --- running ----------------------------------------------------------------------------------


def run(text: str, events: Iterable[Event]) -> list[list[dict[str, str]]]:
    """The query's results over `events`, as GetQueryResults returns them."""
    query = parse(text)
    rows = [_row(event) for event in events]
    shown: list[str] | None = None
    aggregated = False
    for command in query.commands:
        if command.name == "fields":
            names = [part[0][1] for part in _split(command.tokens)]
            shown = [*(shown or []), *[n for n in names if n not in (shown or [])]]
        elif command.name == "filter":
            predicate = _ExprParser(command.tokens, Query([])).expression()
            rows = [row for row in rows if predicate(row)]
        elif command.name == "stats":
            rows, shown = _stats(command.tokens, rows)
            aggregated = True
        elif command.name == "sort":
            name = command.tokens[0][1]
            descending = len(command.tokens) == 1 or command.tokens[1][1] == "desc"
            present = [row for row in rows if row.get(name) is not None]
            missing = [row for row in rows if row.get(name) is None]
            present.sort(key=lambda row: _sort_key(row[name]), reverse=descending)
            rows = present + missing
        elif command.name == "limit":
            rows = rows[: int(command.tokens[0][1])]
    results = []
    for row in rows:
        names = shown if shown is not None else [k for k in row if k not in ("@message", "@ptr")]
        cells = []
        for name in names:
            value = row.get(name)
            if value is None:
                continue
            text = timestamp_text(value) if name == "@timestamp" else _text(value)
            cells.append({"field": name, "value": text})
        if not aggregated:
            cells.append({"field": "@ptr", "value": row["@ptr"]})
        results.append(cells)
    return results


def _stats(
    tokens: list[tuple[str, str]], rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    by_at = next((i for i, t in enumerate(tokens) if t == ("name", "by")), len(tokens))
    scratch = Query([])
    aggregations = [_aggregation(part, scratch) for part in _split(tokens[:by_at])]
    keys = [part[0][1] for part in _split(tokens[by_at + 1 :])] if by_at < len(tokens) else []
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if any(row.get(key) is None for key in keys):
            continue  # an event without a grouping field falls in no group here
        groups.setdefault(tuple(_text(row[key]) for key in keys), []).append(row)
    if not keys and not groups:
        groups[()] = []
    out = []
    for group, members in groups.items():
        result: dict[str, Any] = dict(zip(keys, group, strict=True))
        for function, source, percent, label in aggregations:
            values = [
                _number(row[source]) for row in members if source and row.get(source) is not None
            ]
            numbers = sorted(v for v in values if v is not None)
            if function == "count":
                result[label] = float(len(members) if source is None else len(values))
            elif not numbers:
                continue
            elif function == "pct":
                result[label] = numbers[max(0, math.ceil(percent / 100 * len(numbers)) - 1)]
            elif function == "max":
                result[label] = numbers[-1]
            elif function == "min":
                result[label] = numbers[0]
            elif function == "sum":
                result[label] = sum(numbers)
            elif function == "avg":
                result[label] = sum(numbers) / len(numbers)
        out.append(result)
    return out, [*keys, *[a[3] for a in aggregations]]
