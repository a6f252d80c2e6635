"""How well agents do on a suite with the local models.

Prints success rate, mean steps, model calls and tokens per task for smolnb's CodeAgent on
each model; if `smolagents` is installed, its CodeAgent on the same model, tasks and server.
On HumanEval (`--suite humaneval` or `humaneval:N`, a seeded sample of N) it also prints the
model's own pass@1 in the same run: one completion a problem through the same server, no agent.

    python bench/agent_quality.py [--models local/qwen2.5-coder-0.5b ...] [--suite basics data_wrangling ...] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent
from smolnb.harness import load_suite, score, scorer_options
from smolnb.harness.evaluate import _preloaded_memory
from smolnb.harness.humaneval import raw_pass
from smolnb.harness.suite import builtin_suite
from smolnb.models.local import KNOWN_MODELS, LocalModel


def run_smolnb(model: LocalModel, tasks, verbose: bool, challenge: bool = False, max_steps: int = 6) -> list[dict]:
    rows = []
    for task in tasks:
        start = time.perf_counter()
        memory = None
        if task.setup.get("memory"):  # memory_facts: the notes and facts the eval stores first
            memory = _preloaded_memory(task.setup["memory"], tempfile.mkdtemp(prefix="smolnb-bench-memory-"))
        agent = CodeAgent(model=model, max_steps=max_steps, challenge=challenge, memory=memory)
        try:
            result = agent.run(task.input, variables=dict(task.setup.get("variables") or {}))
        finally:
            if memory is not None:
                memory.close()
        verdict = score(task.scorer, result.output, task.target, **scorer_options(task, result))
        rows.append(
            {
                "id": task.id,
                "ok": verdict.correct,
                "steps": len(result.action_steps),
                "calls": result.model_calls,
                "in": result.usage.input_tokens,
                "out": result.usage.output_tokens,
                "s": time.perf_counter() - start,
                "format_errors": result.format_errors,
                "output": repr(result.output)[:60],
                "confidence": result.confidence,
            }
        )
        if verbose:
            print(json.dumps(rows[-1]), flush=True)
    return rows


def by_confidence(rows: list[dict]) -> str:
    """Accuracy by how the answer was reached: does "checked" mean right?"""
    parts = []
    for kind in ("checked", "computed", "stated", "forced", "none"):
        group = [r for r in rows if r.get("confidence") == kind]
        if group:
            parts.append(f"{kind} {sum(r['ok'] for r in group)}/{len(group)}")
        else:
            parts.append(f"{kind} 0/0")
    return "    by how the answer was reached: " + ", ".join(parts)


def run_smolagents(model: LocalModel, tasks, verbose: bool, max_steps: int = 6) -> list[dict] | None:
    try:
        import smolagents
    except ImportError:
        return None
    server = model.server()
    rows = []
    for task in tasks:
        # llama.cpp's server wants text content, not lists of parts: smolagents can flatten too
        sm_model = smolagents.LiteLLMModel(
            model_id=f"openai/{model.name}",
            api_base=server.base_url,
            api_key="local",
            flatten_messages_as_text=True,
            temperature=0.0,
            max_tokens=768,
        )
        agent = smolagents.CodeAgent(tools=[], model=sm_model, max_steps=max_steps, verbosity_level=0)
        start = time.perf_counter()
        try:
            output = agent.run(task.input)
        except Exception as exc:  # noqa: BLE001 - counted as a miss
            output = f"error: {exc}"
        steps = [s for s in agent.memory.steps if type(s).__name__ == "ActionStep"]
        tin = sum(getattr(getattr(s, "token_usage", None), "input_tokens", 0) or 0 for s in steps)
        tout = sum(getattr(getattr(s, "token_usage", None), "output_tokens", 0) or 0 for s in steps)
        verdict = score(task.scorer, output, task.target)
        rows.append(
            {
                "id": task.id,
                "ok": verdict.correct,
                "steps": len(steps),
                "calls": len(steps),
                "in": tin,
                "out": tout,
                "s": time.perf_counter() - start,
                "output": repr(output)[:60],
            }
        )
        if verbose:
            print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(label: str, rows: list[dict]) -> str:
    n = len(rows)
    ok = sum(r["ok"] for r in rows)
    return (
        f"{label:44s} {ok:3d}/{n:<3d} ({100 * ok / n:5.1f}%)  steps {statistics.mean(r['steps'] for r in rows):4.2f}  "
        f"calls {statistics.mean(r['calls'] for r in rows):4.2f}  in-tokens {statistics.mean(r['in'] for r in rows):7.0f}  "
        f"out-tokens {statistics.mean(r['out'] for r in rows):5.0f}  s/task {statistics.mean(r['s'] for r in rows):5.1f}"
    )


def run_suite(model: LocalModel, suite: str, args: argparse.Namespace) -> list[str]:
    """One suite on one model: the agent (with challenge=True too if asked), the model alone on HumanEval, smolagents."""
    tasks = load_suite(suite)[: args.limit]
    name, lines = model.model_id, [f"  {len(tasks)} tasks"]
    if builtin_suite(suite):  # HumanEval: the model alone first, the baseline the agent must beat
        raw = raw_pass(model, tasks)
        if args.verbose:
            print("\n".join(json.dumps({"raw": True, **r}) for r in raw), flush=True)
        ok = sum(r["ok"] for r in raw)
        lines.append(
            f"{'the model alone (1 completion)  ' + name:44s} {ok:3d}/{len(raw):<3d} ({100 * ok / len(raw):5.1f}%)  "
            f"in-tokens {statistics.mean(r['in'] for r in raw):7.0f}  out-tokens {statistics.mean(r['out'] for r in raw):5.0f}  "
            f"s/task {statistics.mean(r['s'] for r in raw):5.1f}"
        )
        print(lines[-1], flush=True)
    rows = run_smolnb(model, tasks, args.verbose, max_steps=args.max_steps)
    lines += [summary(f"smolnb CodeAgent     {name}", rows), by_confidence(rows)]
    print("\n".join(lines[-2:]), flush=True)
    if args.challenge:
        rows = run_smolnb(model, tasks, args.verbose, challenge=True, max_steps=args.max_steps)
        lines += [summary(f"  with challenge=True {name}", rows), by_confidence(rows)]
        print("\n".join(lines[-2:]), flush=True)
    if not args.no_smolagents:
        rows = run_smolagents(model, tasks, args.verbose, args.max_steps)
        if rows is not None:
            lines.append(summary(f"smolagents CodeAgent {name}", rows))
            print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b"])
    parser.add_argument(
        "--suite", nargs="+", default=["basics"], help="one or more: basics data_wrangling memory_facts humaneval:80"
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-smolagents", action="store_true")
    parser.add_argument("--challenge", action="store_true", help="also run with CodeAgent(challenge=True), same tasks")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    lines = []
    for name in args.models:
        model = LocalModel(name)
        try:
            model.weights()
        except Exception as exc:  # noqa: BLE001 - e.g. the 1.5B packages are not installed
            print(f"skipping {name}: {exc}")
            continue
        for suite in args.suite:
            lines += [f"suite {suite}, {name}:", *run_suite(model, suite, args)]
    print("\n".join(["", f"temperature 0, max {args.max_steps} steps", *lines]))
    print("known local models:", ", ".join(KNOWN_MODELS))


if __name__ == "__main__":
    main()
