"""Checkpointed state: what it costs, what a crash costs, and what a run weighs.

1. Framework time per step with the run store on vs off (zero-latency model), and the time
   to resume a 50-step run.
2. Kill/resume table: a real run (a side-effecting idempotent tool that appends to a file, a
   managed agent, a plain side-effecting tool) is SIGKILLed at N random points and resumed;
   for each: where it was killed, the status after resume, how many times each effect landed,
   and which model requests were asked again.
3. Bytes per run in the run store, for a 2-step and a 10-step run (snapshots included).

    python bench/state.py [--runs 100] [--kills 30]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent
from smolnb.models import TestModel
from smolnb.persistence import RunStore

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


def kill_table(kills: int) -> None:
    from tests.openai_server import ScriptedOpenAIServer, completion
    from tests.persistence.test_effects_crash import HELPER, MAIN, kill_and_resume, step_of, who

    rows = []
    with ScriptedOpenAIServer() as server:
        server.default = None
        server.responder = lambda body: completion(
            HELPER if who(body) == "helper" else MAIN[min(step_of(body), len(MAIN) - 1)], body
        )
        for seed in range(kills):
            server.requests.clear()
            with tempfile.TemporaryDirectory() as tmp:
                out = kill_and_resume(server, Path(tmp), seed)
            after = "success" if out["result"] is None else out["result"].status
            repeated = sorted(set(out["before"]) & set(out["after"]))
            rows.append((seed, out["kill_at"], out["delay"], out["status"], after, len(out["log"]), len(out["mail"]), repeated))
    print(f"{'kill':>4} {'after req':>9} {'+delay':>7} {'stored as':>10} {'resumed':>8} {'log a':>6} {'mail b':>7}  asked again")
    for seed, at, delay, stored, after, log, mail, repeated in rows:
        print(f"{seed:>4} {at:>9} {delay * 1e3:>5.0f}ms {stored:>10} {after:>8} {log:>6} {mail:>7}  {repeated or '-'}")
    outcomes = Counter(r[4] for r in rows)
    print(
        f"\n{len(rows)} kills: resumed {dict(outcomes)}; 'a' exactly once in {sum(r[5] == 1 for r in rows)}, "
        f"'b' at most once in {sum(r[6] <= 1 for r in rows)} (0 when the crash cut the call short: reported as 'may have run')"
    )


def bytes_per_run() -> None:
    print("\nbytes per run in the run store (events and snapshots; SQLite pages counted after VACUUM)")
    for steps in (2, 10):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "runs.db"
            store = RunStore(path)
            runs = 20
            for _ in range(runs):
                replies = [
                    f"Thought: step {i}.\n```python\nx{i} = list(range({i * 10}))\nprint(len(x{i}))\n```"
                    for i in range(steps - 1)
                ]
                replies.append("Thought: done.\n```python\nfinal_answer(1)\n```")
                CodeAgent(model=TestModel(replies), store=store).run("count a little")
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                payload = db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM events").fetchone()[0]
            db = sqlite3.connect(path)
            db.execute("VACUUM")
            db.close()
            size = os.path.getsize(path)
            print(f"  {steps:>2}-step run: {payload / runs / 1024:6.1f} KB of event data, {size / runs / 1024:6.1f} KB of file")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--kills", type=int, default=30)
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
    print(f"resume of a 50-step run ({events} stored events): {elapsed * 1e3:.1f} ms to the final answer\n")
    kill_table(args.kills)
    bytes_per_run()


if __name__ == "__main__":
    main()
