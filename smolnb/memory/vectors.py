"""Vector stores: what one is (`VectorStore`, `MemoryItem`) and how a URI opens one; LanceDB's is in `lance`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import setting
from ..errors import UserError
from .embedders import Embedder, HashEmbedder, SentenceTransformerEmbedder

__all__ = [
    "Embedder",
    "HashEmbedder",
    "MemoryItem",
    "SentenceTransformerEmbedder",
    "VectorStore",
    "background",
    "open_vectors",
    "register_vector_scheme",
    "time_of",
]

MAX_TEXT = 20_000


@dataclass
class MemoryItem:
    """A remembered text (or fact), as `recall` returns it."""

    text: str
    score: float = 0.0
    source: str = ""
    id: str = ""
    kind: str = "note"  # note | fact | run
    provenance: dict[str, Any] = field(default_factory=dict)
    relevance: float = 0.0  # cosine similarity of the text to the query, 0..1: what a reader compares
    via: str = ""  # how it was found: "meaning", "words", "meaning and words", "graph: ENTITY"


_pool: Any = None


def background(fn: Any, *args: Any) -> Any:
    """Run `fn(*args)` on the memory thread pool; returns its future."""
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smolnb-memory")
    return _pool.submit(fn, *args)


class VectorStore(ABC):
    uri: str

    @abstractmethod
    def upsert(self, items: list[MemoryItem]) -> list[str]: ...

    @abstractmethod
    def search(
        self, query: str, k: int = 5, *, where: str | None = None, on_vector: Callable[[list[float]], None] | None = None
    ) -> list[MemoryItem]:
        """Hybrid search: vector and full-text results fused by reciprocal rank.

        `on_vector` is given the query's embedding as soon as it is made (a caller that needs it
        too does not embed the query again).
        """

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
        """(nearest in meaning, best in words, the query's embedding); a store without separate rankings gives its search."""
        found = self.search(embed or query, k=limit, where=where, on_vector=on_vector)
        if on_meaning is not None:
            on_meaning(found)
        return found, [], []

    @abstractmethod
    def delete(self, ids: list[str] | None = None, *, source: str | None = None) -> int: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def get(self, ids: list[str], query: str | None = None, *, vector: list[float] | None = None) -> list[MemoryItem]:
        """The items with these ids (those that exist); with `query` (or its embedding, `vector`), each with its relevance to it."""

    def settle(self) -> None:
        """Wait for background work on the store to end (none in a store without any)."""
        return None


def _check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise UserError("nothing to remember: the text is empty")
    if len(text) > MAX_TEXT:
        raise UserError(
            f"a text of {len(text):,} characters is too long to remember as one item ({MAX_TEXT:,} at most): split it"
        )
    return text.strip()


def time_of(item: MemoryItem) -> float | None:
    """When the item happened or was said: its provenance's `time` (seconds since the epoch), if it has one."""
    value = (item.provenance or {}).get("time")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# Vector store URI schemes and what opens them; `register_vector_scheme` adds one.
_VECTOR_SCHEMES: dict[str, Callable[[str, Embedder | None], VectorStore]] = {
    "lancedb": lambda rest, embedder: _lance(rest, embedder),
}


def _lance(path: str | Path, embedder: Embedder | None) -> VectorStore:
    from .lance import LanceVectorStore

    return LanceVectorStore(path, embedder)


def register_vector_scheme(scheme: str, factory: Callable[[str, Embedder | None], VectorStore]) -> None:
    """Vector store URIs `scheme://PATH` are opened by `factory(PATH, embedder)` from now on."""
    _VECTOR_SCHEMES[scheme] = factory


def open_vectors(uri: str | VectorStore | None, embedder: Embedder | None = None) -> VectorStore:
    """A vector store by URI: `lancedb://PATH` (default under SMOLNB_HOME)."""
    if isinstance(uri, VectorStore):
        return uri
    if uri is None:
        uri = setting("SMOLNB_VECTORS") or None
    if uri is None or uri == "lancedb://":
        from ..config import home

        return _lance(home() / "vectors", embedder)
    scheme, sep, rest = uri.partition("://")
    factory = _VECTOR_SCHEMES.get(scheme) if sep else None
    if factory is None:
        known = ", ".join(f"{s}://PATH" for s in _VECTOR_SCHEMES)
        raise UserError(f"unknown vector store URI {uri!r}: use {known}")
    return factory(rest, embedder)
