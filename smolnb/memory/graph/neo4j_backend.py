"""`neo4j://` and `bolt://`: facts as relationships between `:Entity` nodes, over the official driver."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ...errors import BackendError, MissingExtraError, UserError
from .base import Fact, GraphStore, _counter_value, _entity, normalize_predicate

__all__ = ["Neo4jGraph"]

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

    def around(self, entities: list[str], *, exclude: Sequence[str] = (), hub: int = 40) -> dict[str, list[Fact]]:
        # one round trip for every name (the embedded graph's default asks per entity)
        rows = self._read(
            "UNWIND $names AS name MATCH (e:Entity {name: name}) WITH name, e WHERE COUNT { (e)--(:Entity) } <= $hub "
            "MATCH (e)-[r]-(x:Entity) "
            "OPTIONAL MATCH (x)-[r2]-(:Entity) WHERE x <> e AND NOT x.name STARTS WITH 'item:' AND NOT x.name IN $exclude "
            "AND COUNT { (x)--(:Entity) } <= $hub "
            "WITH name, collect(DISTINCT r) + collect(DISTINCT r2) AS rels UNWIND rels AS r "
            "WITH DISTINCT name, r RETURN name, startNode(r).name AS s, type(r) AS p, endNode(r).name AS o, r AS r",
            names=list(entities),
            exclude=list(exclude),
            hub=hub,
        )
        found: dict[str, list[Fact]] = {}
        for row in rows:
            found.setdefault(row["name"], []).append(_fact(row))
        return found

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


def _split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """`bolt://user:password@host:port` -> (`bolt://host:port`, user, password)."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if password:
        from ...redact import add_secret

        add_secret(unquote(password))  # redacted from the store, spans, logs and prompts from now on
        add_secret(password)
    return urlunsplit(parts._replace(netloc=hostport)), unquote(user) or None, unquote(password) if password else None
