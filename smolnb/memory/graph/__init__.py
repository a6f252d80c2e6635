"""Knowledge graphs: one interface, two backends that answer the same way.

- `networkx://PATH` (the embedded default): a JSON file written atomically under a file lock,
  so a crash never leaves half a graph and writers in several processes lose nothing.
- `neo4j://HOST:PORT` / `bolt://...`: the official driver, parameterized Cypher, a uniqueness
  constraint on entity names, writes with MERGE, and a query tool that runs in READ sessions.

Facts are temporal: a new value for a functional relation closes the old fact (its validity
interval ends) instead of erasing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ...config import setting
from ...errors import UserError
from .base import Fact, GraphStore, normalize_predicate
from .embedded import NetworkxGraph
from .neo4j_backend import Neo4jGraph

__all__ = ["Fact", "GraphStore", "Neo4jGraph", "NetworkxGraph", "normalize_predicate", "open_graph", "register_graph_scheme"]


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
        from ...config import home

        return NetworkxGraph(home() / "graph.json")
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise UserError(f"a graph is named by a URI such as 'networkx://./kg.json' or 'neo4j://127.0.0.1:7687', got {uri!r}")
    factory = _GRAPH_SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in _GRAPH_SCHEMES)
        raise UserError(f"unknown graph URI scheme {scheme!r} in {uri!r}: use one of {known}")
    return factory(uri, rest)
