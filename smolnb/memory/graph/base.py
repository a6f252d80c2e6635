"""What every graph backend answers: facts with validity intervals, and the `GraphStore` interface."""

from __future__ import annotations

import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError

__all__ = ["Fact", "GraphStore", "normalize_predicate"]

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

    def around(self, entities: list[str], *, exclude: Sequence[str] = (), hub: int = 40) -> dict[str, list[Fact]]:
        """For each entity in at most `hub` facts: its facts, and those of the entities next to it.

        Only through entities that are small too, not in `exclude` and not a text's `item:` node: recall's walk
        from the names a query or a hit gives.
        """
        found: dict[str, list[Fact]] = {}
        for entity in entities:
            if self.degree(entity) == 0 or self.degree(entity) > hub:
                continue
            first = self.neighbors(entity)
            facts = {f.id: f for f in first}
            nearby = {x for f in first for x in (f.subject, f.object) if not x.startswith("item:")} - {entity, *exclude}
            for other in sorted(nearby):
                if self.degree(other) <= hub:
                    facts.update((f.id, f) for f in self.neighbors(other))
            found[entity] = list(facts.values())
        return found

    def find_entities(self, names: list[str]) -> list[str]:
        """The entities among `names` (case-insensitive), spelt as stored."""
        wanted = {n.lower() for n in names}
        return [e for e in self.entities() if e.lower() in wanted]

    def close(self) -> None:  # noqa: B027 - optional hook: the embedded graph holds none
        """Release connections."""


def _entity(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise UserError("an entity needs a non-empty name")
    if len(name) > 500:
        raise UserError(f"an entity name of {len(name):,} characters is too long (500 at most): store long text with remember()")
    return name.strip()


def _counter_value(subject: str, predicate: str, value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise UserError(f"{subject} {predicate} is {value!r}, not a counter: increment() needs a whole number there") from None
