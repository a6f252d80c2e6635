"""Notebook costs: `%load_ext smolnb` in a fresh kernel, and the widget's update cost per step.

python bench/notebook.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_ext_time(repeat: int = 5) -> float:
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeat):
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            kc.execute_interactive("import time")
            reply = kc.execute_interactive(
                "t = time.perf_counter(); get_ipython().run_line_magic('load_ext', 'smolnb'); print(time.perf_counter() - t)",
                output_hook=lambda msg: times.append(float(msg["content"]["text"])) if msg["msg_type"] == "stream" else None,
            )
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return statistics.median(times)


def widget_cost(steps: int = 20) -> tuple[float, float]:
    """Median seconds per step event in the live widget, at step 1 and at step `steps`."""
    from smolnb import CodeAgent
    from smolnb.events import Step
    from smolnb.models import TestModel
    from smolnb.widgets import TraceWidget

    replies = [f"Thought: step {i}.\n```python\nx{i} = {i} * 2\nprint('value', x{i})\n```" for i in range(steps)]
    events = (
        CodeAgent(model=TestModel(replies + ["```python\nfinal_answer(1)\n```"]), max_steps=steps + 1, store=None).run("t").events
    )
    widget = TraceWidget(interval=0)
    costs = []
    for event in events:
        start = time.perf_counter()
        widget(event)
        if isinstance(event, Step):
            costs.append(time.perf_counter() - start)
    return costs[0], statistics.median(costs[-5:])


def main() -> None:
    first, late = widget_cost()
    print(f"widget update per step: {first * 1e3:.2f} ms at step 1, {late * 1e3:.2f} ms at step 20 (target < 5 ms)")
    print(f"%load_ext smolnb in a fresh kernel: {load_ext_time() * 1e3:.1f} ms (median of 5; target < 300 ms)")


if __name__ == "__main__":
    main()
