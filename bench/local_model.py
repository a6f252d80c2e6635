"""The local model's speed: prompt and generation tokens/s, time to first token, prefix reuse,
each against llama-cpp-python's `Llama` on the same GGUF file, in the same run; and the
server's memory after an 8,000-token prompt.

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

from smolnb import CodeAgent
from smolnb.events import ModelCall
from smolnb.models import TestModel
from smolnb.models.local import LocalModel

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
        f"prompt evaluation: {statistics.mean(t / max(t_c, 1e-9) for t, t_c in zip(tokens, cold, strict=True)):.0f} tokens/s (cold prompts of the run)"
    )
    print(f"generation: {gen_tps:.1f} tokens/s ({usage_gen['completion_tokens']} tokens)")
    print("step  prompt tokens  cold ms  with prefix cached ms")
    for i, (n, t_c) in enumerate(zip(tokens, cold, strict=True)):
        w = f"{warm[i - 1] * 1e3:8.0f}" if i else "       -"
        print(f"{i + 1:4d}  {n:13d}  {t_c * 1e3:7.0f}  {w}")
    if len(prompts) >= 2:
        print(f"prompt time of step 2 / step 1 in the run (prefix reused): {warm[0] / cold[0]:.2f}")
        print(f"step 2 with its prefix cached / step 2 from scratch: {warm[0] / cold[1]:.2f}")
    with httpx.Client(timeout=600) as client:
        against_the_engine(model, prompts, client, url)
        server_memory_after_long_prompt(model, client, url)


def against_the_engine(model: LocalModel, prompts: list[list[dict]], client: httpx.Client, url: str) -> None:
    """The same prompts through the server and through `Llama` in this process (cold, best of 3)."""
    from llama_cpp import Llama

    server = model.server()
    served, direct, tokens = [], [], []
    for messages in prompts:
        times = []
        for _ in range(3):
            request(client, url, FLUSH, 1)
            t, usage = request(client, url, messages, 1)
            times.append(t)
        served.append(min(times))
        tokens.append(usage["prompt_tokens"])
    llm = Llama(
        model_path=str(server.path),
        n_ctx=server.n_ctx,
        n_threads=server.threads,
        n_threads_batch=server.threads,
        logits_all=False,
        seed=0,
        verbose=False,
    )
    for messages in prompts:
        times = []
        for _ in range(3):
            llm.reset()  # no prefix from the last call
            start = time.perf_counter()
            llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0)
            times.append(time.perf_counter() - start)
        direct.append(min(times))
    del llm
    print("against llama-cpp-python's Llama on the same file (cold prompt, 1 token, best of 3):")
    print("step  prompt tokens  server ms  direct ms  server speed / direct")
    for i, (n, s, d) in enumerate(zip(tokens, served, direct, strict=True)):
        print(f"{i + 1:4d}  {n:13d}  {s * 1e3:9.0f}  {d * 1e3:9.0f}  {d / s:21.2f}")
    total_s, total_d = sum(served), sum(direct)
    print(
        f"prompt tokens/s: server {sum(tokens) / total_s:.0f}, direct {sum(tokens) / total_d:.0f} "
        f"-> {total_d / total_s:.2f}x (target >= 0.95); time to first token step 1: {direct[0] / served[0]:.2f}x"
    )


def server_memory_after_long_prompt(model: LocalModel, client: httpx.Client, url: str) -> None:
    import psutil

    server = model.server()
    filler = " ".join(f"note {i}: the value of item {i} is {i * 7 % 13}." for i in range(440))
    t, usage = request(client, url, [{"role": "user", "content": filler + " Which item has value 3?"}], 1)
    rss = psutil.Process(server.proc.pid).memory_info().rss
    print(f"server memory after a {usage['prompt_tokens']:,}-token prompt ({t:.1f} s): {rss / 2**30:.2f} GB (target < 1.5 GB)")


if __name__ == "__main__":
    main()
