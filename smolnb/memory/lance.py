"""The LanceDB vector store: hybrid search by meaning and words, indexes kept up by the writes."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._retry import Backoff, retry
from ..errors import BackendError, MissingExtraError
from ..logs import logger
from .embedders import Embedder, _drop_shadowing_datasets, default_embedder
from .vectors import MemoryItem, VectorStore, _check_text, background, time_of
from .words import content_words

__all__ = ["LanceVectorStore"]

TEXT_COLUMNS = ["id", "text", "source", "kind", "provenance"]
COLUMNS = [*TEXT_COLUMNS, "vector"]  # what a search returns when relevance is computed from the vectors
_folds: set[threading.Thread] = set()  # index folds in flight: the process waits for them at exit


@atexit.register
def _settle_all() -> None:
    for fold in list(_folds):
        fold.join(timeout=60)


class LanceVectorStore(VectorStore):
    """Memories in a LanceDB table, embedded with `embedder`; hybrid vector + full-text search.

    Indexes are kept up by the writes: a full-text index from the first write, an ANN index
    (IVF-PQ, re-ranked exactly; built in ~5 s at 20k rows) once the table holds `ann_threshold` rows, and
    new rows folded into them on a background thread once more than `fold_rows` are unindexed
    (unindexed rows are still searched, flat; the writer does not wait for the fold).
    """

    ann_threshold = 20_000  # a flat search of 20k MiniLM vectors takes ~35 ms on 2 cores; 100k, ~170 ms
    # A full-text search tokenizes every unindexed row: 5,000 of them cost ~17 ms a query at 100k
    # rows, 1,000 about 3 ms. A fold takes ~0.5 s at 100k rows.
    fold_rows = 1000

    def __init__(self, path: str | Path, embedder: Embedder | None = None, table: str = "memories") -> None:
        _drop_shadowing_datasets()
        from .._imports import import_whole

        # LanceDB logs warnings from its index maintenance to stderr (a notebook cell); errors only.
        os.environ.setdefault("LANCEDB_LOG", "error")
        try:
            lancedb = import_whole("lancedb")
            pa = import_whole("pyarrow")
        except ImportError as exc:
            raise MissingExtraError("memory", "lancedb", "vector memory") from exc
        self.path = Path(path).expanduser()
        self.uri = f"lancedb://{self.path}"
        self.embedder = embedder or default_embedder()
        self.db = lancedb.connect(str(self.path))
        self._lock = threading.Lock()
        self._since_check = 1 << 30  # check the indexes at the first write or search
        self._fold: threading.Thread | None = None
        schema = pa.schema(
            [
                pa.field("id", pa.string()),
                pa.field("text", pa.string()),
                pa.field("vector", pa.list_(pa.float32(), self.embedder.dim)),
                pa.field("source", pa.string()),
                pa.field("kind", pa.string()),
                pa.field("run_id", pa.string()),
                pa.field("ts", pa.float64()),
                pa.field("provenance", pa.string()),
            ]
        )

        def create_or_open() -> Any:
            try:
                return self.db.create_table(table, schema=schema, exist_ok=True)
            except Exception:  # noqa: BLE001 - another process created it at the same moment: open theirs
                return self.db.open_table(table)

        try:
            self.table = retry(create_or_open, retry_if=lambda e: True, backoff=Backoff(0.05, cap=0.5), retries=9)
        except Exception as exc:
            raise BackendError(f"cannot create or open the LanceDB table {table!r} in {self.path}: {exc}") from exc

    def upsert(self, items: list[MemoryItem]) -> list[str]:
        import json
        import uuid

        if not items:
            return []
        texts = [_check_text(i.text) for i in items]
        vectors = self.embedder.embed(texts)
        fresh = all(not item.id for item in items)  # new ids: a plain append, no merge needed
        rows = []
        for item, text, vector in zip(items, texts, vectors, strict=True):
            item.id = item.id or uuid.uuid4().hex[:16]
            rows.append(
                {
                    "id": item.id,
                    "text": text,
                    "vector": vector,
                    "source": item.source,
                    "kind": item.kind,
                    "run_id": str(item.provenance.get("run_id", "")),
                    "ts": time.time() if (when := time_of(item)) is None else when,
                    "provenance": json.dumps(item.provenance, default=str),
                }
            )
        with self._lock:
            self._commit(rows, fresh)
            self._since_check += len(rows)
            if self._since_check >= self.fold_rows:
                self._maintain()
        return [i.id for i in items]

    def _commit(self, rows: list[dict[str, Any]], fresh: bool) -> None:
        """Write rows; a commit that loses a race with another process's commit is tried again.

        A failed commit wrote nothing, so trying again neither loses nor duplicates.
        """

        def commit() -> None:
            if fresh:
                _drop_shadowing_datasets()  # lancedb's add() probes sys.modules["datasets"]
                self.table.add(rows)
            else:
                self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows)

        def lost_a_race(exc: Exception) -> bool:
            return any(word in str(exc).lower() for word in ("commit", "conflict", "retry", "concurrent"))

        try:
            retry(commit, retry_if=lost_a_race, backoff=Backoff(0.02, cap=1.0), retries=11)
        except Exception as exc:
            raise BackendError(f"writing to the LanceDB table at {self.path} failed: {exc}") from exc

    def _indexes(self) -> dict[str, Any]:
        return {i.index_type: i for i in self.table.list_indices()}

    def _maintain(self) -> None:
        """Create the indexes the table's size calls for, and fold new rows into them.

        Another process doing the same at the same moment makes this one give way until the next check.
        """
        try:
            self._maintain_indexes()
        except Exception as exc:  # noqa: BLE001 - a commit conflict with another writer; searches still work, flat
            logger.debug("index maintenance of %s deferred: %s", self.uri, exc)
            self._since_check = 500

    def _maintain_indexes(self) -> None:
        self._since_check = 0
        indexes = self._indexes()
        rows = self.table.count_rows()
        if rows == 0:
            return
        if "FTS" not in indexes:
            from lancedb.index import FTS

            self.table.create_index("text", config=FTS(), replace=True)
        if not any(kind.upper() == "BTREE" for kind in indexes):  # get(ids): recall's graph side reads texts by id
            from lancedb.index import BTree

            self.table.create_index("id", config=BTree(), replace=True)
        if rows >= self.ann_threshold and not any(kind.upper().startswith("IVF") for kind in indexes):  # IvfPq, IVF_PQ
            from lancedb.index import IvfPq

            dim = self.embedder.dim  # ~4,000 rows a partition; 8 dimensions a sub-vector (re-ranked exactly)
            config = IvfPq(
                distance_type="l2",
                num_partitions=max(8, rows // 4096),  # at least the 8 a search probes
                num_sub_vectors=dim // 8 if dim % 8 == 0 else 1,
                max_iterations=20,
            )
            self.table.create_index("vector", config=config, replace=True)
            indexes = self._indexes()
        if self._unindexed(indexes) > self.fold_rows and (self._fold is None or not self._fold.is_alive()):
            self._fold = threading.Thread(target=self._fold_in, name="smolnb-lancedb-fold", daemon=True)
            _folds.add(self._fold)
            self._fold.start()

    def _fold_in(self) -> None:
        """Fold the unindexed rows into the indexes (and compact), until no more than `fold_rows` are left.

        Writes made during a fold are folded by the next pass; a race lost to a writer waits for the next check.
        """
        try:
            for _ in range(10):
                self.table.optimize()
                if self._unindexed(self._indexes()) <= self.fold_rows:
                    break
        except Exception as exc:  # noqa: BLE001 - searches still see every row, flat
            logger.debug("folding new rows into the indexes of %s deferred: %s", self.uri, exc)
        finally:
            _folds.discard(threading.current_thread())

    def _unindexed(self, indexes: dict[str, Any]) -> int:
        return max((self.table.index_stats(i.name).num_unindexed_rows for i in indexes.values()), default=0)

    def settle(self) -> None:
        """Wait for a fold in flight to end (before the folder is moved or deleted, and at exit)."""
        fold = self._fold
        if fold is not None:
            fold.join()

    def search(
        self, query: str, k: int = 5, *, where: str | None = None, on_vector: Callable[[list[float]], None] | None = None
    ) -> list[MemoryItem]:
        by_meaning, by_words, _ = self.rankings(query, max(k * 4, 20), where=where, on_vector=on_vector)
        return _fuse([by_meaning, by_words], k)

    def rankings(
        self,
        query: str,
        limit: int,
        *,
        where: str | None = None,
        embed: str | None = None,
        on_vector: Callable[[list[float]], None] | None = None,
        on_meaning: Callable[[list[MemoryItem]], None] | None = None,
    ) -> tuple[list[MemoryItem], list[MemoryItem], list[float]]:
        """(nearest in meaning, best in words, the query's embedding): each ranking up to `limit` long.

        `on_vector` gets the embedding as soon as it is made, `on_meaning` the nearest as soon as they are found.

        `embed` is the text embedded for the meaning search (`query` when None); the full-text search reads `query`.
        Every item carries its relevance (cosine similarity to the embedding).
        """
        if not query.strip():
            return [], [], []
        if self._since_check >= 1 << 30:
            with self._lock:
                self._maintain()  # a table written before this process opened it
        [vector] = self.embedder.embed([embed or query])
        # after the embedding, not beside it: both use every core, and on 2 cores running them at once
        # made each twice as slow (recall at 100k: 53-65 -> 42-45 ms)
        by_text = background(self._text_search, query, limit, where)  # meanwhile: search by vector
        if on_vector is not None:
            on_vector(vector)
        # exact distances (re-ranked), so no vectors are read: for unit vectors, cosine = 1 - squared L2 / 2
        by_vector = self.table.search(vector).select([*TEXT_COLUMNS, "_distance"]).limit(limit).nprobes(8).refine_factor(4)
        if where:
            by_vector = by_vector.where(where, prefilter=True)
        try:
            meaning = _items(by_vector.to_arrow(), None, "meaning")
        except Exception:  # noqa: BLE001 - an empty table has no vectors to search yet
            if self.table.count_rows():
                raise
            meaning = []
        if on_meaning is not None:
            on_meaning(meaning)
        words = _items(by_text.result(), vector, "words")
        return meaning, words, vector

    def _text_search(self, query: str, limit: int, where: str | None) -> Any:
        try:
            # function words match nearly every row: dropping them keeps the same ranking, much sooner
            by_text = self.table.search(content_words(query), query_type="fts").select([*COLUMNS, "_score"]).limit(limit)
            if where:
                by_text = by_text.where(where, prefilter=True)
            return by_text.to_arrow()
        except Exception:  # noqa: BLE001 - a query FTS cannot parse still gets vector results
            return None

    def vector_search(self, query: str, k: int = 5) -> list[MemoryItem]:
        """Plain vector search (the baseline `Memory.recall` is measured against)."""
        if self.table.count_rows() == 0:
            return []
        [vector] = self.embedder.embed([query])
        rows = self.table.search(vector).select([*TEXT_COLUMNS, "_distance"]).limit(k).nprobes(8).refine_factor(4).to_arrow()
        items = _items(rows, None, "meaning")
        for item, distance in zip(items, rows.column("_distance").to_pylist(), strict=True):
            item.score = 1.0 - float(distance)
        return items

    def delete(self, ids: list[str] | None = None, *, source: str | None = None) -> int:
        before = self.table.count_rows()
        if ids:
            quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
            self.table.delete(f"id IN ({quoted})")
        if source is not None:
            self.table.delete("source = '" + source.replace("'", "''") + "'")
        return int(before - self.table.count_rows())

    def count(self) -> int:
        return int(self.table.count_rows())

    def by_run(self, run_id: str) -> list[MemoryItem]:
        """What the run `run_id` stored (its notes and its answer)."""
        quoted = run_id.replace("'", "''")
        return _items(self.table.search().select(TEXT_COLUMNS).where(f"run_id = '{quoted}'").limit(10_000).to_arrow(), None)

    def containing(self, words: str) -> list[MemoryItem]:
        """The items whose text contains `words` (case-insensitive)."""
        wanted = words.casefold()
        rows = self.table.search().select(["id", "text"]).limit(max(self.count(), 1)).to_list()
        return self.get([r["id"] for r in rows if wanted in r["text"].casefold()])

    def get(self, ids: list[str], query: str | None = None, *, vector: list[float] | None = None) -> list[MemoryItem]:
        """The items with these ids (those that exist); with `query` (or its embedding, `vector`), each with its relevance to it."""
        if not ids:
            return []
        quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
        rows = self.table.search().select(COLUMNS).where(f"id IN ({quoted})").limit(len(ids)).to_arrow()
        if vector is None and query and rows.num_rows:
            vector = self.embedder.embed([query])[0]
        return _items(rows, vector)


def _items(rows: Any, query_vector: list[float] | None, via: str = "") -> list[MemoryItem]:
    """Items from an Arrow table of rows, their relevance computed in one go.

    From the query's vector and the rows' vectors, or, without a query vector, from `_distance`
    (squared L2 between unit vectors). A row's `_score` (BM25) becomes the item's score.
    """
    import json

    import numpy as np

    if rows is None or rows.num_rows == 0:
        return []
    columns = rows.to_pydict()
    n = rows.num_rows
    if query_vector is not None and "vector" in columns:
        flat = rows.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        relevance = flat.reshape(n, -1).astype(np.float32) @ np.asarray(query_vector, dtype=np.float32)
    elif "_distance" in columns:
        relevance = 1.0 - np.asarray(columns["_distance"], dtype=np.float32) / 2
    else:
        relevance = np.zeros(n, dtype=np.float32)
    relevance = np.clip(relevance, 0.0, 1.0)
    scores = columns.get("_score") or [0.0] * n
    return [
        MemoryItem(
            text=columns["text"][i],
            score=float(scores[i] or 0.0),
            source=columns["source"][i] or "",
            id=columns["id"][i],
            kind=columns["kind"][i] or "note",
            provenance=json.loads(columns["provenance"][i] or "{}"),
            relevance=float(relevance[i]),
            via=via,
        )
        for i in range(n)
    ]


def _fuse(rankings: list[list[MemoryItem]], k: int, c: int = 60) -> list[MemoryItem]:
    """Reciprocal-rank fusion of the vector ranking and the full-text one."""
    scores: dict[str, float] = {}
    items: dict[str, MemoryItem] = {}
    found: dict[str, set[str]] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item.id] = scores.get(item.id, 0.0) + 1.0 / (c + rank + 1)
            items.setdefault(item.id, item)
            found.setdefault(item.id, set()).add(item.via)
    best = sorted(scores, key=lambda i: -scores[i])[:k]
    for i in best:
        items[i].score, items[i].via = scores[i], " and ".join(sorted(found[i]))
    return [items[i] for i in best]
