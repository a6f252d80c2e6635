"""Framework overhead, executor speed and import time.

Prints, with a zero-latency model:
- the framework's time per step (a 6-step run's time over a 3-step run's, divided by 3) and
  per run besides its steps,
- the executor's time on CPU-bound snippets as a ratio to plain `exec`,
- `from smolnb import CodeAgent` in a fresh process,
and, with `smolagents` installed here or in the venv `--peer-python` names, the same figures
for it side by side.

    python bench/overhead.py [--runs 200] [--peer-python /tmp/peer/bin/python]
"""

from __future__ import annotations

import argparse
import json
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


def steps(n: int) -> list[str]:
    """A scripted run of n steps: n-1 steps that compute, then the answer (always 6)."""
    body = ["Thought: first.\n```python\nx = 1 + 1\nprint(x)\n```"]
    body += [f"Thought: step {i}.\n```python\ny = x * 3\nprint(y, {i})\n```" for i in range(2, n)]
    return [*body, "Thought: done.\n```python\nfinal_answer(y)\n```"]


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def per_step_and_setup(run, runs: int) -> tuple[float, float]:
    """(time per step, time per run besides its steps): a step is what a 6-step run takes over a
    3-step one, divided by 3, so a framework's per-run setup is not counted as step time."""
    steps_t, setup_t = [], []
    for _ in range(runs):
        three = run(3)
        six = run(6)
        step = (six - three) / 3
        steps_t.append(step)
        setup_t.append(three - 3 * step)
    return statistics.median(steps_t), statistics.median(setup_t)


def smolnb_step_time(runs: int, store: bool = True) -> tuple[float, float]:
    from smolnb import CodeAgent
    from smolnb.models import TestModel

    model = TestModel()
    agent = CodeAgent(model=model, store=store or None, max_steps=10)

    def run(n: int) -> float:
        model.enqueue(*steps(n))
        start = time.perf_counter()
        result = agent.run("steps")
        took = time.perf_counter() - start
        assert result.output == 6, result
        return took

    return per_step_and_setup(run, runs)


def smolagents_step_time(runs: int) -> tuple[float, float] | None:
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
            text = self.queue.pop(0)
            return ChatMessage(role="assistant", content=text, token_usage=smolagents.monitoring.TokenUsage(1, 1))

    model = Scripted()
    agent = smolagents.CodeAgent(tools=[], model=model, verbosity_level=-1, max_steps=10)

    def run(n: int) -> float:
        model.queue = [s.replace("```python\n", "<code>\n").replace("\n```", "\n</code>") for s in steps(n)]
        start = time.perf_counter()
        out = agent.run("steps")
        took = time.perf_counter() - start
        assert out == 6, out
        return took

    return per_step_and_setup(run, runs)


def executor_ratios() -> list[tuple[str, float, float, float | None]]:
    from smolnb.executor import LocalExecutor

    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        LocalPythonExecutor = None  # noqa: N806
    rows = []
    for name, code in SNIPPETS.items():
        plain = best_of(lambda code=code: exec(compile(code, "<bench>", "exec"), {}))
        ours = LocalExecutor()
        ours_t = best_of(lambda ours=ours, code=code: ours.run(code))
        assert ours.run(code).error is None
        theirs_t = None
        if LocalPythonExecutor is not None:
            theirs = LocalPythonExecutor(additional_authorized_imports=["math"])
            theirs.send_tools({})
            theirs_t = best_of(lambda theirs=theirs, code=code: theirs(code), repeat=2)
        rows.append((name, plain, ours_t, theirs_t))
    return rows


def import_time(statement: str, python: str = sys.executable, repeat: int = 7) -> float:
    """`statement` in a fresh process (smolnb imports lazily: `import smolnb` alone loads little)."""
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [python, "-c", f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"],
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
        off.append(smolnb_step_time(runs, store=False)[0])
        tracing.enable(exporter=Drop(), batch=True)
        on.append(smolnb_step_time(runs, store=False)[0])
        tracing.disable()
    return statistics.median(off), statistics.median(on)


def peer(python: str | None, runs: int) -> dict[str, float] | None:
    """The peer's figures, from this file run by `python` (a venv with smolagents) or here."""
    if python is None:
        figures = smolagents_step_time(runs)
        if figures is None:
            return None
        return {"step": figures[0], "setup": figures[1], "import": import_time("from smolagents import CodeAgent")}
    out = subprocess.run([python, __file__, "--peer-only", "--runs", str(runs)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--peer-python", help="a Python with smolagents installed (a separate venv)")
    parser.add_argument("--peer-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_only:
        print(json.dumps(peer(None, max(20, args.runs // 5))))
        return

    bare, bare_setup = smolnb_step_time(args.runs, store=False)
    ours, ours_setup = smolnb_step_time(args.runs)
    theirs = peer(args.peer_python, max(20, args.runs // 5))
    print(f"framework time per step ((6-step run - 3-step run) / 3, median of {args.runs}; zero-latency model)")
    print(f"  {'':52s} {'per step':>9s} {'per run besides':>16s}")
    print(f"  {'smolnb, no run store (as smolagents: nothing persisted)':52s} {bare * 1e3:6.3f} ms {bare_setup * 1e3:13.3f} ms")
    print(f"  {'smolnb, default (every step checkpointed to SQLite)':52s} {ours * 1e3:6.3f} ms {ours_setup * 1e3:13.3f} ms")
    if theirs is not None:
        print(f"  {'smolagents':52s} {theirs['step'] * 1e3:6.3f} ms {theirs['setup'] * 1e3:13.3f} ms")
        print(
            f"  per step, ratio to smolagents: {bare / theirs['step']:.3f} without the store, "
            f"{ours / theirs['step']:.3f} with it (its per-run setup is apart)"
        )
    else:
        print("  (smolagents: not installed here; --peer-python PATH runs it from a separate venv)")

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
    print(f"  from smolnb import CodeAgent      {import_time('from smolnb import CodeAgent') * 1e3:7.1f} ms (target < 300)")
    if theirs is not None:
        print(f"  from smolagents import CodeAgent  {theirs['import'] * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
