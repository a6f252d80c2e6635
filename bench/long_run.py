"""A long run: the framework's time per step at step 1, 2, 10, 20 and 40, and the run store's
size by steps, with the store on; the store's writes against a bare SQLite insert of the same
rows, in the same run.

A zero-latency scripted model writes 40 small code steps (each defines a variable and prints
it) and then answers, so what is timed is the framework: building the prompt from the history,
redaction, parsing, executing, events, checkpoints.

    python bench/long_run.py [--steps 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smolnb import CodeAgent  # noqa: E402
from smolnb.events import Step, StepStart  # noqa: E402
from smolnb.models import TestModel  # noqa: E402
from smolnb.persistence import RunStore  # noqa: E402


def replies(steps: int) -> list[str]:
    out = [
        f"Thought: step {i}, one more value.\n```python\nv{i} = [{i}] * 20\nprint('value', {i}, sum(v{i}))\n```"
        for i in range(1, steps + 1)
    ]
    return [*out, "Thought: done.\n```python\nfinal_answer(v1[0] + v2[0] + v3[0])\n```"]


def one_run(steps: int, store: RunStore | None) -> tuple[list[float], str]:
    """Seconds per action step (StepStart to Step), and the run id."""
    started: dict[int, float] = {}
    took: list[float] = []

    def watch(event: object) -> None:
        if isinstance(event, StepStart) and event.kind == "action":
            started[len(took)] = time.perf_counter()
        elif isinstance(event, Step) and event.kind == "action":
            took.append(time.perf_counter() - started[len(took)])

    agent = CodeAgent(
        model=TestModel(replies(steps)), max_steps=steps + 1, listeners=[watch], store=store if store is not None else False
    )
    result = agent.run("Keep a value per step, then answer.")
    assert result.status == "success", result.error
    return took[:steps], result.run_id


def bare_sqlite_seconds(store: RunStore, run_id: str, folder: Path) -> float:
    """The same event rows the store holds for the run, inserted into a bare SQLite table with
    one commit per step (the store commits at each step's end)."""
    rows = [(run_id, i, e.type, getattr(e, "step", None), json.dumps(e.to_dict())) for i, e in enumerate(store.events(run_id))]
    conn = sqlite3.connect(folder / "bare.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE events (run_id TEXT, seq INTEGER, type TEXT, step INTEGER, data TEXT)")
    started = time.perf_counter()
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if row[2] == "step":
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", batch)
            conn.execute("COMMIT")
            batch = []
    if batch:
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", batch)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    marks = [m for m in (1, 2, 10, 20, 40) if m <= args.steps]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one_run(5, None)  # imports and caches
        per_step_on: list[list[float]] = []
        per_step_off: list[list[float]] = []
        store = RunStore(folder / "runs.db")
        for _ in range(args.repeat):
            took, run_id = one_run(args.steps, store)
            per_step_on.append(took)
            per_step_off.append(one_run(args.steps, None)[0])
        on = [statistics.median(col) for col in zip(*per_step_on, strict=True)]
        off = [statistics.median(col) for col in zip(*per_step_off, strict=True)]
        print(f"time per step in a {args.steps}-step run (median of {args.repeat} runs, zero-latency model)")
        print("step   store on ms   store off ms")
        for m in marks:
            print(f"{m:4d}   {on[m - 1] * 1e3:11.2f}   {off[m - 1] * 1e3:12.2f}")
        print(f"step {marks[-1]} / step 2, store on: {on[marks[-1] - 1] / on[1]:.2f}x (target <= 1.2x)")

        sizes = []
        for n in (10, 20, 40):
            if n > args.steps:
                continue
            sized = RunStore(folder / f"size{n}.db")
            one_run(n, sized)
            conn = sqlite3.connect(folder / f"size{n}.db")
            sizes.append((n, conn.execute("SELECT SUM(LENGTH(data)) FROM events").fetchone()[0]))
            conn.close()
        print(
            "run store size by steps (bytes of event data; one run, snapshots included): "
            + ", ".join(f"{n} steps {b / 1024:.0f} KB" for n, b in sizes)
        )

        bare = bare_sqlite_seconds(store, run_id, folder)
        spent = sum(on) - sum(off)
        print(
            f"the store's cost over the run: {spent * 1e3:.1f} ms (store on - off); a bare SQLite insert of the same "
            f"rows, one commit a step: {bare * 1e3:.1f} ms -> {spent / bare:.2f}x"
        )
        plot(on, off, sizes)


def plot(on: list[float], off: list[float], sizes: list[tuple[int, int]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    steps = range(1, len(on) + 1)
    left.plot(steps, [t * 1e3 for t in on], label="store on")
    left.plot(steps, [t * 1e3 for t in off], label="store off")
    left.set(xlabel="step of the run", ylabel="ms per step", title="framework time per step")
    left.set_ylim(bottom=0)
    left.legend()
    right.plot([n for n, _ in sizes], [b / 1024 for _, b in sizes], marker="o")
    right.set(xlabel="steps in the run", ylabel="KB of stored events", title="run store size")
    right.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(ROOT / "bench" / "long_run.png", dpi=110)
    print("plot: bench/long_run.png")


if __name__ == "__main__":
    main()
