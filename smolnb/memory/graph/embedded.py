"""`networkx://PATH`: the embedded graph, a JSON snapshot plus an fsynced journal under a file lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...errors import BackendError, MissingExtraError
from .base import Fact, GraphStore, _counter_value, _entity, normalize_predicate

__all__ = ["NetworkxGraph"]


class NetworkxGraph(GraphStore):
    """An embedded graph: a JSON snapshot plus an append-only journal, under a file lock.

    A write appends one JSON line to the journal and fsyncs it (a killed writer leaves at most a
    torn last line, which is ignored); every 2,000 lines the journal is folded into a new
    snapshot, written atomically. Reads see every other writer's committed facts. In memory the
    current facts are the edges of a `networkx.MultiDiGraph` (keyed by fact id), so lookups and
    neighbourhoods cost the size of the neighbourhood, not of the graph.
    """

    COMPACT_EVERY = 2000

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.uri = f"networkx://{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = self.path.with_suffix(self.path.suffix + ".log")
        self._lock = threading.RLock()
        try:
            import networkx
        except ImportError as exc:
            raise MissingExtraError("memory", "networkx", "the embedded graph") from exc
        self._nx_class = networkx.MultiDiGraph
        self._facts: dict[str, Fact] = {}
        self._g = networkx.MultiDiGraph()
        self._version = 0  # bumped by every change seen, for the caches below
        self._lower: tuple[int, dict[str, str]] = (-1, {})
        self._stamp: tuple[int, int] | None = None
        self._offset = 0
        self._lines = 0
        self._pending: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def _locked(self, write: bool) -> Iterator[None]:
        with self._lock, open(self.path.with_suffix(self.path.suffix + ".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            try:
                self._reload()
                self._pending = []
                yield
                if write and self._pending:
                    self._append(self._pending)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp or stamp is None and self._offset == 0 and not self._facts:
            facts: dict[str, Fact] = {}
            if stamp is not None:
                try:
                    data = json.loads(self.path.read_text())
                except json.JSONDecodeError as exc:
                    raise BackendError(f"the graph file {self.path} is not valid JSON ({exc}); it was left as it is") from exc
                facts = {row["id"]: Fact(**row) for row in data.get("facts", [])}
            self._facts, self._stamp, self._offset, self._lines = facts, stamp, 0, 0
            self._g = self._nx_class()
            self._version += 1
            for fact in facts.values():
                if fact.current:
                    self._g.add_edge(fact.subject, fact.object, key=fact.id, fact=fact)
        try:
            with self.journal.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n") + 1  # a torn last line (a killed writer) is not committed
        for line in chunk[:end].splitlines():
            try:
                self._apply(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
            self._lines += 1
        self._offset += end

    def _apply(self, op: dict[str, Any]) -> None:
        self._version += 1
        kind = op["op"]
        if kind == "add":
            fact = Fact(**op["fact"])
            self._facts[fact.id] = fact
            if fact.current:
                self._g.add_edge(fact.subject, fact.object, key=fact.id, fact=fact)
        elif kind == "close":
            closed = self._facts.get(op["id"])
            if closed is not None:
                closed.valid_to = op["valid_to"]
                self._drop_edge(closed)
        elif kind == "forget":
            for fact_id in op["ids"]:
                gone = self._facts.pop(fact_id, None)
                if gone is not None:
                    self._drop_edge(gone)

    def _drop_edge(self, fact: Fact) -> None:
        if self._g.has_edge(fact.subject, fact.object, key=fact.id):
            self._g.remove_edge(fact.subject, fact.object, key=fact.id)
            for node in (fact.subject, fact.object):
                if node in self._g and self._g.degree(node) == 0:
                    self._g.remove_node(node)

    def _record(self, op: dict[str, Any]) -> None:
        self._apply(op)
        self._pending.append(op)

    def _append(self, ops: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(op) + "\n" for op in ops).encode()
        with self.journal.open("ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self._offset += len(data)
        self._lines += len(ops)
        if self._lines >= self.COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}-{threading.get_ident()}")
        with tmp.open("w") as f:
            f.write(json.dumps({"version": 1, "facts": [vars(x) for x in self._facts.values()]}))  # dumps: the C encoder
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)  # atomic: readers see the old graph or the new one
        self.journal.write_bytes(b"")
        stat = self.path.stat()
        self._stamp, self._offset, self._lines = (stat.st_mtime_ns, stat.st_size), 0, 0

    def add_fact(
        self, subject: str, predicate: str, object: str, *, functional: bool = False, provenance: dict[str, Any] | None = None
    ) -> Fact:
        [fact] = self.add_facts([(subject, predicate, object, provenance or {})], functional=functional)
        return fact

    def add_facts(self, facts: list[tuple[str, str, str, dict[str, Any]]], *, functional: bool = False) -> list[Fact]:
        checked = [(_entity(s), normalize_predicate(p), _entity(o), meta) for s, p, o, meta in facts]
        with self._locked(write=True):  # one lock and one fsync for the batch
            return [self._add(s, p, o, functional, meta) for s, p, o, meta in checked]

    def increment(self, subject: str, predicate: str, by: int = 1, *, provenance: dict[str, Any] | None = None) -> int:
        predicate, subject = normalize_predicate(predicate), _entity(subject)
        with self._locked(write=True):  # read, add and write under the exclusive lock
            current = [f for f in self._out(subject) if f.predicate == predicate]
            value = _counter_value(subject, predicate, current[0].object if current else None) + int(by)
            self._add(subject, predicate, str(value), True, provenance)
            return value

    def _add(self, subject: str, predicate: str, object: str, functional: bool, provenance: dict[str, Any] | None) -> Fact:
        for data in (self._g.get_edge_data(subject, object) or {}).values():  # only the edges between the two
            known: Fact = data["fact"]
            if known.predicate == predicate:
                return known
        now = time.time()
        if functional:
            for fact in self._out(subject):
                if fact.predicate == predicate:
                    self._record({"op": "close", "id": fact.id, "valid_to": now})
        fact = Fact(subject, predicate, object, valid_from=now, provenance=dict(provenance or {}))
        self._record({"op": "add", "fact": asdict(fact)})
        return fact

    def facts(
        self, subject: str | None = None, predicate: str | None = None, object: str | None = None, *, include_past: bool = False
    ) -> list[Fact]:
        predicate = normalize_predicate(predicate) if predicate else None
        with self._locked(write=False):
            return [
                f
                for f in self._facts.values()
                if (include_past or f.current)
                and (subject is None or f.subject == subject)
                and (predicate is None or f.predicate == predicate)
                and (object is None or f.object == object)
            ]

    def _out(self, subject: str) -> list[Fact]:
        if subject not in self._g:
            return []
        return [data["fact"] for _, _, data in self._g.out_edges(subject, data=True)]

    def neighbors(self, entity: str, depth: int = 1) -> list[Fact]:
        with self._locked(write=False):
            if entity not in self._g:
                return []
            seen, frontier, found, ids = {entity}, {entity}, [], set()
            for _ in range(depth):
                step = []
                for node in frontier:
                    for edges in (self._g.out_edges(node, data=True), self._g.in_edges(node, data=True)):
                        for _, _, data in edges:
                            if data["fact"].id not in ids:
                                ids.add(data["fact"].id)
                                step.append(data["fact"])
                found += step
                frontier = {x for f in step for x in (f.subject, f.object)} - seen
                seen |= frontier
            return found

    def degree(self, entity: str) -> int:
        with self._locked(write=False):
            return int(self._g.degree(entity)) if entity in self._g else 0

    def find_entities(self, names: list[str]) -> list[str]:
        wanted = {n.lower() for n in names}
        with self._locked(write=False):
            if self._lower[0] != self._version:
                index: dict[str, str] = {}
                for node in self._g.nodes:
                    index.setdefault(node.lower(), node)
                self._lower = (self._version, index)
            return [self._lower[1][n] for n in wanted if n in self._lower[1]]

    def forget(self, subject: str | None = None, predicate: str | None = None, object: str | None = None) -> int:
        predicate = normalize_predicate(predicate) if predicate else None
        with self._locked(write=True):
            doomed = [
                f.id
                for f in self._facts.values()
                if (subject is None or f.subject == subject)
                and (predicate is None or f.predicate == predicate)
                and (object is None or f.object == object)
            ]
            if doomed:
                self._record({"op": "forget", "ids": doomed})
            return len(doomed)

    def entities(self) -> list[str]:
        with self._locked(write=False):
            return sorted(self._g.nodes)

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Answer a read query in the Cypher subset of `smolnb.memory.cypher` (what Neo4j answers, for it)."""
        from .cypher import run_query

        with self._locked(write=False):
            entities = list(self._g.nodes)
        return run_query(cypher, params or {}, self.facts(), entities)
