"""Names in texts for `Memory(extract=...)`, found by a chat model.

`Memory(extract=True)` finds names with a rule (`recall.mentions`: capitalised words, no model).
`ModelNames(model)` asks a model instead, a batch of texts a call: it also finds names a rule cannot
(lower-case ones, names at a sentence's start). What the model answers is kept only where the text
holds it: a name the model made up never reaches the graph.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ModelError
from ..logs import logger
from .recall import mentions

__all__ = ["ModelNames", "PROMPT"]

PROMPT = """For each numbered line, list the names it mentions: people, pets, places, organisations, \
products, events, works. Copy each name exactly as written. Leave out pronouns and common words.
Answer with JSON only, one key per line number, e.g. {{"1": ["Lena", "Lisbon"], "2": []}}.

{lines}"""


class ModelNames:
    """Ask `model` (a smolnb `Model`) which names each text mentions, `batch` texts a call.

    A reply that is not the JSON asked for falls back to the rule for that batch, with a warning
    in the log: ingest goes on, and no name is lost that the rule would keep.
    """

    def __init__(self, model: Any, batch: int = 8) -> None:
        self.model, self.batch = model, batch
        self.calls = self.fallbacks = 0

    def __call__(self, texts: list[str]) -> list[list[str]]:
        found: list[list[str]] = []
        for start in range(0, len(texts), self.batch):
            found += self._names(texts[start : start + self.batch])
        return found

    def _names(self, texts: list[str]) -> list[list[str]]:
        lines = "\n".join(f"{n}. {' '.join(text.split())[:600]}" for n, text in enumerate(texts, 1))
        self.calls += 1
        try:
            reply = self.model.generate(
                [{"role": "user", "content": PROMPT.format(lines=lines)}], response_format={"type": "json_object"}
            )
            answer = _json_object(reply.content or "")
        except (ModelError, ValueError) as exc:
            self.fallbacks += 1
            logger.warning("name extraction by %s fell back to the rule for %d texts: %s", self.model, len(texts), exc)
            return [mentions(text) for text in texts]
        return [_held(answer.get(str(n)), text) for n, text in enumerate(texts, 1)]


def _json_object(text: str) -> dict[str, Any]:
    match = re.search(r"\{.*\}", text, re.S)
    if match is None:
        raise ValueError(f"the reply holds no JSON object: {text[:120]!r}")
    data = json.loads(match.group(0))
    if not isinstance(data, dict):
        raise ValueError("the reply's JSON is not an object")
    return data


def _held(names: Any, text: str) -> list[str]:
    """The names in `names` that `text` holds as words (case-insensitively), each once."""
    kept: list[str] = []
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str):
            continue
        name = " ".join(name.split()).strip(".,;:!?\"'")
        if 1 < len(name) <= 60 and name not in kept and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.I):
            kept.append(name)
    return kept
