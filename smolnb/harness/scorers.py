"""Scorers: did an agent's answer match the task's target?"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UserError, did_you_mean

__all__ = ["SCORERS", "Score", "score"]

_NUMBER = re.compile(r"-?\d[\d,_]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")


@dataclass
class Score:
    """The verdict of a scorer; `error` is set when the scorer itself failed."""

    correct: bool
    explanation: str = ""
    error: str | None = None


def _text(value: Any) -> str:
    text = str(value).strip().strip("'\"`").strip()
    return text.rstrip(".").strip().casefold()


def exact(output: Any, target: Any, **_: Any) -> Score:
    ok = _text(output) == _text(target)
    return Score(ok, f"{output!r} {'==' if ok else '!='} {target!r}")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = _NUMBER.findall(str(value))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").replace("_", ""))
    except ValueError:
        return None


def numeric(output: Any, target: Any, *, tolerance: float = 1e-6, **_: Any) -> Score:
    got, want = _as_number(output), _as_number(target)
    if got is None:
        return Score(False, f"no number in {output!r}")
    assert want is not None, f"target {target!r} is not a number"
    ok = math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance)
    return Score(ok, f"{got} vs {want} (tolerance {tolerance})")


def set_equal(output: Any, target: Any, **_: Any) -> Score:
    def items(value: Any) -> set[str]:
        if isinstance(value, str):
            return {_text(v) for v in re.split(r"[,;\n]", value.strip("[](){}")) if v.strip()}
        return {_text(v) for v in value}

    ok = items(output) == items(target)
    return Score(ok, f"{sorted(items(output))} vs {sorted(items(target))}")


def regex(output: Any, target: Any, **_: Any) -> Score:
    ok = re.search(str(target), str(output), flags=re.IGNORECASE) is not None
    return Score(ok, f"/{target}/ {'matches' if ok else 'does not match'} {str(output)[:80]!r}")


SCORERS: dict[str, Callable[..., Score]] = {"exact": exact, "numeric": numeric, "set": set_equal, "regex": regex}


def score(kind: str, output: Any, target: Any, **options: Any) -> Score:
    """Score `output` against `target` with the scorer `kind`; a failing scorer is recorded, not raised."""
    fn = SCORERS.get(kind)
    if fn is None:
        raise UserError(f"unknown scorer {kind!r}.{did_you_mean(kind, SCORERS)} Known: {', '.join(SCORERS)}")
    try:
        return fn(output, target, **options)
    except Exception as exc:  # noqa: BLE001 - recorded as the scorer's failure
        return Score(False, error=f"{type(exc).__name__}: {exc}")
