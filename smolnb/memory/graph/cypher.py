"""The embedded graph's Cypher: a read-only subset that answers as Neo4j does.

    MATCH <pattern>[, <pattern> ...] [WHERE <condition>]
    RETURN [DISTINCT] <item> [AS alias][, ...] [ORDER BY <expr> [ASC|DESC][, ...]] [SKIP n] [LIMIT n]

- pattern: a node `(a)`, or a chain `(a)-[r:TYPE]->(b)<-[:OTHER|THIRD]-(c)-[s]-(d)`; a node may
  name its entity, `(a {name: 'Heron'})` or `(a {name: $who})`; `:Entity` (or no label) matches
  every entity; a relationship is used once per match, as in Neo4j.
- condition: `=`, `<>`, `<`, `>`, `<=`, `>=`, `CONTAINS`, `STARTS WITH`, `ENDS WITH`, `IN [...]`,
  `IS [NOT] NULL`, joined by `AND`, `OR`, `XOR`, `NOT` and parentheses; null compares as in
  Neo4j (a comparison with null is null, and a row whose condition is null is left out).
- item: `a`, `a.name`, `type(r)`, `r.valid_from`, `r.id`, `r.provenance` (JSON text, as Neo4j
  stores it), a literal or `$param`, `count(*)`,
  `count(x)`, `count(DISTINCT x)` (with the other items as the grouping keys).

Only current facts are matched, as on Neo4j (superseded ones are history: `facts(include_past=True)`).
Anything else (`OPTIONAL MATCH`, `WITH`, `UNWIND`, variable-length paths, writes, other
functions) is refused with the clause named and the way to run it: a Neo4j graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import UserError
from .cypher_parser import SUPPORTED, _Node, _Parser, _Query, _Rel

if TYPE_CHECKING:
    from .base import Fact

__all__ = ["SUPPORTED", "run_query"]


# -- running it ------------------------------------------------------------------------------


def run_query(cypher: str, params: dict[str, Any], facts: list[Fact], entities: Iterable[str]) -> list[dict[str, Any]]:
    """Answer `cypher` over the current `facts` (and every entity ever named, as Neo4j keeps its nodes)."""
    query = _Parser(cypher).parse()
    ctx = _Context(params, facts, sorted(set(entities)))
    bindings: Iterator[dict[str, Any]] = iter([{}])
    for pattern in query.patterns:
        bindings = _extend(bindings, pattern, ctx)
    if query.where is not None:
        bindings = (b for b in bindings if _truth(query.where, b, ctx) is True)
    rows = _project(query, list(bindings), ctx)
    skip = _int(query.skip, ctx, "SKIP") if query.skip is not None else 0
    limit = _int(query.limit, ctx, "LIMIT") if query.limit is not None else None
    rows = rows[skip:]
    return rows[:limit] if limit is not None else rows


@dataclass
class _Context:
    params: dict[str, Any]
    facts: list[Fact]
    entities: list[str]
    known: set[str] = field(default_factory=set)
    by_subject: dict[str, list[Fact]] = field(default_factory=dict)
    by_object: dict[str, list[Fact]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.known = set(self.entities)
        for fact in self.facts:
            self.by_subject.setdefault(fact.subject, []).append(fact)
            self.by_object.setdefault(fact.object, []).append(fact)


def _int(expr: Any, ctx: _Context, clause: str) -> int:
    value = _eval(expr, {}, ctx)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UserError(f"{clause} needs a whole number of rows, not {value!r}")
    return value


def _node_ok(node: _Node, name: str, binding: dict[str, Any], ctx: _Context) -> bool:
    if node.label not in (None, "Entity"):
        return False
    if node.name is not None and name != _eval(node.name, binding, ctx):
        return False
    return not (node.var and node.var in binding and binding[node.var].get("name") != name)


def _extend(bindings: Iterable[dict[str, Any]], pattern: list[Any], ctx: _Context) -> Iterator[dict[str, Any]]:
    for binding in bindings:
        first: _Node = pattern[0]
        if first.var and first.var in binding:
            starts = [binding[first.var]["name"]]
        elif first.name is not None:
            starts = [_eval(first.name, binding, ctx)]
        else:
            starts = ctx.entities
        for start in starts:
            if start in ctx.known and _node_ok(first, start, binding, ctx):
                found = dict(binding)
                if first.var:
                    found[first.var] = {"name": start}
                yield from _walk(found, start, pattern, 1, set(), ctx)


def _walk(
    binding: dict[str, Any], at: str, pattern: list[Any], i: int, used: set[str], ctx: _Context
) -> Iterator[dict[str, Any]]:
    if i >= len(pattern):
        yield binding
        return
    rel: _Rel = pattern[i]
    node: _Node = pattern[i + 1]
    steps: list[tuple[Fact, str]] = []
    if rel.direction in ("out", "both"):
        steps += [(f, f.object) for f in ctx.by_subject.get(at, [])]
    if rel.direction in ("in", "both"):
        steps += [(f, f.subject) for f in ctx.by_object.get(at, [])]
    for fact, other in steps:
        if fact.id in used or (rel.types is not None and fact.predicate not in rel.types):
            continue
        if rel.var and rel.var in binding and binding[rel.var].get("id") != fact.id:
            continue
        if not _node_ok(node, other, binding, ctx):
            continue
        found = dict(binding)
        if rel.var:
            found[rel.var] = {
                "id": fact.id,
                "valid_from": fact.valid_from,
                "provenance": json.dumps(fact.provenance, default=str),  # as Neo4j stores it
                "type": fact.predicate,
            }
        if node.var:
            found[node.var] = {"name": other}
        yield from _walk(found, other, pattern, i + 2, used | {fact.id}, ctx)


def _eval(expr: Any, binding: dict[str, Any], ctx: _Context) -> Any:
    kind = expr[0]
    if kind == "lit":
        return expr[1]
    if kind == "param":
        if expr[1] not in ctx.params:
            raise UserError(f"the query uses ${expr[1]} but no such parameter was given")
        return ctx.params[expr[1]]
    if kind == "list":
        return [_eval(e, binding, ctx) for e in expr[1]]
    if kind == "var":
        if expr[1] not in binding:
            raise UserError(f"the query uses {expr[1]!r}, which its MATCH pattern does not name")
        return binding[expr[1]]
    if kind == "prop":
        if expr[1] not in binding:
            raise UserError(f"the query uses {expr[1]}.{expr[2]}, but {expr[1]!r} is not in its MATCH pattern")
        value = binding[expr[1]]
        return value.get(expr[2]) if isinstance(value, dict) else None
    if kind == "type":
        if expr[1] not in binding:
            raise UserError(f"the query uses type({expr[1]}), but {expr[1]!r} is not in its MATCH pattern")
        return binding[expr[1]].get("type")
    raise UserError(f"count() belongs in RETURN; the embedded graph understands {SUPPORTED}")


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (isinstance(a, str) and isinstance(b, str))


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _truth(cond: Any, binding: dict[str, Any], ctx: _Context) -> bool | None:
    """Three-valued, as Cypher: True, False or None (null)."""
    kind = cond[0]
    if kind in ("and", "or", "xor"):
        left, right = _truth(cond[1], binding, ctx), _truth(cond[2], binding, ctx)
        if kind == "and":
            return False if False in (left, right) else (None if None in (left, right) else True)
        if kind == "or":
            return True if True in (left, right) else (None if None in (left, right) else False)
        return None if None in (left, right) else left != right
    if kind == "not":
        inner = _truth(cond[1], binding, ctx)
        return None if inner is None else not inner
    if kind == "isnull":
        value = _eval(cond[1], binding, ctx)
        return (value is not None) if cond[2] else (value is None)
    if kind == "truthy":
        value = _eval(cond[1], binding, ctx)
        return value if isinstance(value, bool) or value is None else None
    if kind == "cmp":
        op, left, right = cond[1], _eval(cond[2], binding, ctx), _eval(cond[3], binding, ctx)
        if left is None or right is None:
            return None
        if op in ("=", "<>"):
            same = left == right if _comparable(left, right) or type(left) is type(right) else False
            return same if op == "=" else not same
        return _CMP[op](left, right) if _comparable(left, right) else None
    left, right = _eval(cond[1], binding, ctx), _eval(cond[2], binding, ctx)
    if kind == "in":
        if right is None:
            return None
        if not isinstance(right, list):
            raise UserError("IN needs a list, e.g. WHERE b.name IN ['Ana', 'Bo']")
        if left in right:
            return True
        return None if left is None or None in right else False
    if left is None or right is None:
        return None
    if not (isinstance(left, str) and isinstance(right, str)):
        return None
    return {"contains": str.__contains__, "starts": str.startswith, "ends": str.endswith}[kind](left, right)


def _project(query: _Query, bindings: list[dict[str, Any]], ctx: _Context) -> list[dict[str, Any]]:
    aggregates = [item for item in query.items if item.aggregate]
    if aggregates:
        keys = [item for item in query.items if not item.aggregate]
        groups: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for binding in bindings:
            row = {item.column: _eval(item.expr, binding, ctx) for item in keys}
            key = json.dumps(row, sort_keys=True, default=str)
            groups.setdefault(key, (row, []))[1].append(binding)
        if not keys and not groups:
            groups[""] = ({}, [])  # count over no rows is one row: 0
        rows = []
        for row, members in groups.values():
            out = dict(row)
            for item in aggregates:
                _, inner, distinct = item.expr
                if inner is None:
                    out[item.column] = len(members)
                else:
                    values = [_eval(inner, b, ctx) for b in members]
                    values = [v for v in values if v is not None]
                    out[item.column] = (
                        len({json.dumps(v, sort_keys=True, default=str) for v in values}) if distinct else len(values)
                    )
            rows.append(out)
        rows = [{item.column: row[item.column] for item in query.items} for row in rows]
        pairs: list[tuple[dict[str, Any], dict[str, Any]]] = [(row, {}) for row in rows]
    else:
        pairs = [({item.column: _eval(item.expr, b, ctx) for item in query.items}, b) for b in bindings]
    if query.distinct:
        seen: set[str] = set()
        unique = []
        for row, binding in pairs:
            key = json.dumps(row, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                unique.append((row, binding))
        pairs = unique
    for expr, descending in reversed(query.order):  # stable sorts, last key first

        def sort_key(pair: tuple[dict[str, Any], dict[str, Any]], expr: Any = expr) -> tuple[int, Any]:
            return _order_key(_order_value(expr, pair, query, ctx))

        pairs.sort(key=sort_key, reverse=descending)
    return [row for row, _ in pairs]


def _order_value(expr: Any, pair: tuple[dict[str, Any], dict[str, Any]], query: _Query, ctx: _Context) -> Any:
    row, binding = pair
    for item in query.items:  # by a returned column (its alias, or the same expression)
        if item.expr == expr or (expr[0] == "var" and expr[1] == item.column):
            return row[item.column]
    if not binding:
        raise UserError("ORDER BY after DISTINCT or count() must use a returned column")
    return _eval(expr, binding, ctx)


def _order_key(value: Any) -> tuple[int, Any]:
    # Numbers, then strings, then booleans; null last when ascending and first when descending
    # (a descending sort reverses the keys), as Neo4j orders them.
    if value is None:
        return (4, 0)
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, json.dumps(value, sort_keys=True, default=str))
