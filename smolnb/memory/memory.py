"""`Memory`: a knowledge graph and a vector store.

Both are tools for the agent and memory that outlives the kernel.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from .. import tracing
from ..errors import BackendError, UserError
from ..logs import logger
from ..redact import redact, redact_obj
from .graph import Fact, GraphStore, open_graph
from .vectors import Embedder, MemoryItem, VectorStore, open_vectors

__all__ = ["Memory"]


class Memory:
    """Graph and vector memory with provenance.

    Args:
        graph: `networkx://PATH` (default under SMOLNB_HOME), `neo4j://HOST:PORT`, or a GraphStore.
        vectors: `lancedb://PATH` (default under SMOLNB_HOME), or a VectorStore.
        embedder: how texts become vectors (all-MiniLM-L6-v2 by default).

    Example:
        >>> memory = Memory(graph="networkx://./kg.json", vectors="lancedb://./vectors")  # doctest: +SKIP
        >>> memory.remember("Ada Lovelace wrote the first program", source="notes")  # doctest: +SKIP
        >>> memory.recall("who wrote the first program?", k=5)  # doctest: +SKIP
    """

    def __init__(
        self, graph: str | GraphStore | None = None, vectors: str | VectorStore | None = None, embedder: Embedder | None = None
    ) -> None:
        self.graph = open_graph(graph)
        self.vectors = open_vectors(vectors, embedder)

    @property
    def uri(self) -> dict[str, str]:
        return {"graph": self.graph.uri, "vectors": self.vectors.uri}

    def remember(
        self,
        text: str | None = None,
        *,
        facts: Sequence[tuple[str, str, str]] = (),
        source: str = "",
        provenance: dict[str, Any] | None = None,
        functional: bool = False,
    ) -> list[str]:
        """Store a text and/or facts (subject, relation, object); returns the ids stored.

        Facts stored with a text point to it (`item_id` in their provenance), so recall can follow the graph back to the text a
        fact came from.
        """
        if text is None and not facts:
            raise UserError("remember() needs a text, facts=[(subject, relation, object), ...], or both")
        if text is None:
            return [
                self.add_fact(s, p, o, functional=functional, **{"source": source, **(provenance or {})}).id for s, p, o in facts
            ]
        return self.remember_many([text], facts=[list(facts)], source=source, provenance=provenance, functional=functional)

    def remember_many(
        self,
        texts: list[str],
        *,
        facts: list[list[tuple[str, str, str]]] | None = None,
        source: str = "",
        provenance: dict[str, Any] | None = None,
        functional: bool = False,
    ) -> list[str]:
        """Store many texts at once (embedded in batches), each with its own facts.

        Returns the ids of the texts and then of the facts.
        """
        if facts is not None and len(facts) != len(texts):
            raise UserError(f"remember_many: {len(texts)} texts but {len(facts)} lists of facts; give one list per text")
        meta = redact_obj({"time": time.time(), "source": source, **(provenance or {})})
        # What memory keeps outlives the kernel and is shown to later runs: no known secret goes in.
        texts = [redact(t) if isinstance(t, str) else t for t in texts]
        facts = [[_redacted_fact(f) for f in item] for item in facts] if facts is not None else None
        with tracing.span("memory.remember", "TOOL", meta.get("run_id"), **{"tool.name": "remember", "smolnb.texts": len(texts)}):
            return self._remember_many(texts, facts, meta, source, functional)

    def _remember_many(
        self,
        texts: list[str],
        facts: list[list[tuple[str, str, str]]] | None,
        meta: dict[str, Any],
        source: str,
        functional: bool,
    ) -> list[str]:
        items = [MemoryItem(text=t, source=source, kind="note", provenance=dict(meta)) for t in texts]
        ids = self.vectors.upsert(items)
        batch = [
            (s, p, o, {**meta, "item_id": item_id})
            for item_id, item_facts in zip(ids, facts or [[] for _ in ids], strict=True)
            for s, p, o in item_facts
        ]
        return ids + [fact.id for fact in self.graph.add_facts(batch, functional=functional)] if batch else ids

    def add_fact(self, subject: str, predicate: str, obj: str, *, functional: bool = False, **provenance: Any) -> Fact:
        subject, predicate, obj = _redacted_fact((subject, predicate, obj))
        return self.graph.add_fact(
            subject, predicate, obj, functional=functional, provenance=redact_obj({"time": time.time(), **provenance})
        )

    def recall(
        self,
        query: str,
        k: int = 5,
        *,
        budget_tokens: int | None = None,
        run_id: str | None = None,
        min_relevance: float | None = None,
    ) -> list[MemoryItem]:
        """The memories most relevant to `query`.

        Vector + full-text search of texts, and the graph around the entities the query names (up to
        two hops, each fact leading back to the text it came from), fused by reciprocal rank and cut
        to `budget_tokens`.

        A text less similar to the query than `min_relevance` (the embedder's calibrated
        `relevance_floor` by default; 0 keeps everything) is left out unless the graph led to it
        from an entity the query names. Each item says how relevant it is (`relevance`, the
        cosine similarity, 0..1) and how it was found (`via`).
        """
        if not query or not query.strip():
            return []
        floor = self.relevance_floor if min_relevance is None else min_relevance
        with tracing.span("memory.recall", "RETRIEVER", run_id, **{"input.value": query, "smolnb.k": k}):
            return self._recall(query, k, budget_tokens, floor)

    @property
    def relevance_floor(self) -> float:
        embedder = getattr(self.vectors, "embedder", None)
        return float(getattr(embedder, "relevance_floor", 0.0))

    def _recall(self, query: str, k: int, budget_tokens: int | None, floor: float) -> list[MemoryItem]:
        from .vectors import background

        # The graph and the vectors at once; the query is embedded once, by the vector search,
        # and handed to the graph's side for the relevance of the texts it reaches.
        embedded: Future[list[float]] = Future()
        graph_items = background(self._graph_items, query, max(k, 10), embedded)
        try:
            texts = self.vectors.search(query, k=max(k, 10), on_vector=embedded.set_result)
        finally:
            if not embedded.done():
                embedded.set_result([])  # no embedding (an empty store): the graph's texts get none
        graph = graph_items.result()
        fused: dict[str, MemoryItem] = {}
        scores: dict[str, float] = {}
        for ranking in (texts, graph):
            for rank, item in enumerate(ranking):
                scores[item.id] = scores.get(item.id, 0.0) + 1.0 / (60 + rank + 1)
                known = fused.setdefault(item.id, item)
                if item.via.startswith("graph") and known is not item:
                    known.via = f"{known.via}; {item.via}"
        relevant = [i for i in fused.values() if i.relevance >= floor or "graph" in i.via]
        ranked = sorted(relevant, key=lambda i: -scores[i.id])[:k]
        for item in ranked:
            item.score = scores[item.id]
        ranked = _within_budget(ranked, budget_tokens)
        return ranked

    def _graph_items(self, query: str, limit: int, embedded: Future[list[float]] | None = None) -> list[MemoryItem]:
        """Texts and facts reached from the entities `query` names, nearest first.

        `embedded` gives the query's embedding when the vector search has made it.
        """
        named = [e for e in self.graph.find_entities(_ngrams(query)) if len(e) > 2]
        if not named:
            return []
        order: list[str] = []
        facts: dict[str, Fact] = {}
        reached: dict[str, str] = {}  # key -> the entity the query named that led to it
        for depth in (1, 2):
            for entity in named:
                for fact in self.graph.neighbors(entity, depth=depth):
                    key = str(fact.provenance.get("item_id") or f"fact:{fact.id}")
                    if key not in facts:
                        facts[key] = fact
                        reached[key] = entity
                        order.append(key)
            if len(order) >= limit:
                break
        order = order[:limit]
        wanted = [key for key in order if not key.startswith("fact:")]
        vector = embedded.result() if embedded is not None else None
        found = self.vectors.get(wanted, vector=vector) if vector else self.vectors.get(wanted, query=query)
        texts = {item.id: item for item in found}
        items = []
        for key in order:
            if key in texts:
                items.append(texts[key])
            elif key.startswith("fact:"):
                fact = facts[key]
                items.append(
                    MemoryItem(
                        text=fact.text(),
                        id=key,
                        kind="fact",
                        source=str(fact.provenance.get("source", "")),
                        provenance=fact.provenance,
                    )
                )
            else:
                continue
            items[-1].via = f"graph: {reached[key]}"
        return items

    def increment(self, subject: str, predicate: str, by: int = 1, **provenance: Any) -> int:
        """Add `by` to a counter fact atomically; returns the new value (see the sharing rules in the README)."""
        return self.graph.increment(subject, predicate, by, provenance={"time": time.time(), **provenance})

    def facts_about(self, entity: str, *, include_past: bool = False) -> list[Fact]:
        """Every fact with `entity` at either end (with `include_past`, superseded ones too)."""
        return self.graph.facts(subject=entity, include_past=include_past) + self.graph.facts(
            object=entity, include_past=include_past
        )

    def forget(self, ids: list[str] | None = None, *, source: str | None = None, subject: str | None = None) -> int:
        """Delete memories by id or source, and facts about `subject`."""
        gone = 0
        if ids or source is not None:
            gone += self.vectors.delete(ids, source=source)
        if subject is not None:
            gone += self.graph.forget(subject=subject)
        return gone

    def stored_by(self, run_id: str) -> list[MemoryItem]:
        """Everything run `run_id` stored: its notes, its answer (an outcome) and its facts."""
        items = self.vectors.by_run(run_id) if hasattr(self.vectors, "by_run") else []
        for fact in self.graph.facts(include_past=True):
            if fact.provenance.get("run_id") == run_id:
                items.append(MemoryItem(text=fact.text(), id=f"fact:{fact.id}", kind="fact", provenance=fact.provenance))
        return items

    def forget_ids(self, ids: list[str]) -> int:
        """Delete texts and facts (`fact:ID`) by id; returns how many were deleted."""
        facts = (
            {f"fact:{f.id}": f for f in self.graph.facts(include_past=True)} if any(i.startswith("fact:") for i in ids) else {}
        )
        gone = (
            self.vectors.delete([i for i in ids if not i.startswith("fact:")])
            if any(not i.startswith("fact:") for i in ids)
            else 0
        )
        for key in ids:
            fact = facts.get(key)
            if fact is not None:
                gone += min(1, self.graph.forget(subject=fact.subject, predicate=fact.predicate, object=fact.object))
        return gone

    # -- the agent's side -------------------------------------------------------------------------

    def tools(self, provenance: dict[str, Any] | None = None) -> list[Any]:
        """Memory as tools: search, store, add a fact, query the graph (read-only)."""
        from ..tools import tool

        memory, meta = self, dict(provenance or {})

        @tool(version="1.0.0")
        def search_memory(query: str, k: int = 5) -> list[Any]:
            """Search long-term memory (notes, facts, past runs) for what is relevant to a query.

            Args:
                query: What to look for.
                k: How many results.
            """
            return [item.text for item in memory.recall(query, k=k, run_id=meta.get("run_id"))]

        @tool(version="1.0.0")
        def store_memory(text: str) -> str:
            """Store a note in long-term memory, for later runs.

            Args:
                text: The note.
            """
            memory.remember(text, source="agent", provenance=meta)
            return "stored"

        @tool(version="1.0.0")
        def add_fact(subject: str, relation: str, obj: str) -> str:
            """Store a fact in the knowledge graph, such as ('Ada Lovelace', 'WROTE', 'first program').

            Args:
                subject: Who or what the fact is about.
                relation: The relation, one word like WORKS_AT.
                obj: The other end.
            """
            return memory.add_fact(subject, relation, obj, **{"source": "agent", **meta}).text()

        @tool(version="1.0.0")
        def increment_counter(subject: str, relation: str, by: int = 1) -> int:
            """Add to a counter in the knowledge graph, such as ('experiments', 'RUN_COUNT'); safe when other agents count too.

            Args:
                subject: What is counted.
                relation: The counter's name, one word like RUN_COUNT.
                by: How much to add.
            """
            return memory.graph.increment(subject, relation, by, provenance={"source": "agent", "time": time.time(), **meta})

        @tool(version="1.0.0")
        def query_graph(cypher: str) -> list[Any]:
            """Read the knowledge graph with a Cypher query like MATCH (a)-[r]->(b) RETURN a.name AS a, type(r) AS r, b.name AS b.

            Args:
                cypher: A read-only Cypher query.
            """
            return memory.graph.query(cypher)

        return [search_memory, store_memory, add_fact, increment_counter, query_graph]

    def context_for(self, task: str, k: int = 5, budget_tokens: int = 400, run_id: str | None = None) -> str:
        """The prompt section of memories relevant to `task` ('' when none or when memory is down)."""
        return self.context(task, k, budget_tokens, run_id)[0]

    def context(
        self, task: str, k: int = 5, budget_tokens: int | None = 400, run_id: str | None = None
    ) -> tuple[str, list[MemoryItem]]:
        """(the prompt section, the memories in it): knowledge only, the best `k` within `budget_tokens`."""
        try:
            items = [i for i in self.recall(task, k=k + 5, budget_tokens=None, run_id=run_id) if is_knowledge(i)][:k]
        except BackendError as exc:
            logger.warning("memory is unavailable, the run goes on without it: %s", exc)
            return "\n\n(Long-term memory is unavailable for this run.)", []
        items = _within_budget(items, budget_tokens)
        if not items:
            return "", []
        return "\n\nRelevant memories:\n" + "\n".join(f"- {i.text}" for i in items), items

    def close(self) -> None:
        self.graph.close()


def _within_budget(items: list[MemoryItem], budget_tokens: int | None) -> list[MemoryItem]:
    """The leading items whose words (plus 4 tokens each) fit in `budget_tokens` (None: all)."""
    if budget_tokens is None:
        return items
    kept, used = [], 0
    for item in items:
        used += len(item.text.split()) + 4
        if used > budget_tokens:
            break
        kept.append(item)
    return kept


def _redacted_fact(fact: tuple[str, str, str] | list[str]) -> tuple[str, str, str]:
    subject, predicate, obj = fact
    return redact(str(subject)), redact(str(predicate)), redact(str(obj))


def is_knowledge(item: MemoryItem) -> bool:
    """May `item` be told to a later run as a memory?

    Not a run's own answer, nor a fact a model extracted from one, until the user confirms it (`verified`).
    """
    meta = item.provenance or {}
    if meta.get("verified"):
        return True
    return not (meta.get("outcome") or meta.get("source") == "extraction")


def _ngrams(text: str, longest: int = 4) -> list[str]:
    """Every run of 1..`longest` words of `text`: the names an entity lookup tries."""
    words = re.findall(r"[\w][\w'.\-]*[\w]|[\w]", text)
    return [" ".join(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)]
