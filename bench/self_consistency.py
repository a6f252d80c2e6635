"""Does voting over several runs of the agent pay on the local model?

Self-consistency: run the agent N times on a task (the first greedy, the others sampled at
temperature 0.7 with their own seeds), and answer with the executed answer most runs agree on
(ties go to the greedy run). Prints, on the same tasks in the same run: the greedy run's
accuracy, the vote's, and what the vote costs (model tokens and seconds, against greedy alone).
llama.cpp's server here answers one request at a time, so N runs cost about N times one (see
bench/parallel_sequences.py for what batching N sequences would save).

    python bench/self_consistency.py [--model local/qwen2.5-coder-0.5b] [--suite basics] [--n 5] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent
from smolnb.harness import load_suite, score, scorer_options
from smolnb.models.local import LocalModel


def key(value: object) -> str:
    """Answers that are the same value vote together (210 and 210.0, ' Monday' and 'Monday')."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    parser.add_argument("--suite", default="basics")
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    model = LocalModel(args.model)
    tasks = load_suite(args.suite)[: args.limit]
    greedy_ok = vote_ok = 0
    greedy_cost, vote_cost = [0, 0.0], [0, 0.0]
    for task in tasks:
        runs = []
        for k in range(args.n):
            params = {"temperature": 0.0} if k == 0 else {"temperature": 0.7, "seed": k}
            started = time.perf_counter()
            agent = CodeAgent(model=model, max_steps=6, model_params=params)
            result = agent.run(task.input, variables=dict(task.setup.get("variables") or {}))
            seconds = time.perf_counter() - started
            right = score(task.scorer, result.output, task.target, **scorer_options(task, result)).correct
            runs.append((result, right))
            vote_cost[0] += result.usage.input_tokens + result.usage.output_tokens
            vote_cost[1] += seconds
            if k == 0:
                greedy_cost[0] += result.usage.input_tokens + result.usage.output_tokens
                greedy_cost[1] += seconds
        answered = [(key(r.output), right) for r, right in runs if r.status == "success"]
        counts = Counter(k for k, _ in answered)
        pick = None
        if counts:
            top = max(counts.values())
            tied = [k for k, c in counts.items() if c == top]
            first = key(runs[0][0].output)
            pick = first if first in tied else tied[0]
        greedy_ok += runs[0][1]
        vote_ok += any(right for k, right in answered if k == pick)
        print(f"{task.id}: greedy {'right' if runs[0][1] else 'wrong'}, votes {dict(counts)}", flush=True)
    n = len(tasks)
    print(f"\n{args.suite}, {n} tasks, {args.model}, {args.n} runs a task (1 greedy + {args.n - 1} at temperature 0.7)")
    print(f"greedy alone         {greedy_ok}/{n} ({100 * greedy_ok / n:.1f}%)")
    print(f"vote of {args.n}            {vote_ok}/{n} ({100 * vote_ok / n:.1f}%)")
    print(
        f"cost of the vote     {vote_cost[0] / greedy_cost[0]:.2f}x the tokens, {vote_cost[1] / greedy_cost[1]:.2f}x the seconds"
    )


if __name__ == "__main__":
    main()
