"""How `Memory.recall` ranks what it finds.

1. **Cues.** What the query says besides its topic: the people it names who speak in memory
   (their names leave the text that is embedded, so "Jon's kitchen" finds what was said about any
   kitchen, and their own items get a small lift), a recency cue ("now", "current", "latest"), and
   a time anchor ("before X", "the week after X").
2. **Candidates** from every index: nearest in meaning and best in words; the graph around the
   entities the query names; the graph around the entities the best candidates mention
   (multi-hop: "the person she met at the pottery class" leads to the turns about that person);
   for an anchor, what was said near the anchor's time.
3. **One rerank** of all candidates: relevance (cosine similarity) plus lifts for words, graph,
   speaker and time. `STAGES` names the parts; `Memory.stages` turns them off one by one for the
   ablation in `bench/memory_recall.py`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .vectors import MemoryItem, background, time_of
from .words import STOP_WORDS

if TYPE_CHECKING:
    from .memory import Memory, Reached

__all__ = ["Cues", "Recalled", "STAGES", "mentions", "notice_for", "rank", "read_cues"]

STAGES = frozenset({"words", "graph", "multi-hop", "speaker", "time", "rerank"})
DAY = 86_400.0
HUB = 40  # an entity in more facts than this (a speaker, a common word) leads nowhere in particular

# Capitalised words that open sentences or fill chat without naming anything.
_CHAT_WORDS = """again also back best big congrats don't ever finally first get go going good got great hey hi honestly
    i'm i've it's last let's like lol luck maybe never news next nothing ok okay please pretty really same still
    sure tell thanks that's today tomorrow turns we're we've well wow yeah yes yesterday yet you're
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december christmas"""
COMMON = STOP_WORDS | frozenset(_CHAT_WORDS.split())
_CAPITAL_WORD = re.compile(r"[A-Z][\w'’-]*")
_CAPITAL = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
_RECENCY = re.compile(r"\b(now|current(ly)?|latest|most recent(ly)?|these days|nowadays|at the moment|at present|today)\b", re.I)
_ANCHOR = re.compile(
    r"\b(?:(?:in |during )?the (day|weekend|week|month|year)s?(?: or two)? )?(before|after|since|prior to|following)\s+(.+?)[?.!]*$",
    re.I,
)
_UNIT = {"day": 1.0, "weekend": 3.0, "week": 7.0, "month": 30.0, "year": 365.0}


def mentions(text: str, known: Iterable[str] = ()) -> list[str]:
    """The names `text` mentions: capitalised words and runs of them, not at a sentence's start (unless `known`).

    A rule, not a model: "met Lena at the pottery class" gives Lena; "Turns out Lena plays" gives Lena only
    when Lena is already known. Possessives are cut ("Maya's" is Maya).
    """
    return _mentions(text, {k.lower() for k in known})


def _mentions(text: str, known_lower: set[str]) -> list[str]:
    found: list[str] = []
    for match in _CAPITAL.finditer(text):
        words = [w.removesuffix("'s").removesuffix("’s").strip("'’-") for w in match.group().split()]
        words = [w for w in words if "'" not in w and "’" not in w]  # I'll, Didn't: not names
        before = match.start() - 1
        while before >= 0 and text[before] in " \t\"'(":
            before -= 1
        at_start = before < 0 or text[before] in ".!?:\n"
        while words and (words[0].lower() in COMMON or (at_start and words[0].lower() not in known_lower and len(words) == 1)):
            words, at_start = words[1:], False
        name = " ".join(words)
        if len(name) > 1 and name not in found:
            found.append(name)
    return found


class Recalled(list[MemoryItem]):
    """What `Memory.recall` found (a list of items, best first), and `notice`: what a reader should know about it.

    `notice` is "" when the query found what it asked about. It says so when nothing passed the relevance floor,
    and when the query asks about a person but the best matches were said by someone else and never name them
    ("What colour is Jon's kitchen?" finding Maya's kitchen): the answer is probably not in memory.
    """

    notice: str = ""


def notice_for(items: list[MemoryItem], cues: Cues, dropped: int) -> str:
    if not items:
        return "nothing relevant to this query is in memory" + (f" ({dropped} weaker matches left out)" if dropped else "")
    for person in cues.people:
        best = items[:1]
        if not any(
            (i.provenance or {}).get("speaker") == person or re.search(rf"\b{re.escape(person)}\b", i.text.split(":", 1)[-1])
            for i in best
        ):
            others = sorted({str((i.provenance or {}).get("speaker")) for i in best if (i.provenance or {}).get("speaker")})
            said = f"; the best matches were said by {', '.join(others)}" if others else ""
            return f"nothing said by or about {person} matches this query{said}: the answer is probably not in memory"
    return ""


@dataclass
class Cues:
    """What a query asks besides its topic."""

    people: list[str]  # speakers in memory the query names
    content: str  # the query without their names: what is embedded
    recency: bool  # "now", "current", "latest": the newest of what matches
    direction: str | None  # "before" or "after" the anchor
    anchor: str | None  # the event the time is relative to
    window_days: float | None  # "the week after": 7
    topic: str  # the query without the anchor clause
    anchor_time: float | None = None  # when the anchor was said, once found


def read_cues(query: str, speakers: Iterable[str]) -> Cues:
    """The people, recency and time anchor in `query` (speakers: the names that speak in memory)."""
    words = {w.lower().removesuffix("'s") for w in re.findall(r"[\w'’]+", query)}
    named = [s for s in speakers if s.split()[0].lower() in words and re.search(rf"\b{re.escape(s)}\b", query, re.I)]
    content = _without(query, named)
    anchor = _ANCHOR.search(query)
    direction = topic = window = None
    if anchor:
        unit, word = anchor.group(1), anchor.group(2).lower()
        direction = "before" if word in ("before", "prior to") else "after"
        window = _UNIT.get((unit or "").lower())
        topic = query[: anchor.start()].strip()
    return Cues(
        people=named,
        content=content,
        recency=bool(_RECENCY.search(query)),
        direction=direction,
        anchor=anchor.group(3).strip() if anchor else None,
        window_days=window,
        topic=topic or query,
    )


def rank(memory: Memory, query: str, k: int, stages: frozenset[str], floor: float = 0.0) -> tuple[list[MemoryItem], Cues]:
    """The best `k` items for `query`, every stage in `stages` on (see the module's docstring), and the query's cues."""
    cues = read_cues(query, memory.speakers() if "speaker" in stages else ())
    wide = max(k * 3, 30)
    named: Future[list[Reached]] | None = None
    if "graph" in stages:  # walked while the query is embedded and searched
        entities = [e for e in memory.graph.find_entities(_ngrams(query)) if len(e) > 2 and e not in cues.people]
        named = background(lambda: memory.walk(entities, exclude=cues.people))
    hops: Future[list[tuple[MemoryItem, Reached]]] | None = None

    def expand(nearest: list[MemoryItem]) -> None:  # multi-hop from the nearest hits, while the full-text search ends
        nonlocal hops
        if "multi-hop" in stages:
            parents = [i for i in nearest[:3] if i.relevance >= floor]
            hops = background(lambda: _hops(memory, parents, cues))

    meaning, words, vector = memory.vectors.rankings(cues.content, wide, on_meaning=expand)
    # what the graph reached, from the query's names and from the nearest hits' names, read in one go
    reached_named = named.result() if named is not None else []
    reached_hops = hops.result() if hops is not None else []
    read = memory.read_reached(reached_named + [r for _, r in reached_hops], vector, known={i.id: i for i in meaning + words})
    from_named, from_hops = read[: len(reached_named)], read[len(reached_named) :]
    found: dict[str, MemoryItem] = {}
    lift: dict[str, float] = {}

    def add(items: Iterable[MemoryItem], bonus: float = 0.0, via: str | None = None) -> None:
        for item in items:
            known = found.setdefault(item.id, item)
            lift[item.id] = max(lift.get(item.id, 0.0), bonus)
            if via and via not in known.via:
                known.via = f"{known.via}; {via}" if known.via else via

    add(meaning)
    if "words" in stages:
        best = max((item.score for item in words), default=0.0) or 1.0
        for item in words:  # BM25 against the best: a rare word (a run id, a name) lifts what holds it most
            add([item], 0.25 * (item.score / best) ** 2)
    for entity, items in from_named:
        add(items, 0.1, f"graph: {entity}")
    if "time" in stages and cues.anchor:
        _anchored(memory, cues, wide, vector, add)
    score = {i: found[i].relevance + lift.get(i, 0.0) for i in found}
    if "speaker" in stages and cues.people:
        for i, item in found.items():
            if (item.provenance or {}).get("speaker") in cues.people:
                score[i] += 0.04
    for (parent, _), (entity, items) in zip(reached_hops, from_hops, strict=True):
        for item in items:
            if item.id != parent.id:
                add([item], 0.0, f"graph: {entity} (from a hit)")
                score[item.id] = max(score.get(item.id, item.relevance), 0.5 * (score[parent.id] + item.relevance))
    if "time" in stages:
        _by_time(found, score, cues)
    ranked = sorted(found.values(), key=lambda i: -score[i.id]) if "rerank" in stages else _rrf(meaning, words, found)
    ranked = _distinct(ranked)
    for item in ranked:
        item.score = score.get(item.id, item.score)
    return ranked[:k], cues


def _anchored(memory: Memory, cues: Cues, wide: int, vector: list[float], add: Any) -> None:
    """For "the week after X": when X was said, and the items that match the rest near that time."""
    assert cues.anchor is not None
    anchor_meaning, _, _ = memory.vectors.rankings(cues.anchor, 3)
    moment = next((t for t in map(time_of, anchor_meaning) if t is not None), None)
    if moment is None:
        return
    cues.anchor_time = moment
    span = (cues.window_days or 30.0) * 3 * DAY
    where = f"ts > {moment} AND ts <= {moment + span}" if cues.direction == "after" else f"ts < {moment}"
    near, _, _ = memory.vectors.rankings(cues.topic, wide, where=where, embed=_without(cues.topic, cues.people))
    add(near, 0.05, "time")


def _by_time(found: dict[str, MemoryItem], score: dict[str, float], cues: Cues) -> None:
    """Recency lifts the newest; an anchor lifts what lies on its side, nearest to the time asked."""
    times = {i: t for i, t in ((i, time_of(item)) for i, item in found.items()) if t is not None}
    if not times:
        return
    moment = cues.anchor_time
    if moment is not None:
        target = moment + (cues.window_days or 0.0) * DAY
        scale = max(cues.window_days or 7.0, 3.0) * DAY * 2
        for i, t in times.items():
            on_side = t > moment if cues.direction == "after" else t < moment
            if on_side:  # what lies in the time asked about: the answer, more than the event it is told against
                score[i] += 0.25 * math.exp(-abs(t - target) / scale)
            elif t != moment:
                score[i] -= 0.15
    elif cues.recency:
        first, last = min(times.values()), max(times.values())
        if last > first:
            top = max(score.values())
            for i, t in times.items():
                if score[i] > top - 0.25:  # among what matches, the newest first
                    score[i] += 0.12 * (t - first) / (last - first)


def _hops(memory: Memory, parents: list[MemoryItem], cues: Cues) -> list[tuple[MemoryItem, Reached]]:
    """Multi-hop: the names the nearest hits mention (not the query's own) lead to the other texts about them.

    The graph is asked twice in all: which of the hits' capitalised words are entities, and what is around them.
    """
    query_words = set(cues.content.lower().split())
    speakers = memory.speakers()  # whoever speaks is in every other text: a speaker leads nowhere in particular
    candidates = {}
    for parent in parents:  # every capitalised word and run of them, at a sentence's start too
        words = [w.removesuffix("'s") for w in _CAPITAL_WORD.findall(parent.text) if w.lower() not in COMMON]
        candidates[parent.id] = set(words) | set(mentions(parent.text, words))
    entities = set(memory.graph.find_entities(sorted(set().union(*candidates.values())))) if candidates else set()
    by_name: dict[str, MemoryItem] = {}  # name -> the nearest hit that mentions it
    for parent in parents:
        for name in sorted(candidates[parent.id] & entities):
            if name not in speakers and name.lower() not in query_words:
                by_name.setdefault(name, parent)
    reached = memory.walk(list(by_name), exclude=sorted(speakers), limit=4)
    return [(by_name[r[0]], r) for r in reached]


def _distinct(items: list[MemoryItem]) -> list[MemoryItem]:
    """One of each text: the same words said again add nothing to what a reader learns."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = " ".join(item.text.casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _rrf(meaning: list[MemoryItem], words: list[MemoryItem], found: dict[str, MemoryItem]) -> list[MemoryItem]:
    """Without the rerank: reciprocal-rank fusion of meaning and words, then the rest as found."""
    fused: dict[str, float] = {}
    for ranking in (meaning, words):
        for position, item in enumerate(ranking):
            fused[item.id] = fused.get(item.id, 0.0) + 1.0 / (61 + position)
            found.setdefault(item.id, item)
    rest = [i for i in found if i not in fused]
    return [found[i] for i in sorted(fused, key=lambda i: -fused[i])] + [found[i] for i in rest]


def _without(text: str, names: Iterable[str]) -> str:
    """`text` without `names` (and their possessives); `text` itself if nothing would be left."""
    for name in names:
        text = re.sub(rf"\b{re.escape(name)}(?:'s|’s)?\b", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip() or text


def _ngrams(text: str, longest: int = 4) -> list[str]:
    """Every run of 1..`longest` words of `text`: the names an entity lookup tries."""
    words = re.findall(r"[\w][\w'.\-]*[\w]|[\w]", text)
    words = [w.removesuffix("'s") for w in words]
    return [" ".join(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)]
