"""Eval throughput: samples per second against a scripted server with a fixed latency, as a share
of the ideal (concurrency / latency; each sample is one model call), local and on Ray.

    python bench/eval_throughput.py [--latency 0.2] [--samples 768] [--concurrency 32] [--no-ray]

768 samples are 24 waves at concurrency 32: the steady state of an eval, where the fixed start
(opening the eval folder and its run store, the first connections) weighs little. Samples use
`openai-api/bench/bench`, smolnb's own OpenAI-compatible client.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from throughput import SERVER  # noqa: E402  (the same scripted server process)


def main() -> None:
    import subprocess

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--samples", type=int, default=768)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from smolnb.harness import evaluate

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), str(args.latency), "one-step"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base_url = server.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "bench.jsonl"
            suite.write_text(
                "".join(
                    json.dumps({"id": f"t{i}", "input": f"Task {i}: what is 6 * 7?", "target": 42, "scorer": "numeric"}) + "\n"
                    for i in range(args.samples)
                )
            )
            os.environ["BENCH_BASE_URL"], os.environ["BENCH_API_KEY"] = base_url, "sk-bench"  # openai-api/bench/...
            model = "openai-api/bench/bench"
            options: dict = {}
            ideal = args.concurrency / args.latency
            backends = ["local"] + ([] if args.no_ray else ["ray"])
            evaluate(suite, [model], out=Path(tmp) / "warm", limit=2, agent_options=options, progress=False)
            print(
                f"{args.samples} samples, {args.latency * 1000:.0f} ms per model call, concurrency {args.concurrency}; ideal {ideal:.0f} samples/s"
            )
            for backend in backends:
                if backend == "ray":  # a running local Ray, as a cluster would be; its workers still start in the timing
                    import ray

                    ray.init(
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                        runtime_env={"env_vars": {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "BENCH_BASE_URL": base_url}},
                    )
                started = time.perf_counter()
                samples = evaluate(
                    suite,
                    [model],
                    out=Path(tmp) / backend,
                    concurrency=args.concurrency,
                    backend=backend,
                    agent_options=options,
                    progress=False,
                )
                wall = time.perf_counter() - started
                assert len(samples) == args.samples and all(s.correct for s in samples), [
                    s.error for s in samples if not s.correct
                ][:3]
                rate = args.samples / wall
                note = " (Ray already up; includes starting its worker actors)" if backend == "ray" else " (target >= 0.9)"
                print(f"  {backend:5s}: {rate:6.1f} samples/s = {rate / ideal:.2f} of ideal{note}")
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
