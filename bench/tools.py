"""Tool registry speed: resolving 1,000 tools with dependencies, and prompt building with 100 tools.

python bench/tools.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent
from smolnb.models import TestModel
from smolnb.tools import ToolRegistry, tool


def make(i: int, uses: list[str]) -> object:
    def fn(x: int, label: str = "") -> int:
        """Do thing number i.

        Args:
            x: The input.
            label: A label.
        """
        return x + i

    fn.__name__ = f"tool_{i}"
    return tool(version=f"1.{i % 7}.0", requires=["packaging>=20"] if i % 10 == 0 else [], uses=uses)(fn)


def main() -> None:
    reg = ToolRegistry()
    for i in range(1000):
        # each tool uses up to three earlier ones, with version ranges
        reg.register(make(i, [f"tool_{j}>=1.0,<2" for j in (i - 1, i // 2, i // 3) if 0 <= j < i and j != i][:3]))
    times = []
    for _ in range(7):
        start = time.perf_counter()
        resolved = reg.resolve([f"tool_{i}" for i in range(1000)])
        times.append(time.perf_counter() - start)
    assert len(resolved) == 1000
    print(
        f"resolve 1,000 tools with {sum(len(t.uses) for t in resolved):,} dependencies: {statistics.median(times) * 1e3:.1f} ms (target < 100 ms)"
    )

    agent = CodeAgent(model=TestModel(), tools=[reg.get(f"tool_{i}") for i in range(100)])
    costs = []
    for _ in range(200):
        start = time.perf_counter()
        prompt = agent._system_prompt()
        costs.append(time.perf_counter() - start)
    print(f"system prompt with 100 tools ({len(prompt):,} characters): {statistics.median(costs) * 1e3:.3f} ms per step")


if __name__ == "__main__":
    main()
