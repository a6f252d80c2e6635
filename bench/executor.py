"""What each executor costs, against plain `exec` measured in the same run.

Prints:
- per-step overhead on trivial code (`x = 1`), for local, subprocess, sandbox;
- CPU-bound snippets as a ratio to `exec` (local; the sandbox adds its round trip);
- the sandbox's cold start (a new confined worker, to its first step done) and warm start
  (a worker from the pre-started pool, to its first step done);
- moving a 1M-row, 5-column DataFrame into the sandbox and back out, in MB/s.

Targets (issue "A real sandbox"): local within 1.5x of exec (`.format` and module attributes:
1.2x); sandbox warm step overhead
under 5 ms; cold start under 300 ms; DataFrame transfer at least 500 MB/s.

    python bench/executor.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overhead import best_of

from smolnb.errors import FinalAnswer
from smolnb.executor import LocalExecutor, Policy, SubprocessExecutor

SNIPPETS = {
    "loop arithmetic": "total = 0\nfor i in range(30000):\n    total += i * i % 7\n",
    "recursion fib(20)": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nresult = fib(20)\n",
    "comprehension": "squares = [x * x for x in range(30000) if x % 3]\nresult = sum(squares)\n",
    "string building": "parts = []\nfor i in range(20000):\n    parts.append(str(i))\ntext = '-'.join(parts)\n",
    "dict counting": "counts = {}\nfor w in ('a b c d e f g h ' * 3000).split():\n    counts[w] = counts.get(w, 0) + 1\n",
    "math calls": "import math\nacc = 0.0\nfor i in range(1, 20000):\n    acc += math.sqrt(i) * math.log(i)\n",
    "float products": "xs = [i * 0.5 for i in range(20000)]\nacc = 0.0\nfor a in xs:\n    acc += a * a\n",
    "str.format": "parts = []\nfor i in range(20000):\n    parts.append('{}: {:>5.1f}'.format(i, i / 7))\n",
    "module attributes": "import math as m\nacc = 0.0\nfor i in range(1, 30000):\n    acc += m.sqrt(i) + m.pi\n",
}


def final(value):
    raise FinalAnswer(value)


def median_step(ex, code: str = "x = 1", n: int = 300) -> float:
    ex.run(code)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        ex.run(code)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from smolnb.executor.sandbox import SandboxExecutor, pool, sandbox_layers

    print(f"sandbox layers: {sandbox_layers()}")
    plain_step = statistics.median(_plain_steps())
    local = LocalExecutor(Policy())
    sub = SubprocessExecutor(Policy())
    box = SandboxExecutor(Policy())
    for ex in (local, sub, box):
        ex.set_functions({"final_answer": final})
    print("\nper-step time on trivial code (`x = 1`, median of 300)")
    print(f"  plain exec      {plain_step * 1e3:8.3f} ms")
    for name, ex in (("local", local), ("subprocess", sub), ("sandbox", box)):
        step = median_step(ex)
        print(f"  {name:<14}  {step * 1e3:8.3f} ms   overhead {(step - plain_step) * 1e3:7.3f} ms")

    print("\nCPU-bound snippets, time / plain exec (best of 7)")
    ratios = []
    for name, code in SNIPPETS.items():
        plain = best_of(lambda code=code: exec(compile(code, "<bench>", "exec"), {}))
        ours = best_of(lambda code=code: local.run(code))
        boxed = best_of(lambda code=code: box.run(code))
        assert local.run(code).error is None and box.run(code).error is None
        ratios.append(ours / plain)
        print(f"  {name:<18} exec {plain * 1e3:7.2f} ms   local {ours / plain:5.2f}x   sandbox {boxed / plain:5.2f}x")
    print(f"  local, geometric mean {statistics.geometric_mean(ratios):.2f}x (target 1.5x)")

    print("\nsandbox start, to the first step done (median of 5)")
    cold = []
    for _ in range(5):
        start = time.perf_counter()
        ex = SandboxExecutor(Policy(), memory_mb=3000)  # another size than the pool's: always a new worker
        ex.run("x = 1")
        cold.append(time.perf_counter() - start)
        ex.close()
    warm = []
    for _ in range(5):
        pool.refill()
        while not pool.idle:
            time.sleep(0.05)
        start = time.perf_counter()
        ex = SandboxExecutor(Policy())
        ex.run("x = 1")
        warm.append(time.perf_counter() - start)
        ex.close()
    print(f"  cold (new confined worker)   {statistics.median(cold) * 1e3:7.1f} ms (target 300 ms)")
    print(f"  warm (from the pool)         {statistics.median(warm) * 1e3:7.1f} ms")

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"c{i}": rng.random(1_000_000) for i in range(4)} | {"k": np.arange(1_000_000)})
    size = frame.memory_usage(index=False).sum()
    ns = {"df": frame}
    ex = SandboxExecutor(Policy(["pandas"]), namespace=ns)
    ex.run("n = 1")
    ins, outs = [], []
    for _ in range(3):
        ns["df"] = frame.copy()  # a new object: sent again
        start = time.perf_counter()
        ex.run("n = len(df)")  # df in
        ins.append(time.perf_counter() - start)
        start = time.perf_counter()
        ex.run("df['k'] = df['k'] + 1")  # changed in place: df out
        outs.append(time.perf_counter() - start)
    assert int(ns["df"]["k"].iloc[-1]) == 1_000_000
    ex.close()
    print(f"\n1M-row, 5-column DataFrame ({size / 1e6:.0f} MB), one step each way (best of 3)")
    print(f"  into the sandbox   {min(ins) * 1e3:7.1f} ms   {size / min(ins) / 1e6:7.0f} MB/s (target 500)")
    print(f"  back out           {min(outs) * 1e3:7.1f} ms   {size / min(outs) / 1e6:7.0f} MB/s (target 500)")
    for ex in (local, sub, box):
        ex.close()
    pool.close()


def _plain_steps() -> list[float]:
    ns: dict = {}
    times = []
    for _ in range(300):
        start = time.perf_counter()
        exec(compile("x = 1", "<bench>", "exec"), ns)
        times.append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    main()
