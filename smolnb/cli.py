"""The `smolnb` command: run an agent, list models, and (later) evals and the run store."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .config import setting
from .errors import SmolnbError

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from .agent.building import build_agent, open_memory
    from .events import Event, Step

    def show(event: Event) -> None:
        if isinstance(event, Step) and args.verbose:
            print(f"--- step {event.step} ({event.kind}, {event.duration:.1f} s)", file=sys.stderr)
            if event.code:
                print(event.code, file=sys.stderr)
            if event.observation:
                print(f">>> {event.observation[:500]}", file=sys.stderr)

    memory = None
    if args.memory:
        from .memory import Memory

        # SMOLNB_GRAPH / NEO4J_URI and SMOLNB_VECTORS, else under SMOLNB_HOME
        memory = open_memory(Memory, report=lambda message: print(message, file=sys.stderr))
    agent = build_agent(model=args.model, max_steps=args.max_steps, imports=args.imports, memory=memory, listeners=[show])
    result = agent.run(" ".join(args.task))
    print(result.output)
    print(f"[{result.model}: {result.summary()}]", file=sys.stderr)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    return 0 if result.status == "success" else 1


def _cmd_models(args: argparse.Namespace) -> int:
    from .config import default_model
    from .models.local import list_local_models

    rows: list[dict[str, Any]] = list_local_models()
    providers = {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "mistral": "MISTRAL_API_KEY",
        "gemini": "GEMINI_API_KEY",
        "groq": "GROQ_API_KEY",
        "ollama": "OLLAMA_API_BASE",
    }
    configured = [p for p, var in providers.items() if os.environ.get(var)]
    # OpenAI-compatible services reachable as openai-api/<service>/<model>: every <SERVICE>_BASE_URL
    services = sorted(k.removesuffix("_BASE_URL").lower() for k, v in os.environ.items() if k.endswith("_BASE_URL") and v)
    if args.json:
        listing = {"default": default_model(), "local": rows, "providers": configured, "openai_api_services": services}
        print(json.dumps(listing, indent=2))
        return 0
    print(f"default model: {default_model()}\n")
    print(f"{'local model':28s} {'installed':9s} {'assembled':9s} {'MB':>6s}  path")
    for row in rows:
        print(f"{row['model']:28s} {str(row['installed']):9s} {str(row['assembled']):9s} {row['size_mb']:6d}  {row['path']}")
    print(f"\nproviders with a key in the environment: {', '.join(configured) or 'none'} (any litellm model string works)")
    print(f"OpenAI-compatible services (<SERVICE>_BASE_URL set): {', '.join(services) or 'none'} (openai-api/<service>/<model>)")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from .persistence import default_store
    from .widgets import TraceView

    store = default_store()
    if args.action == "show":
        print(repr(TraceView(store.events(args.run_id))))
        return 0
    if args.action == "delete":
        store.delete(args.run_id)
        print(f"deleted {args.run_id}")
        return 0
    if args.action == "prune":
        if args.keep is None and args.older_than is None:
            print("smolnb runs prune: give --keep N and/or --older-than DAYS", file=sys.stderr)
            return 2
        print(f"deleted {store.prune(keep=args.keep, older_than_days=args.older_than)} runs")
        return 0
    import time

    for r in store.runs(status=args.status, model=args.model, limit=args.limit):
        if args.since and r.created < time.time() - args.since * 86400:
            continue
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        print(f"{r.run_id}  {when}  {r.status:11s} {r.model:28s} {r.steps:3d} steps  {r.task[:60]}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from .harness import compare, evaluate, report

    if args.action == "run" and len(args.suites) == 1 and args.suites[0].endswith((".yaml", ".yml")):
        from .harness.evaluate import evaluate_config

        overrides = {
            "concurrency": args.concurrency_set,
            "limit": args.limit,
            "backend": None if args.backend == "local" else args.backend,
            "out": args.out,
            **({"models": args.models} if args.models else {}),
        }
        samples, args.out = evaluate_config(args.suites[0], **overrides)
        print(f"{len(samples)} samples in {args.out}", file=sys.stderr)
    elif args.action == "run":
        if not args.models:
            print("smolnb eval run: give at least one model with -m MODEL", file=sys.stderr)
            return 2
        samples = evaluate(
            args.suites,
            args.models,
            out=args.out,
            concurrency=args.concurrency_set or 4,
            epochs=args.epochs,
            limit=args.limit,
            max_steps=args.max_steps,
            backend=args.backend,
            ray_address=args.ray_address,
        )
        print(f"{len(samples)} samples in {args.out} (runs.db holds every trace: smolnb eval report {args.out})", file=sys.stderr)
    result = report(args.out)
    print(result.table())
    print()
    print(result.confidence_table())
    if args.plot:
        result.plot(args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    if args.compare:
        for label, tasks in compare(args.out, *args.compare).items():
            print(f"{label} ({len(tasks)}): {', '.join(tasks) if tasks else '-'}")
    return 0


def _cmd_services(args: argparse.Namespace) -> int:
    from .services import serve_neo4j

    serve_neo4j(Path(args.data) if args.data else None, port=args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `smolnb` command."""
    parser = argparse.ArgumentParser(prog="smolnb", description="Agents that think in Python code.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a code agent on a task and print its answer")
    run.add_argument("task", nargs="+", help="the task, as text")
    run.add_argument(
        "-m",
        "--model",
        default=None,
        help="a litellm model string or local/<name> (default: SMOLNB_MODEL or local/qwen2.5-coder-0.5b)",
    )
    run.add_argument("--max-steps", type=int, default=6)
    run.add_argument("--imports", default="", help="extra authorized imports, comma-separated")
    run.add_argument("-v", "--verbose", action="store_true", help="show each step on stderr")
    run.add_argument("--memory", action="store_true", help="use long-term memory (SMOLNB_GRAPH or NEO4J_URI, SMOLNB_VECTORS)")
    run.set_defaults(fn=_cmd_run)
    models = sub.add_parser("models", help="list local models and configured providers")
    models.add_argument("--json", action="store_true")
    models.set_defaults(fn=_cmd_models)
    runs = sub.add_parser("runs", help="list, show, delete or prune stored runs")
    runs.add_argument("action", nargs="?", default="list", choices=["list", "show", "delete", "prune"])
    runs.add_argument("run_id", nargs="?")
    runs.add_argument("--status")
    runs.add_argument("--model")
    runs.add_argument("--since", type=float, help="only runs of the last N days")
    runs.add_argument("--limit", type=int, default=30)
    runs.add_argument("--keep", type=int, help="prune: keep the newest N runs")
    runs.add_argument("--older-than", type=float, help="prune: delete runs older than N days")
    runs.set_defaults(fn=_cmd_runs)
    ev = sub.add_parser("eval", help="run task suites across models, and report")
    ev.add_argument("action", choices=["run", "report"])
    ev.add_argument(
        "suites", nargs="*", help="run: suite names in datasets/, .jsonl paths, or one evals/*.yaml; report: the folder"
    )
    ev.add_argument("-m", "--model", dest="models", action="append", default=[], help="a model (repeat for several)")
    ev.add_argument("--concurrency", type=int, default=None, dest="concurrency_set")
    ev.add_argument("--epochs", type=int, default=1)
    ev.add_argument("--limit", type=int, help="the first N tasks of each suite")
    ev.add_argument("--max-steps", type=int, default=6)
    ev.add_argument("--out", default=None, help="the eval folder (samples.jsonl, runs.db); run again to resume")
    ev.add_argument("--backend", choices=["local", "ray"], default="local")
    ev.add_argument("--ray-address", default=None, help="a Ray cluster (default: a local Ray)")
    ev.add_argument("--plot", help="report: write the plot to this PNG")
    ev.add_argument("--compare", nargs=2, metavar=("MODEL_A", "MODEL_B"), help="report: which tasks only one model solved")
    ev.set_defaults(fn=_cmd_eval)
    services = sub.add_parser("services", help="start a service beside the notebook (neo4j) until Ctrl-C")
    services.add_argument("service", choices=["neo4j"])
    services.add_argument("--port", type=int, default=7687, help="Bolt port on 127.0.0.1 (default 7687)")
    services.add_argument("--data", default=None, help="its data folder (default: SMOLNB_HOME/services/neo4j)")
    services.set_defaults(fn=_cmd_services)
    args = parser.parse_args(argv)
    from .logs import configure

    configure(level=setting("SMOLNB_LOG_LEVEL"))  # SMOLNB_LOG_FORMAT=json for JSON lines
    if getattr(args, "action", None) in ("show", "delete") and not args.run_id:
        parser.error(f"runs {args.action} needs a run id")
    if args.command == "eval":
        if args.action == "report" and args.out is None:
            if len(args.suites) != 1:
                parser.error("eval report needs the eval folder: smolnb eval report DIR")
            args.out = args.suites[0]
        config = len(args.suites) == 1 and args.suites[0].endswith((".yaml", ".yml"))
        if args.action == "run" and not config and (not args.suites or args.out is None):
            parser.error("eval run needs suites and --out DIR, e.g. smolnb eval run basics -m MODEL --out evals/out")
    try:
        return int(args.fn(args))
    except SmolnbError as exc:
        print(f"smolnb: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smolnb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
