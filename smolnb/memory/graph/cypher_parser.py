"""Reading the embedded graph's Cypher subset (see `cypher.py`): tokens, the parsed query, the parser."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError

__all__ = ["SUPPORTED"]


SUPPORTED = (
    "MATCH <pattern> [WHERE ...] RETURN [DISTINCT] ... [ORDER BY ...] [SKIP n] [LIMIT n], with "
    "comparisons, AND/OR/XOR/NOT, type(r), count(...)"
)
_FULL = "Use a Neo4j graph (neo4j://...) for full Cypher"
_WRITES = {"CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "LOAD", "FOREACH"}
_REFUSED = {"OPTIONAL", "WITH", "UNWIND", "CALL", "UNION", "EXISTS", "CASE", *_WRITES}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<param>\$\w+)
      | (?P<name>[A-Za-z_]\w*|`[^`]+`)
      | (?P<op><>|<=|>=|=~|->|<-|\.\.|[-()\[\]{}:,.*=<>|;+/%])
    )""",
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


def _tokens(query: str) -> list[_Tok]:
    out, at = [], 0
    while at < len(query):
        if query[at:].strip() == "":
            break
        found = _TOKEN.match(query, at)
        if not found or found.end() == at:
            raise UserError(f"cannot read the query at {query[at : at + 20]!r}; the embedded graph understands {SUPPORTED}")
        kind = found.lastgroup or "op"
        text = found.group(kind)
        out.append(_Tok(kind, text.strip("`") if kind == "name" else text, found.start(kind), found.end(kind)))
        at = found.end()
    return out


# -- the parsed query ------------------------------------------------------------------------


@dataclass
class _Node:
    var: str | None
    label: str | None
    name: Any = None  # an expression: the entity's name, when the pattern gives one


@dataclass
class _Rel:
    var: str | None
    types: set[str] | None
    direction: str  # "out" (->), "in" (<-), "both" (-)


@dataclass
class _Item:
    expr: Any
    column: str
    aggregate: bool = False


@dataclass
class _Query:
    patterns: list[list[Any]] = field(default_factory=list)  # node, rel, node, rel, node ...
    where: Any = None
    distinct: bool = False
    items: list[_Item] = field(default_factory=list)
    order: list[tuple[Any, bool]] = field(default_factory=list)  # (expr, descending)
    skip: Any = None
    limit: Any = None


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _tokens(query)
        self.at = 0

    # token helpers
    def peek(self, ahead: int = 0) -> _Tok | None:
        i = self.at + ahead
        return self.toks[i] if i < len(self.toks) else None

    def word(self, ahead: int = 0) -> str:
        tok = self.peek(ahead)
        return tok.word if tok else ""

    def is_op(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text == text

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise UserError(f"the query ends too soon; the embedded graph understands {SUPPORTED}")
        self.at += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.take()
        if tok.text.upper() != text.upper():
            raise UserError(f"expected {text!r} but found {tok.text!r} in the query; the embedded graph understands {SUPPORTED}")
        return tok

    def refuse(self, what: str) -> UserError:
        if what.upper() in _WRITES:
            return UserError(f"the graph query tool is read-only: {what} is not allowed (write facts with add_fact)")
        return UserError(f"the embedded graph does not support {what}; it understands {SUPPORTED}. {_FULL}")

    # grammar
    def parse(self) -> _Query:
        q = _Query()
        first = self.word()
        if first != "MATCH":
            tok = self.peek()
            if tok is None:
                raise UserError(f"the query is empty; the embedded graph understands {SUPPORTED}")
            raise self.refuse(
                "OPTIONAL MATCH" if first == "OPTIONAL" else tok.text.upper() if tok.kind == "name" else repr(tok.text)
            )
        self.take()
        q.patterns.append(self.pattern())
        while self.is_op(","):
            self.take()
            q.patterns.append(self.pattern())
        if self.word() == "MATCH":
            raise self.refuse("a second MATCH (join the patterns with a comma)")
        if self.word() == "WHERE":
            self.take()
            q.where = self.condition()
        if self.word() != "RETURN":
            tok = self.peek()
            raise self.refuse(
                tok.text.upper() if tok and tok.kind == "name" else f"{tok.text if tok else 'a query without RETURN'!r}"
            )
        self.take()
        if self.word() == "DISTINCT":
            self.take()
            q.distinct = True
        q.items.append(self.item())
        while self.is_op(","):
            self.take()
            q.items.append(self.item())
        if self.word() == "ORDER":
            self.take()
            self.expect("BY")
            while True:
                expr = self.expr()
                descending = False
                if self.word() in ("ASC", "ASCENDING", "DESC", "DESCENDING"):
                    descending = self.take().word.startswith("DESC")
                q.order.append((expr, descending))
                if not self.is_op(","):
                    break
                self.take()
        if self.word() == "SKIP":
            self.take()
            q.skip = self.atom()
        if self.word() == "LIMIT":
            self.take()
            q.limit = self.atom()
        if self.is_op(";"):
            self.take()
        tok = self.peek()
        if tok is not None:
            raise self.refuse(tok.text.upper() if tok.kind == "name" else f"{tok.text!r} after the RETURN clause")
        return q

    def pattern(self) -> list[Any]:
        if self.peek() is not None and self.peek(1) is not None and self.peek(1).text == "=":  # type: ignore[union-attr]
            raise self.refuse("named paths (p = ...)")
        parts: list[Any] = [self.node()]
        while self.is_op("-") or self.is_op("<-"):
            incoming = self.take().text == "<-"
            rel = _Rel(None, None, "in" if incoming else "both")
            if self.is_op("["):
                self.take()
                if self.peek() and self.peek().kind == "name":  # type: ignore[union-attr]
                    rel.var = self.take().text
                if self.is_op(":"):
                    self.take()
                    types = {self.take().text.upper()}
                    while self.is_op("|"):
                        self.take()
                        if self.is_op(":"):
                            self.take()
                        types.add(self.take().text.upper())
                    rel.types = types
                if self.is_op("*"):
                    raise self.refuse("variable-length paths ([*..])")
                if self.is_op("{"):
                    raise self.refuse("relationship properties in a pattern (use WHERE)")
                self.expect("]")
            if self.is_op("->"):
                self.take()
                if incoming:
                    raise UserError("a relationship cannot point both ways (<-[...]->)")
                rel.direction = "out"
            else:
                self.expect("-")
            parts += [rel, self.node()]
        return parts

    def node(self) -> _Node:
        self.expect("(")
        node = _Node(None, None)
        if self.peek() and self.peek().kind == "name":  # type: ignore[union-attr]
            node.var = self.take().text
        if self.is_op(":"):
            self.take()
            node.label = self.take().text
        if self.is_op("{"):
            self.take()
            key = self.take().text
            if key != "name":
                raise self.refuse(f"matching a node on {key!r} (entities have a name; use WHERE)")
            self.expect(":")
            node.name = self.atom()
            self.expect("}")
        self.expect(")")
        return node

    def item(self) -> _Item:
        start = self.peek()
        expr = self.expr()
        end = self.toks[self.at - 1]
        column = self.query[start.start : end.end] if start else ""
        if self.word() == "AS":
            self.take()
            column = self.take().text
        return _Item(expr, column, aggregate=isinstance(expr, tuple) and expr[0] == "count")

    # conditions: OR < XOR < AND < NOT < comparison
    def condition(self) -> Any:
        return self._joined("OR", lambda: self._joined("XOR", lambda: self._joined("AND", self.negation)))

    def _joined(self, word: str, operand: Callable[[], Any]) -> Any:
        """`operand (WORD operand)*`, left to right."""
        left = operand()
        while self.word() == word:
            self.take()
            left = (word.lower(), left, operand())
        return left

    def negation(self) -> Any:
        if self.word() == "NOT":
            self.take()
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> Any:
        if self.is_op("("):  # a parenthesised condition
            self.take()
            inner = self.condition()
            self.expect(")")
            return inner
        left = self.expr()
        word = self.word()
        tok = self.peek()
        if word == "IS":
            self.take()
            negated = self.word() == "NOT"
            if negated:
                self.take()
            self.expect("NULL")
            return ("isnull", left, negated)
        if word in ("CONTAINS", "IN"):
            self.take()
            return (word.lower(), left, self.expr())
        if word in ("STARTS", "ENDS"):
            self.take()
            self.expect("WITH")
            return (word.lower(), left, self.expr())
        if tok is not None and tok.kind == "op" and tok.text in ("=", "<>", "<", ">", "<=", ">="):
            self.take()
            return ("cmp", tok.text, left, self.expr())
        if tok is not None and tok.kind == "op" and tok.text == "=~":
            raise self.refuse("regular expressions (=~)")
        return ("truthy", left)

    # expressions
    def expr(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise UserError(f"the query ends too soon; the embedded graph understands {SUPPORTED}")
        if tok.kind == "name" and self.peek(1) is not None and self.peek(1).text == "(":  # type: ignore[union-attr]
            return self.call()
        if tok.kind == "name" and tok.word not in ("TRUE", "FALSE", "NULL"):
            if tok.word in _REFUSED:
                raise self.refuse(tok.word)
            self.take()
            if self.is_op("."):
                self.take()
                return ("prop", tok.text, self.take().text)
            return ("var", tok.text)
        return self.atom()

    def call(self) -> Any:
        name = self.take().text
        self.expect("(")
        if name.lower() == "type":
            var = self.take().text
            self.expect(")")
            return ("type", var)
        if name.lower() == "count":
            if self.is_op("*"):
                self.take()
                self.expect(")")
                return ("count", None, False)
            distinct = self.word() == "DISTINCT"
            if distinct:
                self.take()
            inner = self.expr()
            self.expect(")")
            return ("count", inner, distinct)
        raise self.refuse(f"the function {name}()")

    def atom(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return ("lit", ast.literal_eval(tok.text))  # a quoted literal, with its escapes
        if tok.kind == "num":
            return ("lit", json.loads(tok.text))
        if tok.kind == "param":
            return ("param", tok.text[1:])
        if tok.word in ("TRUE", "FALSE"):
            return ("lit", tok.word == "TRUE")
        if tok.word == "NULL":
            return ("lit", None)
        if tok.kind == "op" and tok.text == "[":
            items = []
            while not self.is_op("]"):
                items.append(self.atom())
                if self.is_op(","):
                    self.take()
            self.take()
            return ("list", items)
        raise self.refuse(f"{tok.text!r} here")
