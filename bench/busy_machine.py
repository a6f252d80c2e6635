"""The local model on a busy machine: llama.cpp with a thread on every core against the count
smolnb chooses (the cores no other program is busy on), while other programs keep cores busy.

Each setting starts its own llama.cpp server and times the same request (a ~250-token prompt,
64 tokens generated, temperature 0) three times after a warm-up; the idle machine with every
core is the baseline, measured in the same run.

    python bench/busy_machine.py [--model qwen2.5-coder-0.5b] [--busy N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb.models.local.server import LlamaServer, _threads, _usable_cpus
from smolnb.models.local.weights import ensure_weights

PROMPT = [
    {"role": "system", "content": "You write short, correct Python."},
    {
        "role": "user",
        "content": "Write a function that returns the n-th Fibonacci number, with a docstring and three "
        "examples in it. Then explain in two sentences why it runs in linear time. " * 4,
    },
]


def spin() -> None:
    while True:
        pass


def timed(path: Path, threads: int) -> list[float]:
    server = LlamaServer(path, n_ctx=2048, threads=threads)
    server.start()
    try:
        with httpx.Client(timeout=600) as client:
            times = []
            for _ in range(4):
                start = time.perf_counter()
                reply = client.post(
                    f"{server.base_url}/chat/completions",
                    json={"messages": PROMPT, "max_tokens": 64, "temperature": 0},
                )
                reply.raise_for_status()
                times.append(time.perf_counter() - start)
            return times[1:]  # the first warms the server up
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--busy", type=int, default=None, help="busy programs to start (default: one a core)")
    args = parser.parse_args()
    path = ensure_weights(args.model)
    cores = _usable_cpus()
    busy = args.busy if args.busy is not None else cores
    idle = statistics.median(timed(path, cores))
    print(f"idle machine, {cores} threads: {idle:.2f} s a request (the baseline)")
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        time.sleep(1.0)
        chosen = _threads()
        every = statistics.median(timed(path, cores))
        ours = statistics.median(timed(path, chosen))
    finally:
        for p in spinners:
            p.kill()
    print(f"{busy} busy programs, a thread on every core ({cores}): {every:.2f} s ({every / idle:.2f}x idle)")
    print(f"{busy} busy programs, smolnb's choice ({chosen} threads): {ours:.2f} s ({ours / idle:.2f}x idle)")
    print(f"smolnb's choice against every core, busy: {every / ours:.2f}x faster")
    if os.environ.get("SMOLNB_LOCAL_THREADS"):
        print("(SMOLNB_LOCAL_THREADS is set: the choice is that setting)")


if __name__ == "__main__":
    main()
