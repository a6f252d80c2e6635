"""Concurrent runs against an OpenAI-compatible server with a fixed latency per call.

    python bench/throughput.py [--latency 0.2] [--waves 8] [--concurrency 32,128]

Every run is two model calls (a code step, then final_answer) through the scheduler, over
smolnb's own OpenAI-compatible client (`openai-api/...`, the figure the target is for) and, for
comparison, over the official `openai` SDK's async client and litellm's HTTP path, against an aiohttp server in another process that answers
after `--latency`. Each concurrency runs `--waves` x concurrency runs (steady state, not the ramp
up and down of the first and last wave). The ideal is concurrency / (2 x latency) runs per second; the figure is the
achieved rate as a share of it. The framework's own CPU per model call is this process's CPU
time over the model calls made (the server runs in another process).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import asyncio, json, sys, time
from aiohttp import web

latency = float(sys.argv[2])
one_step = len(sys.argv) > 3 and sys.argv[3] == "one-step"  # answer at once (the eval bench)

def reply(body):
    last = body["messages"][-1]["content"]
    if one_step:
        return "Thought: easy.\\n```python\\nfinal_answer(42)\\n```"
    if "Observation" in last or "printed" in last or "Output" in last:
        return "Thought: done.\\n```python\\nfinal_answer(x)\\n```"
    return "Thought: compute.\\n```python\\nx = 6 * 7\\nprint(x)\\n```"

async def completions(request):
    body = await request.json()
    await asyncio.sleep(latency)
    text = reply(body)
    return web.json_response({"id": "c", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}})

async def main():
    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def sdk_model(base_url: str):
    """A smolnb Model over the official openai SDK's AsyncOpenAI (one client per event loop, as httpx wants)."""
    import asyncio

    import httpx
    from openai import AsyncOpenAI

    from smolnb.events import Usage
    from smolnb.models import Model, ModelResponse

    class OpenAISDKModel(Model):
        model_id = "openai-sdk/bench"

        def __init__(self) -> None:
            self.clients: dict[int, AsyncOpenAI] = {}

        def client(self) -> AsyncOpenAI:
            loop = id(asyncio.get_running_loop())
            if loop not in self.clients:
                pool = httpx.Limits(max_connections=None, max_keepalive_connections=None)
                self.clients[loop] = AsyncOpenAI(
                    base_url=base_url, api_key="sk-bench", max_retries=0, http_client=httpx.AsyncClient(limits=pool)
                )
            return self.clients[loop]

        async def agenerate(self, messages, *, stop=None, tools=None, **kwargs):
            extra = {"stop": stop} if stop else {}
            reply = await self.client().chat.completions.create(model="bench", messages=messages, **extra)
            usage = Usage(input_tokens=reply.usage.prompt_tokens, output_tokens=reply.usage.completion_tokens)
            return ModelResponse(content=reply.choices[0].message.content or "", usage=usage)

    return OpenAISDKModel()


def client_alone(model, concurrency: int, calls: int, latency: float) -> float:
    """The ceiling of a model client: bare `agenerate` calls at the same concurrency (no agent at all)."""
    import asyncio

    from smolnb._sync import run_sync

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await model.agenerate([{"role": "user", "content": "hi"}])

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return (calls / (time.perf_counter() - started)) / (concurrency / latency)

    return run_sync(run())


def agent_runs(model, concurrency: int, runs: int, latency: float, store) -> tuple[float, float]:
    """(achieved runs/s as a share of ideal, framework CPU ms per model call) for `runs` runs."""
    from smolnb import CodeAgent, run_many

    agent = CodeAgent(model=model, max_steps=3, store=store)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = run_many(agent, [f"Task {i}: what is 6 * 7?" for i in range(runs)], concurrency=concurrency, progress=False)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert all(r.output == 42 for r in results), [r.status for r in results if r.output != 42][:3]
    calls = sum(r.model_calls for r in results)
    ideal = concurrency / (2 * latency)
    return len(results) / wall / ideal, cpu / calls * 1000


CLIENTS = ("openai-api", "openai-sdk", "litellm")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--waves", type=int, default=8, help="runs per concurrency = waves x concurrency")
    parser.add_argument("--concurrency", default="32,128")
    parser.add_argument("--client", choices=CLIENTS, help="measure one client (default: each, in a process of its own)")
    args = parser.parse_args()
    if args.client is None:
        # Each client in a fresh process: one client's imports and connections do not weigh on another's figures.
        print(
            f"latency {args.latency * 1000:.0f} ms per call, 2 calls per run, {args.waves} x concurrency runs; "
            "ideal runs/s = concurrency / (2 x latency)"
        )
        for client in CLIENTS:
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--client", client], check=True)
        return
    os.environ.setdefault("SMOLNB_HOME", str(Path("/tmp") / f"smolnb-bench-{os.getpid()}"))
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    from smolnb import CodeAgent
    from smolnb.models import LiteLLMModel, OpenAIAPIModel

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), str(args.latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    base_url = server.stdout.readline().strip()
    try:
        path = args.client
        if path == "openai-api":
            model = OpenAIAPIModel("bench", api_base=base_url, api_key="sk-bench", max_retries=0)
        elif path == "openai-sdk":
            model = sdk_model(base_url)
        else:
            model = LiteLLMModel("openai/bench", api_base=base_url, api_key="sk-bench", max_retries=0)
        warm = CodeAgent(model=model, max_steps=3, store=None).run("Warm up.")
        assert warm.output == 42, warm
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            target = 0.9 if concurrency <= 32 else 0.8
            runs = args.waves * concurrency
            print(f"{path}, concurrency {concurrency}", flush=True)
            ceiling = client_alone(model, concurrency, 2 * runs, args.latency)
            print(f"  {path:10s} client alone (no agent): {ceiling:.2f} of ideal calls/s", flush=True)
            for store in (None, True) if path.startswith("openai") else (None,):
                share, cpu = agent_runs(model, concurrency, runs, args.latency, store)
                label = "run store on" if store else "no run store"
                print(
                    f"  {path:10s} agent runs, {label}: {share:.2f} of ideal runs/s; framework CPU {cpu:.2f} ms per model call",
                    flush=True,
                )
                if store and path == "openai-api":  # the figure the target is for: against the bare client, same run
                    print(f"  -> agent runs with the run store / the bare client: {share / ceiling:.2f} (target >= {target})")
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
