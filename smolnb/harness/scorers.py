"""Scorers: did an agent's answer match the task's target?"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..config import setting
from ..errors import UserError, did_you_mean

__all__ = [
    "ASYNC_SCORERS",
    "SCORERS",
    "Score",
    "ajudge",
    "ascore",
    "check",
    "exact",
    "humaneval",
    "judge",
    "numeric",
    "regex",
    "score",
    "set_equal",
    "unanswerable",
]

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


def check(output: Any, target: Any, *, check: str = "", **_: Any) -> Score:
    """A Python check from the suite: an expression over `output` and `target` (and `math`, `re`), e.g.

    `abs(float(output) - target) / target < 0.01`. Suites are trusted files of this project.
    """
    if not check:
        raise UserError("the 'check' scorer needs the task's metadata to hold a 'check' expression")
    safe = {
        "abs": abs,
        "float": float,
        "int": int,
        "str": str,
        "len": len,
        "round": round,
        "sorted": sorted,
        "set": set,
        "list": list,
        "min": min,
        "max": max,
        "sum": sum,
        "all": all,
        "any": any,
        "isinstance": isinstance,
    }
    ok = bool(
        eval(  # noqa: S307 - the suite's own check expression, trusted as the suite file is
            compile(check, "<check>", "eval"),
            {"__builtins__": safe, "math": math, "re": re},
            {"output": output, "target": target},
        )
    )
    return Score(ok, f"{check} -> {ok}")


JUDGE_PROMPT = """You grade answers. Question:
{question}

Reference answer: {target}
Candidate answer: {output}

Does the candidate give the same answer as the reference (ignore wording and formatting)? Reply with one word: YES or NO."""


async def ajudge(output: Any, target: Any, *, question: str = "", judge_model: Any = None, priority: int = 0, **_: Any) -> Score:
    """Model-graded: a judge model (default: SMOLNB_JUDGE_MODEL, else the default model) says YES or NO.

    The call waits its turn in the scheduler like every model call (the model's limits, `priority`).
    """
    from ..models import get_model
    from ..scheduling import scheduler

    model = get_model(judge_model or setting("SMOLNB_JUDGE_MODEL") or None)
    prompt = JUDGE_PROMPT.format(question=question, target=target, output=output)
    async with scheduler.slot(model.model_id, priority=priority, tokens=len(prompt) // 4 + 5) as turn:
        response = await model.agenerate([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=5)
        turn.used_tokens = response.usage.input_tokens + response.usage.output_tokens
    reply = response.content.strip().upper()
    if reply.startswith("YES"):
        return Score(True, f"judge {model.model_id}: YES")
    if reply.startswith("NO"):
        return Score(False, f"judge {model.model_id}: NO")
    raise ValueError(f"the judge {model.model_id} answered {reply[:40]!r}, not YES or NO")


def judge(output: Any, target: Any, **options: Any) -> Score:
    """The sync twin of `ajudge`."""
    from .._sync import run_sync

    return run_sync(ajudge(output, target, **options))


_ABSTAINS = re.compile(
    r"\b(i )?(do not|don't|cannot|can't|could not|couldn't) (know|tell|find|say|determine|answer)|\bno (information|record|"
    r"mention|answer|evidence|data)\b|\bnot (mentioned|known|stated|in (the |my )?memory|available|found|recorded)|\bunknown\b|"
    r"\bunanswerable\b|\bnothing (said|known|about)",
    re.IGNORECASE,
)


def unanswerable(output: Any, target: Any = None, **_: Any) -> Score:
    """For a question with no answer: right only when the output says it does not know; a confident answer is wrong."""
    if output is None or not str(output).strip():
        return Score(True, "no answer given")
    ok = _ABSTAINS.search(str(output)) is not None
    return Score(ok, "says it does not know" if ok else f"answered {str(output)[:80]!r} to a question with no answer")


def humaneval(output: Any, target: Any = None, **options: Any) -> Score:
    """HumanEval: the problem's official tests on the answer, in the sandbox (`smolnb.harness.humaneval`)."""
    from .humaneval import run_tests

    return run_tests(output, **options)


SCORERS: dict[str, Callable[..., Score]] = {
    "exact": exact,
    "numeric": numeric,
    "set": set_equal,
    "regex": regex,
    "check": check,
    "unanswerable": unanswerable,
    "judge": judge,
    "humaneval": humaneval,
}


ASYNC_SCORERS: dict[str, Callable[..., Awaitable[Score]]] = {"judge": ajudge}
"""Scorers that call a model: awaited by `ascore` (the eval's loop), so their calls go through the scheduler."""


async def ascore(kind: str, output: Any, target: Any, **options: Any) -> Score:
    """`score`, awaiting a scorer that calls a model instead of blocking the loop on it."""
    fn = ASYNC_SCORERS.get(kind)
    if fn is None:
        return score(kind, output, target, **options)
    try:
        return await fn(output, target, **options)
    except Exception as exc:  # noqa: BLE001 - recorded as the scorer's failure
        return Score(False, error=f"{type(exc).__name__}: {exc}")


def score(kind: str, output: Any, target: Any, **options: Any) -> Score:
    """Score `output` against `target` with the scorer `kind`; a failing scorer is recorded, not raised."""
    fn = SCORERS.get(kind)
    if fn is None:
        raise UserError(f"unknown scorer {kind!r}.{did_you_mean(kind, SCORERS)} Known: {', '.join(SCORERS)}")
    try:
        return fn(output, target, **options)
    except Exception as exc:  # noqa: BLE001 - recorded as the scorer's failure
        return Score(False, error=f"{type(exc).__name__}: {exc}")
