"""Word lists the memory reads text with: function words carry no topic."""

from __future__ import annotations

import re

__all__ = ["STOP_WORDS", "content_words"]

_FUNCTION_WORDS = """a about after again all also am an and any are as at be because been before being both but by can could
    did do does doing down each even ever every few for from had has have having he her here hers him his how i if
    in into is it its just me more most my no nor not now of off on once only or other our ours out over own same
    she should so some such than that the their theirs them then there these they this those through to too under
    until up us very was we were what when where which while who whom why will with would you your yours"""
STOP_WORDS = frozenset(_FUNCTION_WORDS.split())
_WORD = re.compile(r"[\w][\w'\-]*")


def content_words(text: str) -> str:
    """`text` without its function words ('what did Ana say about Lisbon?' -> 'Ana say Lisbon'); `text` if nothing is left."""
    words = [w for w in _WORD.findall(text) if w.lower() not in STOP_WORDS]
    return " ".join(words) or text
