"""Framework overhead, executor speed and import time.

Prints, with a zero-latency model:
- the framework's time per step (median over 3-step runs),
- the executor's time on CPU-bound snippets as a ratio to plain `exec`,
- `import smolnb` in a fresh process,
and, if `smolagents` is installed, the same figures for it side by side.

    python bench/overhead.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("SMOLNB_HOME", tempfile.mkdtemp(prefix="smolnb-bench-"))  # runs are stored, as by default

SNIPPETS = {
    "loop arithmetic": "total = 0\nfor i in range(30000):\n    total += i * i % 7\n",
    "recursion fib(18)": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nresult = fib(18)\n",
    "comprehension": "squares = [x * x for x in range(30000) if x % 3]\nresult = sum(squares)\n",
    "string building": "parts = []\nfor i in range(20000):\n    parts.append(str(i))\ntext = '-'.join(parts)\n",
    "dict counting": "counts = {}\nfor w in ('a b c d e f g h ' * 3000).split():\n    counts[w] = counts.get(w, 0) + 1\n",
    "math calls": "import math\nacc = 0.0\nfor i in range(1, 20000):\n    acc += math.sqrt(i) * math.log(i)\n",
}

STEPS = [
    "Thought: first.\n```python\nx = 1 + 1\nprint(x)\n```",
    "Thought: second.\n```python\ny = x * 3\nprint(y)\n```",
    "Thought: done.\n```python\nfinal_answer(y)\n```",
]


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def smolnb_step_time(runs: int, store: bool = True) -> float:
    from smolnb import CodeAgent
    from smolnb.models import TestModel

    model = TestModel()
    agent = CodeAgent(model=model, store=store or None)
    per_step = []
    for _ in range(runs):
        model.enqueue(*STEPS)
        start = time.perf_counter()
        result = agent.run("three steps")
        per_step.append((time.perf_counter() - start) / 3)
        assert result.output == 6, result
    return statistics.median(per_step)


def smolagents_step_time(runs: int) -> float | None:
    try:
        import smolagents
        from smolagents.models import ChatMessage, Model
    except ImportError:
        return None

    class Scripted(Model):
        def __init__(self):
            super().__init__(model_id="scripted")
            self.queue = []

        def generate(self, messages, stop_sequences=None, **kwargs):
            text = (
                self.queue.pop(0)
                .replace("```\n", "```<end_code>\n")
                .replace("```python", "<code>")
                .replace("```<end_code>", "</code>")
            )
            return ChatMessage(role="assistant", content=text, token_usage=smolagents.monitoring.TokenUsage(1, 1))

    model = Scripted()
    agent = smolagents.CodeAgent(tools=[], model=model, verbosity_level=-1)
    per_step = []
    for _ in range(runs):
        model.queue = [s.replace("```python\n", "<code>\n").replace("\n```", "\n</code>") for s in STEPS]
        start = time.perf_counter()
        out = agent.run("three steps")
        per_step.append((time.perf_counter() - start) / 3)
        assert out == 6, out
    return statistics.median(per_step)


def executor_ratios() -> list[tuple[str, float, float, float | None]]:
    from smolnb.executor import LocalExecutor

    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        LocalPythonExecutor = None  # noqa: N806
    rows = []
    for name, code in SNIPPETS.items():
        plain = best_of(lambda: exec(compile(code, "<bench>", "exec"), {}))  # noqa: S102
        ours = LocalExecutor()
        ours_t = best_of(lambda: ours.run(code))
        assert ours.run(code).error is None
        theirs_t = None
        if LocalPythonExecutor is not None:
            theirs = LocalPythonExecutor(additional_authorized_imports=["math"])
            theirs.send_tools({})
            theirs_t = best_of(lambda: theirs(code), repeat=2)
        rows.append((name, plain, ours_t, theirs_t))
    return rows


def import_time(module: str, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(out.stdout))
    return statistics.median(times)


def tracing_cost(runs: int) -> tuple[float, float]:
    """Framework time per step with tracing off and on (OpenInference spans through a batch
    processor to an exporter that drops them: the cost smolnb adds, not the network's)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from smolnb import tracing

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    off, on = [], []
    for _ in range(3):  # alternate, so drift hits both alike
        off.append(smolnb_step_time(runs, store=False))
        tracing.enable(exporter=Drop(), batch=True)
        on.append(smolnb_step_time(runs, store=False))
        tracing.disable()
    return statistics.median(off), statistics.median(on)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    bare = smolnb_step_time(args.runs, store=False)
    ours = smolnb_step_time(args.runs)
    theirs = smolagents_step_time(max(20, args.runs // 5))
    print(f"framework time per step (median of {args.runs} three-step runs, zero-latency model)")
    print(f"  smolnb, no run store (as smolagents: nothing persisted)  {bare * 1e3:8.3f} ms")
    print(f"  smolnb, default (every step checkpointed to SQLite)      {ours * 1e3:8.3f} ms")
    if theirs is not None:
        print(f"  smolagents                                               {theirs * 1e3:8.3f} ms")
        print(f"  ratio to smolagents: {bare / theirs:.3f} without the store, {ours / theirs:.3f} with it (target <= 0.2)")

    try:
        off, on = tracing_cost(args.runs)
        print(
            f"\ntracing (no run store): off {off * 1e3:.3f} ms/step, on {on * 1e3:.3f} ms/step -> "
            f"+{(on - off) * 1e3:.3f} ms per step (target < 1 ms; off adds one empty-list check per event)"
        )
    except ImportError:
        print("\ntracing: install smolnb[otel] to measure it")

    print("\nexecutor time on CPU-bound snippets (best of 5)")
    print(f"  {'snippet':20s} {'exec ms':>9s} {'smolnb ms':>10s} {'ratio':>6s} {'smolagents ms':>14s} {'speed-up':>9s}")
    ratios, speedups = [], []
    for name, plain, ours_t, theirs_t in executor_ratios():
        ratios.append(ours_t / plain)
        extra = ""
        if theirs_t is not None:
            speedups.append(theirs_t / ours_t)
            extra = f" {theirs_t * 1e3:14.1f} {theirs_t / ours_t:8.1f}x"
        print(f"  {name:20s} {plain * 1e3:9.2f} {ours_t * 1e3:10.2f} {ours_t / plain:6.2f}{extra}")
    print(f"  geometric mean ratio to exec: {statistics.geometric_mean(ratios):.2f} (target <= 1.5)")
    if speedups:
        print(
            f"  geometric mean speed-up over smolagents' interpreter: {statistics.geometric_mean(speedups):.1f}x (target >= 20)"
        )

    print("\nimport time in a fresh process (median of 7)")
    print(f"  import smolnb      {import_time('smolnb') * 1e3:7.1f} ms (target < 300)")
    try:
        import smolagents  # noqa: F401

        print(f"  import smolagents  {import_time('smolagents') * 1e3:7.1f} ms")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
