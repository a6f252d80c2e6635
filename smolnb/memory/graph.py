"""Knowledge graphs: one interface, two backends that answer the same way.

- `networkx://PATH` (the embedded default): a JSON file written atomically under a file lock,
  so a crash never leaves half a graph and writers in several processes lose nothing.
- `neo4j://HOST:PORT` / `bolt://...`: the official driver, parameterized Cypher, a uniqueness
  constraint on entity names, writes with MERGE, and a query tool that runs in READ sessions.

Facts are temporal: a new value for a functional relation closes the old fact (its validity
interval ends) instead of erasing it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import setting
from ..errors import BackendError, MissingExtraError, UserError

__all__ = ["Fact", "GraphStore", "Neo4jGraph", "NetworkxGraph", "open_graph", "register_graph_scheme"]

_PREDICATE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def normalize_predicate(predicate: str) -> str:
    """`"works at"` -> `"WORKS_AT"`; anything that is not a plain identifier is refused."""
    name = re.sub(r"[\s\-]+", "_", predicate.strip()).upper()
    if not _PREDICATE.match(name):
        raise UserError(f"a relation must be a word like 'WORKS_AT', got {predicate!r}")
    return name


@dataclass
class Fact:
    """`subject -[predicate]-> object`, valid from `valid_from` until `valid_to` (None: still true)."""

    subject: str
    predicate: str
    object: str
    valid_from: float = field(default_factory=time.time)
    valid_to: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def text(self) -> str:
        return f"{self.subject} {self.predicate.replace('_', ' ').lower()} {self.object}"


class GraphStore(ABC):
    """What both graph backends answer."""

    uri: str

    @abstractmethod
    def add_fact(
        self, subject: str, predicate: str, object: str, *, functional: bool = False, provenance: dict[str, Any] | None = None
    ) -> Fact:
        """Add a fact (a repeated current fact is not duplicated).

        With `functional`, a current fact with the same subject and predicate but another object is closed, not erased.
        """

    def add_facts(self, facts: list[tuple[str, str, str, dict[str, Any]]], *, functional: bool = False) -> list[Fact]:
        """Add many (subject, predicate, object, provenance) facts; one commit where the backend allows."""
        return [self.add_fact(s, p, o, functional=functional, provenance=meta) for s, p, o, meta in facts]

    @abstractmethod
    def increment(self, subject: str, predicate: str, by: int = 1, *, provenance: dict[str, Any] | None = None) -> int:
        """Add `by` to the counter fact (subject, predicate) atomically and return the new value.

        The old value is closed, not erased; concurrent increments never lose one.
        """

    @abstractmethod
    def facts(
        self, subject: str | None = None, predicate: str | None = None, object: str | None = None, *, include_past: bool = False
    ) -> list[Fact]:
        """Facts matching the given parts."""

    @abstractmethod
    def neighbors(self, entity: str, depth: int = 1) -> list[Fact]:
        """Current facts within `depth` hops of `entity`, either direction."""

    @abstractmethod
    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A read-only query; writes are refused."""

    @abstractmethod
    def forget(self, subject: str | None = None, predicate: str | None = None, object: str | None = None) -> int:
        """Delete facts (all versions) matching the given parts; returns how many."""

    @abstractmethod
    def entities(self) -> list[str]: ...

    def degree(self, entity: str) -> int:
        """How many current facts have `entity` at either end."""
        return len(self.neighbors(entity))

    def find_entities(self, names: list[str]) -> list[str]:
        """The entities among `names` (case-insensitive), spelt as stored."""
        wanted = {n.lower() for n in names}
        return [e for e in self.entities() if e.lower() in wanted]

    def close(self) -> None:  # noqa: B027 - optional hook: the embedded graph holds none
        """Release connections."""


# -- networkx ------------------------------------------------------------------------------------


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


def _entity(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise UserError("an entity needs a non-empty name")
    if len(name) > 500:
        raise UserError(f"an entity name of {len(name):,} characters is too long (500 at most): store long text with remember()")
    return name.strip()


# -- Neo4j ---------------------------------------------------------------------------------------


# A superseded fact stops being a relationship: it becomes a `_Past` node holding the fact, so a
# query's patterns see current facts only, as on the embedded graph; history on request. An
# entity is there while it takes part in a current fact (as on the embedded graph): an object
# left without any is deleted (its history stays in the `_Past` nodes).
_PAST = "_Past"
_CLOSE = (
    f"CREATE (:{_PAST} {{subject: a.name, predicate: type(old), object: x.name, id: old.id, valid_from: old.valid_from, "
    "valid_to: $now, provenance: old.provenance}) DELETE old "
    "WITH DISTINCT a, x WHERE x <> a AND NOT (x)--() DELETE x"
)
_ORPHANS = "MATCH (e:Entity) WHERE NOT (e)--() DELETE e"


class Neo4jGraph(GraphStore):
    """A Neo4j graph over Bolt: facts are relationships typed by their predicate between `:Entity` nodes.

    A superseded fact becomes a `_Past` node (not a relationship), so a query's patterns see current
    facts; `facts(include_past=True)` reads both.
    """

    def __init__(self, uri: str, user: str | None = None, password: str | None = None, database: str | None = None) -> None:
        try:
            import neo4j
        except ImportError as exc:
            raise MissingExtraError("neo4j", "neo4j", "a Neo4j graph") from exc
        uri, uri_user, uri_password = _split_credentials(uri)
        self.uri = uri  # never holds the password: it shows in errors and reprs
        user = user if user is not None else uri_user if uri_user is not None else os.environ.get("NEO4J_USER")
        password = password if password is not None else uri_password
        password = password if password is not None else os.environ.get("NEO4J_PASSWORD")
        auth = (user, password or "") if user else None
        self.database = database
        self.driver = neo4j.GraphDatabase.driver(
            uri, auth=auth, connection_timeout=5, max_transaction_retry_time=30, notifications_min_severity="OFF"
        )
        try:
            self.driver.verify_connectivity()
            with self.driver.session(database=database) as session:
                session.run(
                    "CREATE CONSTRAINT smolnb_entity_name IF NOT EXISTS FOR (e:Entity) REQUIRE e.name IS UNIQUE"
                ).consume()
                # a graph written before superseded facts moved to `_PAST`: move its closed facts now
                session.run(
                    "MATCH (a:Entity)-[old]->(x:Entity) WHERE old.valid_to IS NOT NULL WITH a, old, x, old.valid_to AS now "
                    + _CLOSE.replace("$now", "now")
                ).consume()
        except Exception as exc:
            self.driver.close()
            kind = (
                "rejected the credentials"
                if "auth" in type(exc).__name__.lower() or "unauthorized" in str(exc).lower()
                else "cannot be reached"
            )
            raise BackendError(
                f"the Neo4j server at {uri} {kind} ({type(exc).__name__}: {exc}). Check NEO4J_URI, NEO4J_USER and "
                "NEO4J_PASSWORD, or use the embedded graph (networkx://...)."
            ) from exc

    def _write(self, cypher: str, **params: Any) -> list[Any]:
        with self.driver.session(database=self.database) as session:
            return session.execute_write(lambda tx: list(tx.run(cypher, **params)))

    def _read(self, cypher: str, **params: Any) -> list[Any]:
        with self.driver.session(database=self.database) as session:
            return session.execute_read(lambda tx: list(tx.run(cypher, **params)))

    def add_fact(
        self, subject: str, predicate: str, object: str, *, functional: bool = False, provenance: dict[str, Any] | None = None
    ) -> Fact:
        predicate = normalize_predicate(predicate)  # validated: the only part not passed as a parameter
        subject, object = _entity(subject), _entity(object)
        fact = Fact(subject, predicate, object, provenance=dict(provenance or {}))
        prov = json.dumps(fact.provenance, default=str)

        def work(tx: Any) -> Any:
            tx.run("MERGE (a:Entity {name: $s}) MERGE (b:Entity {name: $o})", s=subject, o=object).consume()
            # a write lock on the subject: concurrent writers of its facts take turns, so none duplicates
            tx.run("MATCH (a:Entity {name: $s}) SET a.touched = $now", s=subject, now=fact.valid_from).consume()
            if functional:
                tx.run(
                    f"MATCH (a:Entity {{name: $s}})-[old:`{predicate}`]->(x:Entity) WHERE x.name <> $o {_CLOSE}",
                    s=subject,
                    o=object,
                    now=fact.valid_from,
                ).consume()
            found = tx.run(
                f"MATCH (:Entity {{name: $s}})-[r:`{predicate}`]->(:Entity {{name: $o}}) "
                "WHERE r.valid_to IS NULL RETURN r LIMIT 1",
                s=subject,
                o=object,
            ).single()
            if found is not None:
                return found["r"]
            return tx.run(
                f"MATCH (a:Entity {{name: $s}}), (b:Entity {{name: $o}}) "
                f"CREATE (a)-[r:`{predicate}` {{id: $id, valid_from: $now, provenance: $prov}}]->(b) RETURN r",
                s=subject,
                o=object,
                id=fact.id,
                now=fact.valid_from,
                prov=prov,
            ).single()["r"]

        with self.driver.session(database=self.database) as session:
            r = session.execute_write(work)
        return Fact(
            subject, predicate, object, valid_from=r["valid_from"], provenance=json.loads(r.get("provenance") or "{}"), id=r["id"]
        )

    def increment(self, subject: str, predicate: str, by: int = 1, *, provenance: dict[str, Any] | None = None) -> int:
        predicate, subject = normalize_predicate(predicate), _entity(subject)
        prov = json.dumps(dict(provenance or {}), default=str)

        def work(tx: Any) -> int:
            now = time.time()
            # the subject's write lock: increments of its counters take turns
            tx.run("MERGE (a:Entity {name: $s}) SET a.touched = $now", s=subject, now=now).consume()
            row = tx.run(
                f"MATCH (:Entity {{name: $s}})-[r:`{predicate}`]->(x:Entity) WHERE r.valid_to IS NULL RETURN x.name AS v LIMIT 1",
                s=subject,
            ).single()
            value = _counter_value(subject, predicate, row["v"] if row else None) + int(by)
            tx.run(f"MATCH (a:Entity {{name: $s}})-[old:`{predicate}`]->(x) {_CLOSE}", s=subject, now=now).consume()
            tx.run(
                f"MERGE (b:Entity {{name: $o}}) WITH b MATCH (a:Entity {{name: $s}}) "
                f"CREATE (a)-[:`{predicate}` {{id: $id, valid_from: $now, provenance: $prov}}]->(b)",
                s=subject,
                o=str(value),
                id=uuid.uuid4().hex[:16],
                now=now,
                prov=prov,
            ).consume()
            return value

        with self.driver.session(database=self.database) as session:
            return int(session.execute_write(work))

    def facts(
        self, subject: str | None = None, predicate: str | None = None, object: str | None = None, *, include_past: bool = False
    ) -> list[Fact]:
        predicate = normalize_predicate(predicate) if predicate else None
        rows = self._read(
            "MATCH (a:Entity)-[r]->(b:Entity) WHERE ($s IS NULL OR a.name = $s) AND ($o IS NULL OR b.name = $o) "
            "AND ($p IS NULL OR type(r) = $p) RETURN a.name AS s, type(r) AS p, b.name AS o, r AS r "
            f"UNION ALL MATCH (r:{_PAST}) WHERE $past AND ($s IS NULL OR r.subject = $s) AND ($o IS NULL OR r.object = $o) "
            "AND ($p IS NULL OR r.predicate = $p) RETURN r.subject AS s, r.predicate AS p, r.object AS o, r AS r",
            s=subject,
            o=object,
            p=predicate,
            past=include_past,
        )
        return sorted((_fact(row) for row in rows), key=lambda f: f.valid_from)

    def degree(self, entity: str) -> int:
        rows = self._read("MATCH (e:Entity {name: $e})-[r]-(:Entity) RETURN count(r) AS n", e=entity)
        return int(rows[0]["n"]) if rows else 0

    def neighbors(self, entity: str, depth: int = 1) -> list[Fact]:
        depth = max(1, min(int(depth), 5))
        rows = self._read(
            f"MATCH (e:Entity {{name: $e}}) OPTIONAL MATCH (e)-[*1..{depth}]-(n:Entity) "
            "WITH e, collect(DISTINCT n) AS found WITH found + [e] AS nodes "
            "UNWIND nodes AS x MATCH (x)-[r]->(y:Entity) WHERE y IN nodes "
            "RETURN DISTINCT x.name AS s, type(r) AS p, y.name AS o, r AS r",
            e=entity,
        )
        return [_fact(row) for row in rows]

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        import neo4j

        try:
            return [{key: _plain(value) for key, value in row.items()} for row in self._read(cypher, **(params or {}))]
        except neo4j.exceptions.ClientError as exc:
            if "write" in str(exc).lower() or "not allowed" in str(exc).lower():
                raise UserError(f"the graph query tool is read-only: {exc.message}") from None
            raise UserError(f"the query failed: {exc.message}") from None

    def forget(self, subject: str | None = None, predicate: str | None = None, object: str | None = None) -> int:
        predicate = normalize_predicate(predicate) if predicate else None

        def work(tx: Any) -> int:
            rows = tx.run(
                "MATCH (a:Entity)-[r]->(b:Entity) WHERE ($s IS NULL OR a.name = $s) AND ($o IS NULL OR b.name = $o) "
                "AND ($p IS NULL OR type(r) = $p) DELETE r RETURN count(r) AS n "
                f"UNION ALL MATCH (r:{_PAST}) WHERE ($s IS NULL OR r.subject = $s) AND ($o IS NULL OR r.object = $o) "
                "AND ($p IS NULL OR r.predicate = $p) DELETE r RETURN count(r) AS n",
                s=subject,
                o=object,
                p=predicate,
            )
            removed = sum(int(row["n"]) for row in rows)
            tx.run(_ORPHANS).consume()
            return removed

        with self.driver.session(database=self.database) as session:
            return int(session.execute_write(work))

    def entities(self) -> list[str]:
        return [row["n"] for row in self._read("MATCH (e:Entity) WHERE (e)--() RETURN e.name AS n ORDER BY n")]

    def find_entities(self, names: list[str]) -> list[str]:
        if not names:
            return []
        query = "MATCH (e:Entity) WHERE toLower(e.name) IN $names AND (e)--() RETURN e.name AS n"
        return [row["n"] for row in self._read(query, names=sorted({n.lower() for n in names}))]

    def close(self) -> None:
        self.driver.close()


def _plain(value: Any) -> Any:
    """A query result as plain data, as the embedded graph gives it.

    An entity is {"name": ...}; a fact is {"type", "id", "valid_from", "provenance" (JSON)}.
    """
    import neo4j.graph

    if isinstance(value, neo4j.graph.Node):
        return dict(value.items())
    if isinstance(value, neo4j.graph.Relationship):
        return {**dict(value.items()), "type": value.type}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _fact(row: Any) -> Fact:
    r = row["r"]
    return Fact(
        row["s"],
        row["p"],
        row["o"],
        valid_from=r.get("valid_from", 0.0),
        valid_to=r.get("valid_to"),
        provenance=json.loads(r.get("provenance") or "{}"),
        id=r.get("id", ""),
    )


def _counter_value(subject: str, predicate: str, value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise UserError(f"{subject} {predicate} is {value!r}, not a counter: increment() needs a whole number there") from None


def _split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """`bolt://user:password@host:port` -> (`bolt://host:port`, user, password)."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if password:
        from ..redact import add_secret

        add_secret(unquote(password))  # redacted from the store, spans, logs and prompts from now on
        add_secret(password)
    return urlunsplit(parts._replace(netloc=hostport)), unquote(user) or None, unquote(password) if password else None


# Graph URI schemes and what opens them; `register_graph_scheme` adds one.
_GRAPH_SCHEMES: dict[str, Callable[[str, str], GraphStore]] = {
    "networkx": lambda uri, rest: NetworkxGraph(rest),
    **{scheme: (lambda uri, rest: Neo4jGraph(uri)) for scheme in ("neo4j", "bolt", "neo4j+s", "bolt+s")},
}


def register_graph_scheme(scheme: str, factory: Callable[[str, str], GraphStore]) -> None:
    """Graph URIs `scheme://...` are opened by `factory(uri, rest_after_scheme)` from now on."""
    _GRAPH_SCHEMES[scheme] = factory


def open_graph(uri: str | GraphStore | None) -> GraphStore:
    """A graph by URI: `networkx://PATH` (default under SMOLNB_HOME) or `neo4j://` / `bolt://`."""
    if isinstance(uri, GraphStore):
        return uri
    if uri is None:
        uri = setting("SMOLNB_GRAPH") or os.environ.get("NEO4J_URI") or None
    if uri is None or uri == "networkx://":
        from ..config import home

        return NetworkxGraph(home() / "graph.json")
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise UserError(f"a graph is named by a URI such as 'networkx://./kg.json' or 'neo4j://127.0.0.1:7687', got {uri!r}")
    factory = _GRAPH_SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in _GRAPH_SCHEMES)
        raise UserError(f"unknown graph URI scheme {scheme!r} in {uri!r}: use one of {known}")
    return factory(uri, rest)
