"""The cost of checkpointing: per step with the run store on vs off (zero-latency model), and
the time to resume a 50-step run.

    python bench/state.py [--runs 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent  # noqa: E402
from smolnb.models import TestModel  # noqa: E402
from smolnb.persistence import RunStore  # noqa: E402

STEPS = [
    "Thought: load.\n```python\nrows = [{'id': i, 'v': i * i} for i in range(50)]\nprint(len(rows))\n```",
    "Thought: sum.\n```python\ntotal = sum(r['v'] for r in rows)\nprint(total)\n```",
    "Thought: done.\n```python\nfinal_answer(total)\n```",
]


def per_step(store, runs: int) -> float:
    model = TestModel()
    agent = CodeAgent(model=model, store=store)
    times = []
    for _ in range(runs):
        model.enqueue(*STEPS)
        start = time.perf_counter()
        agent.run("three steps")
        times.append((time.perf_counter() - start) / 3)
    return statistics.median(times)


def resume_time(store: RunStore, steps: int = 50) -> tuple[float, int]:
    model = TestModel([f"```python\nv{i} = {i}\nprint(v{i})\n```" for i in range(steps)] + ["out of steps"])
    run = CodeAgent(model=model, store=store, max_steps=steps).run("fifty steps")
    model.enqueue("```python\nfinal_answer(v49)\n```")
    start = time.perf_counter()
    result = CodeAgent(model=model, store=store).resume_run(run.run_id)
    elapsed = time.perf_counter() - start
    assert result.output == steps - 1, result
    return elapsed, len(store.events(run.run_id))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="smolnb-bench-"))
    os.environ["SMOLNB_HOME"] = str(home)
    store = RunStore(home / "runs.db")
    per_step(store, 10)
    per_step(None, 10)
    off = per_step(None, args.runs)
    on = per_step(store, args.runs)
    cost = on - off
    print(f"framework time per step, run store off: {off * 1e3:.3f} ms")
    print(f"framework time per step, run store on:  {on * 1e3:.3f} ms (events + variable snapshot, WAL SQLite)")
    print(f"checkpoint cost per step: {cost * 1e3:.3f} ms (target < 5 ms), {100 * cost / on:.0f}% of a step's framework time")
    elapsed, events = resume_time(store)
    print(f"resume of a 50-step run ({events} stored events): {elapsed * 1e3:.1f} ms to the final answer")


if __name__ == "__main__":
    main()
