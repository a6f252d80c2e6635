"""The local model's speed: prompt and generation tokens/s, time to first token, prefix reuse.

Builds the prompts of a 5-step CodeAgent run (scripted replies, real observations), sends
them to the llama.cpp server and times each step's prompt evaluation (a request for one
token), with and without the previous step's prefix in the server's cache.

    python bench/local_model.py [--model local/qwen2.5-coder-0.5b]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smolnb import CodeAgent  # noqa: E402
from smolnb.events import ModelCall  # noqa: E402
from smolnb.models import TestModel  # noqa: E402
from smolnb.models.local import LocalModel  # noqa: E402

TASK = "Print the first 5 square numbers, one per step, then give their sum."
STEPS = [
    "Thought: I start with the first square.\n```python\nsquares = [1]\nprint(squares[-1])\n```",
    "Thought: the next one.\n```python\nsquares.append(4)\nprint(squares[-1])\n```",
    "Thought: the next one.\n```python\nsquares.append(9)\nprint(squares[-1])\n```",
    "Thought: the next one.\n```python\nsquares.append(16)\nprint(squares[-1])\n```",
    "Thought: the last one, and the sum.\n```python\nsquares.append(25)\nfinal_answer(sum(squares))\n```",
]
FLUSH = [
    {"role": "system", "content": "You are a poet."},
    {"role": "user", "content": "Write one line about the sea, in French."},
]


def request(client: httpx.Client, url: str, messages: list[dict], max_tokens: int) -> tuple[float, dict]:
    start = time.perf_counter()
    reply = client.post(url, json={"model": "local", "messages": messages, "max_tokens": max_tokens, "temperature": 0})
    reply.raise_for_status()
    return time.perf_counter() - start, reply.json()["usage"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="local/qwen2.5-coder-0.5b")
    args = parser.parse_args()
    model = LocalModel(args.model)
    calls: list[ModelCall] = []
    scripted = CodeAgent(
        model=TestModel(STEPS), max_steps=5, listeners=[lambda e: calls.append(e) if isinstance(e, ModelCall) else None]
    )
    result = scripted.run(TASK)
    prompts = [c.messages for c in calls]
    url = model.server().base_url + "/chat/completions"
    with httpx.Client(timeout=600) as client:
        request(client, url, FLUSH, 1)
        # generation speed: a long answer from a short prompt
        gen_messages = [
            {
                "role": "user",
                "content": "Write a Python class for a bank account with deposit, withdraw and a history, with docstrings.",
            }
        ]
        request(client, url, FLUSH, 1)
        t_prompt, usage_prompt = request(client, url, gen_messages, 1)
        request(client, url, FLUSH, 1)
        t_total, usage_gen = request(client, url, gen_messages, 256)
        gen_tps = (usage_gen["completion_tokens"] - 1) / max(t_total - t_prompt, 1e-9)

        cold, warm, tokens = [], [], []
        for i, messages in enumerate(prompts):
            request(client, url, FLUSH, 1)  # evict the shared prefix
            t_cold, usage = request(client, url, messages, 1)
            cold.append(t_cold)
            tokens.append(usage["prompt_tokens"])
            if i:
                request(client, url, FLUSH, 1)
                request(client, url, prompts[i - 1], 1)  # the previous step is in the cache, as in a run
                t_warm, _ = request(client, url, messages, 1)
                warm.append(t_warm)
    print(f"model {args.model}; prompts of a {len(result.action_steps)}-step run ({result.status})")
    print(f"time to first token (cold, {usage_prompt['prompt_tokens']} prompt tokens): {t_prompt * 1e3:.0f} ms")
    print(
        f"prompt evaluation: {statistics.mean(t / max(t_c, 1e-9) for t, t_c in zip(tokens, cold)):.0f} tokens/s (cold prompts of the run)"
    )
    print(f"generation: {gen_tps:.1f} tokens/s ({usage_gen['completion_tokens']} tokens)")
    print("step  prompt tokens  cold ms  with prefix cached ms")
    for i, (n, t_c) in enumerate(zip(tokens, cold)):
        w = f"{warm[i - 1] * 1e3:8.0f}" if i else "       -"
        print(f"{i + 1:4d}  {n:13d}  {t_c * 1e3:7.0f}  {w}")
    if len(prompts) >= 2:
        print(f"prompt time of step 2 / step 1 in the run (prefix reused): {warm[0] / cold[0]:.2f}")
        print(f"step 2 with its prefix cached / step 2 from scratch: {warm[0] / cold[1]:.2f}")


if __name__ == "__main__":
    main()
