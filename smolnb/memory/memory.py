"""`Memory`: a knowledge graph and a vector store.

Both are tools for the agent and memory that outlives the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .. import tracing
from ..errors import BackendError, UserError
from ..logs import logger
from ..redact import redact, redact_obj
from .graph import Fact, GraphStore, open_graph
from .recall import HUB, STAGES, Recalled, _mentions, mentions, notice_for, rank
from .vectors import Embedder, MemoryItem, VectorStore, open_vectors

__all__ = ["Memory", "is_knowledge"]

Reached = tuple[str, list[str], dict[str, Fact]]  # (entity, keys of what it leads to, the facts by key)


class Memory:
    """Graph and vector memory with provenance.

    Args:
        graph: `networkx://PATH` (default under SMOLNB_HOME), `neo4j://HOST:PORT`, or a GraphStore.
        vectors: `lancedb://PATH` (default under SMOLNB_HOME), or a VectorStore.
        embedder: how texts become vectors (all-MiniLM-L6-v2 by default).
        extract: keep the names each text mentions in the graph, as (name, MENTIONED_IN, item:ID) facts
            (recall's multi-hop goes from a name to every text about it). True: found by a rule, no model;
            worth it for conversations and notes that name people and places, at about a third of ingest
            speed. Or a function from texts to the names in each, such as `ModelNames(model)`.

    Example:
        >>> memory = Memory(graph="networkx://./kg.json", vectors="lancedb://./vectors")  # doctest: +SKIP
        >>> memory.remember("Ada Lovelace wrote the first program", source="notes")  # doctest: +SKIP
        >>> memory.recall("who wrote the first program?", k=5)  # doctest: +SKIP
    """

    def __init__(
        self,
        graph: str | GraphStore | None = None,
        vectors: str | VectorStore | None = None,
        embedder: Embedder | None = None,
        *,
        extract: bool | Callable[[list[str]], list[list[str]]] = False,
    ) -> None:
        self.graph = open_graph(graph)
        self.vectors = open_vectors(vectors, embedder)
        self.extract = extract
        self.stages = STAGES  # the parts of recall that are on (bench/memory_recall.py turns them off one by one)
        self._speakers: tuple[float, set[str]] | None = None

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
        provenance: dict[str, Any] | list[dict[str, Any]] | None = None,
        functional: bool = False,
    ) -> list[str]:
        """Store many texts at once (embedded in batches), each with its own facts.

        `provenance` is one dict for all texts or one per text; its `time` (seconds since the epoch) is
        when the text was said (now by default) and its `speaker` who said it: recall reads both.
        Returns the ids of the texts and then of the facts.
        """
        if facts is not None and len(facts) != len(texts):
            raise UserError(f"remember_many: {len(texts)} texts but {len(facts)} lists of facts; give one list per text")
        if isinstance(provenance, list) and len(provenance) != len(texts):
            raise UserError(
                f"remember_many: {len(texts)} texts but {len(provenance)} provenances; give one dict, or one per text"
            )
        now = time.time()
        each = provenance if isinstance(provenance, list) else [provenance or {}] * len(texts)
        metas = [redact_obj({"time": now, "source": source, **p}) for p in each]
        meta = metas[0] if metas else {}
        # What memory keeps outlives the kernel and is shown to later runs: no known secret goes in.
        texts = [redact(t) if isinstance(t, str) else t for t in texts]
        facts = [[_redacted_fact(f) for f in item] for item in facts] if facts is not None else None
        with tracing.span("memory.remember", "TOOL", meta.get("run_id"), **{"tool.name": "remember", "smolnb.texts": len(texts)}):
            return self._remember_many(texts, facts, metas, source, functional)

    def _remember_many(
        self,
        texts: list[str],
        facts: list[list[tuple[str, str, str]]] | None,
        metas: list[dict[str, Any]],
        source: str,
        functional: bool,
    ) -> list[str]:
        items = [MemoryItem(text=t, source=source, kind="note", provenance=dict(m)) for t, m in zip(texts, metas, strict=True)]
        ids = self.vectors.upsert(items)
        batch = [
            (s, p, o, {**meta, "item_id": item_id})
            for item_id, meta, item_facts in zip(ids, metas, facts or [[] for _ in ids], strict=True)
            for s, p, o in item_facts
        ]
        stored = [fact.id for fact in self.graph.add_facts(batch, functional=functional)] if batch else []
        self._keep_mentions(texts, ids, metas)
        return ids + stored

    def _keep_mentions(self, texts: list[str], ids: list[str], metas: list[dict[str, Any]]) -> None:
        """(speaker, SPEAKS_IN, source) for who spoke, and with `extract`, (name, MENTIONED_IN, item:ID) for each name.

        The graph then leads from a name to every text about it, and recall knows whose words are whose.
        """
        if callable(self.extract):
            named = self.extract(texts)
            if len(named) != len(texts):
                raise UserError(
                    f"the extract function gave names for {len(named)} texts of {len(texts)}: it must give one list a text"
                )
        elif self.extract:
            candidates = {n for text in texts for n in mentions(text)}  # named mid-sentence somewhere in the batch
            known = {n.lower() for n in [*self.graph.find_entities(sorted(candidates)), *candidates]}
            named = [_mentions(text, known) for text in texts]
        else:
            named = [[] for _ in texts]
        batch: list[tuple[str, str, str, dict[str, Any]]] = [
            (name, "MENTIONED_IN", f"item:{item_id}", {**meta, "item_id": item_id})
            for names, item_id, meta in zip(named, ids, metas, strict=True)
            for name in names
            if name != meta.get("speaker")
        ]
        speaking = {(str(m["speaker"]), str(m.get("source") or "memory")) for m in metas if m.get("speaker")}
        batch += [(who, "SPEAKS_IN", where, {"source": where}) for who, where in sorted(speaking)]
        if batch:
            self.graph.add_facts(batch)
        if self._speakers is not None:
            self._speakers[1].update(who for who, _ in speaking)

    def speakers(self) -> set[str]:
        """Who speaks in memory (the `speaker` of the texts stored); re-read each minute."""
        if self._speakers is None or time.time() - self._speakers[0] > 60:
            self._speakers = (time.time(), {f.subject for f in self.graph.facts(predicate="SPEAKS_IN")})
        return self._speakers[1]

    def walk(self, entities: list[str], *, exclude: Sequence[str] = (), limit: int = 10) -> list[Reached]:
        """For each entity: the keys of what its facts lead to (text ids, `fact:ID`), up to `limit`.

        Two hops, only through entities in at most `HUB` facts: a speaker or a common name leads nowhere in particular.
        """
        reached: list[Reached] = []
        for entity, facts in self.graph.around(entities, exclude=exclude, hub=HUB).items():
            keys = list(dict.fromkeys(str(f.provenance.get("item_id") or f"fact:{f.id}") for f in facts))[:limit]
            reached.append((entity, keys, {f"fact:{f.id}": f for f in facts}))
        return reached

    def read_reached(
        self, reached: list[Reached], vector: list[float] | None, known: dict[str, MemoryItem] | None = None
    ) -> list[tuple[str, list[MemoryItem]]]:
        """The texts and facts `walk` reached, read in one go (those in `known` are not read again)."""
        texts = dict(known or {})
        wanted = sorted({k for _, keys, _ in reached for k in keys if not k.startswith("fact:") and k not in texts})
        texts.update((i.id, i) for i in (self.vectors.get(wanted, vector=vector or None) if wanted else []))
        return [
            (entity, [texts[key] if key in texts else _fact_item(by_key[key]) for key in keys if key in texts or key in by_key])
            for entity, keys, by_key in reached
        ]

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
    ) -> Recalled:
        """The memories most relevant to `query`, best first (a list with a `notice`; see `Recalled`).

        Vector + full-text search of texts, and the graph around the entities the query names (up to
        two hops, each fact leading back to the text it came from), fused by reciprocal rank and cut
        to `budget_tokens`.

        A text less similar to the query than `min_relevance` (the embedder's calibrated
        `relevance_floor` by default; 0 keeps everything) is left out unless the graph led to it
        from an entity the query names. Each item says how relevant it is (`relevance`, the
        cosine similarity, 0..1) and how it was found (`via`).
        """
        if not query or not query.strip():
            return Recalled()
        floor = self.relevance_floor if min_relevance is None else min_relevance
        with tracing.span("memory.recall", "RETRIEVER", run_id, **{"input.value": query, "smolnb.k": k}):
            return self._recall(query, k, budget_tokens, floor)

    @property
    def relevance_floor(self) -> float:
        embedder = getattr(self.vectors, "embedder", None)
        return float(getattr(embedder, "relevance_floor", 0.0))

    def _recall(self, query: str, k: int, budget_tokens: int | None, floor: float) -> Recalled:
        ranked, cues = rank(self, query, max(k, 10), self.stages, floor)
        relevant = [i for i in ranked if i.relevance >= floor or "graph" in i.via][:k]
        found = Recalled(_within_budget(relevant, budget_tokens))
        found.notice = notice_for(found, cues, len(ranked) - len(relevant))
        return found

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
            found = memory.recall(query, k=k, run_id=meta.get("run_id"))
            return [item.text for item in found] + ([f"(note: {found.notice})"] if found.notice else [])

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
        self.vectors.settle()
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


def _fact_item(fact: Fact) -> MemoryItem:
    meta = fact.provenance
    return MemoryItem(text=fact.text(), id=f"fact:{fact.id}", kind="fact", source=str(meta.get("source", "")), provenance=meta)
