"""Run task suites across models.

Every sample's result goes in `OUT/samples.jsonl`, its full trace in `OUT/runs.db` (opens in the
step-trace widget); a cache lets an interrupted eval resume without redoing a finished sample; a
local or Ray backend gives the same results.

    smolnb eval run basics -m local/qwen2.5-coder-0.5b -m openai/gpt-4o-mini --concurrency 8 --out evals/out
    results = evaluate("basics", ["local/qwen2.5-coder-0.5b"], out="evals/out", limit=10)
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .._retry import Backoff, aretry
from .._sync import run_sync
from ..config import setting
from ..errors import UserError
from ..redact import redact
from .scorers import ascore
from .suite import Task, builtin_suite, load_suite, suite_path

__all__ = ["Sample", "arun_sample", "evaluate", "evaluate_config", "load_samples", "run_sample", "scorer_options"]

CONFIG_KEYS = {
    "suites",
    "models",
    "out",
    "concurrency",
    "epochs",
    "limit",
    "max_steps",
    "backend",
    "ray_address",
    "agent",
    "judge_model",
}


@dataclass
class Sample:
    """One task, one model, one epoch: what happened and how it scored."""

    suite: str
    task_id: str
    model: str
    epoch: int
    status: str = ""
    output: Any = None
    target: Any = None
    correct: bool = False
    explanation: str = ""
    scorer_error: str | None = None
    error: str | None = None
    error_kind: str | None = None  # model | code | scorer | max_steps | interrupted
    steps: int = 0
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency: float = 0.0
    run_id: str = ""
    confidence: str = ""  # how the answer was reached: checked | computed | stated | forced | none
    attempts: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.suite, self.task_id, self.model, self.epoch)


def _suite_name(suite: str | Path) -> str:
    return str(suite) if builtin_suite(suite) else suite_path(suite).stem


def load_samples(out: str | Path) -> list[Sample]:
    """The samples an eval folder holds (a torn last line from a killed eval is skipped)."""
    path = Path(out) / "samples.jsonl"
    if not path.exists():
        return []
    samples = []
    for line in path.read_text().splitlines():
        try:
            samples.append(Sample(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return samples


_STORES: dict[str, Any] = {}  # one RunStore per eval folder and process


def run_sample(task: Task, suite: str, model: str, epoch: int, **options: Any) -> Sample:
    """Run one sample from plain code (the unit a Ray task runs); see `arun_sample`."""
    return run_sync(arun_sample(task, suite, model, epoch, **options))


async def arun_sample(
    task: Task,
    suite: str,
    model: str,
    epoch: int,
    *,
    runs_db: str,
    max_steps: int = 6,
    agent_options: dict[str, Any] | None = None,
    retries: int = 2,
    judge_model: str | None = None,
) -> Sample:
    """Run one sample: the agent, retries on transient model errors, the scorer.

    Never raises for a failing run or scorer (an interrupt stops the eval).
    """
    from ..agent import CodeAgent, RunResult
    from ..persistence import RunStore

    sample = Sample(suite, task.id, model, epoch, target=task.target, metadata=task.metadata)
    options = dict(agent_options or {})
    store = _STORES.get(runs_db) or _STORES.setdefault(runs_db, RunStore(runs_db))

    async def attempt() -> RunResult:
        sample.attempts += 1
        memory = None
        if task.setup.get("memory"):
            memory = _preloaded_memory(task.setup["memory"], tempfile.mkdtemp(prefix="smolnb-eval-memory-"))
        agent = CodeAgent(model=model, max_steps=max_steps, store=store, memory=memory, **options)
        started = time.perf_counter()
        result = await agent.arun(task.input, variables=dict(task.setup.get("variables") or {}))
        sample.latency = time.perf_counter() - started
        if memory is not None:
            memory.close()
        if result.status == "interrupted":
            raise KeyboardInterrupt  # the eval stops; this sample is not recorded, so a resume runs it
        return result

    # A retry may fix a transient error (rate limit, time-out, a server gone), nothing else.
    sample.attempts = 0
    result = await aretry(
        attempt, retry_result=lambda r: r.error_kind == "transient", backoff=Backoff(2.0, cap=10.0), retries=retries
    )
    sample.status, sample.run_id = result.status, result.run_id
    sample.confidence = result.confidence
    sample.output = _jsonable(result.output)
    sample.steps, sample.model_calls = len(result.action_steps), result.model_calls
    sample.input_tokens, sample.output_tokens = result.usage.input_tokens, result.usage.output_tokens
    sample.error = redact(result.error) if result.error else None
    if result.status != "success":
        sample.error_kind = (
            "max_steps"
            if result.status == "max_steps"
            else "interrupted"
            if result.status == "interrupted"
            else "model"
            if result.error_kind in ("model", "transient")
            else "error"
        )
    # a run's answer is scored; at the step cap, the best answer it gave still counts
    if result.status == "success" or (result.status == "max_steps" and result.output is not None):
        options = scorer_options(task, result)
        verdict = await ascore(task.scorer, result.output, task.target, question=task.input, judge_model=judge_model, **options)
        sample.correct, sample.explanation, sample.scorer_error = verdict.correct, verdict.explanation, verdict.error
        if verdict.error and result.status == "success":
            sample.error_kind = "scorer"
    return sample


def _jsonable(value: Any) -> Any:
    """The answer as it will read back from samples.jsonl (a repr where JSON has no form for it)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def scorer_options(task: Task, result: Any = None) -> dict[str, Any]:
    """What a scorer may take from the task (a check expression, a tolerance, HumanEval's tests).

    With the run's `result`, also its `work`: the code blocks it ran without error, in order.
    """
    options: dict[str, Any] = {
        k: task.metadata[k] for k in ("check", "tolerance", "prompt", "test", "entry_point") if k in task.metadata
    }
    if result is not None:
        options["work"] = [s.code for s in result.action_steps if s.code and not s.error]
    return options


def _preloaded_memory(setup: dict[str, Any], folder: str) -> Any:
    from ..memory import HashEmbedder, Memory

    embedder = HashEmbedder() if setting("SMOLNB_EVAL_EMBEDDER") == "hash" else None
    memory = Memory(graph=f"networkx://{folder}/kg.json", vectors=f"lancedb://{folder}/vectors", embedder=embedder)
    notes = list(setup.get("notes") or [])
    if notes:
        memory.remember_many(notes, source="setup")
    for subject, predicate, obj in setup.get("facts") or []:
        memory.graph.add_fact(subject, predicate, obj, provenance={"source": "setup"})
    return memory


class _Writer:
    """Appends samples to samples.jsonl, a flushed line each: a killed eval loses at most the samples in flight.

    A background thread fsyncs what was written (the event loop never waits on the disk);
    `close()` fsyncs the rest.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()  # one line at a time
        self.sync_lock = threading.Lock()  # the file stays open while it is fsynced
        if path.exists() and path.stat().st_size:
            with path.open("rb+") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")  # end a torn last line (a killed eval) so the next sample starts clean
        self.file = path.open("a", encoding="utf-8")
        self.dirty = threading.Event()
        self.closed = False
        self.syncer = threading.Thread(target=self._sync_loop, name="smolnb-eval-fsync", daemon=True)
        self.syncer.start()

    def write(self, sample: Sample) -> None:
        row = {f.name: getattr(sample, f.name) for f in fields(sample)}
        line = redact(json.dumps(row, default=repr, ensure_ascii=False)) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()  # in the OS now: a killed process does not lose it
        self.dirty.set()

    def _sync_loop(self) -> None:
        while True:
            self.dirty.wait()
            self.dirty.clear()
            with self.sync_lock:
                if self.closed:
                    return
                os.fsync(self.file.fileno())  # on disk: a power cut does not lose it either

    def close(self) -> None:
        with self.sync_lock:
            self.closed = True
            self.dirty.set()
            with self.lock:
                self.file.flush()
                os.fsync(self.file.fileno())
                self.file.close()
        self.syncer.join(timeout=5)


def evaluate(
    suite: str | Path | list[str | Path],
    models: list[str],
    *,
    out: str | Path,
    concurrency: int = 4,
    epochs: int = 1,
    limit: int | None = None,
    max_steps: int = 6,
    backend: str = "local",
    ray_address: str | None = None,
    agent_options: dict[str, Any] | None = None,
    progress: bool = True,
    judge_model: str | None = None,
) -> list[Sample]:
    """Run every task of the suite(s) on every model for `epochs`.

    Returns all samples of the eval folder (earlier ones included: finished samples are never run
    again).
    """
    if not models:
        raise UserError("evaluate() needs at least one model (-m MODEL)")
    if backend not in ("local", "ray"):
        raise UserError(f"unknown backend {backend!r}: use 'local' or 'ray'")
    suites = suite if isinstance(suite, list) else [suite]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = {s.key for s in load_samples(out)}
    todo = []
    for name in suites:
        tasks = load_suite(name)[:limit] if limit else load_suite(name)
        label = _suite_name(name)
        for model in models:
            for epoch in range(epochs):
                todo += [(task, label, model, epoch) for task in tasks if (label, task.id, model, epoch) not in done]
    (out / "eval.json").write_text(
        json.dumps(
            {
                "suites": [str(s) for s in suites],
                "models": models,
                "epochs": epochs,
                "limit": limit,
                "max_steps": max_steps,
                "backend": backend,
                "updated": time.time(),
            },
            indent=1,
        )
    )
    writer = _Writer(out / "samples.jsonl")
    runs_db = str((out / "runs.db").resolve())
    bar = _progress(len(todo), len(done)) if progress else None
    kwargs = {"runs_db": runs_db, "max_steps": max_steps, "agent_options": agent_options, "judge_model": judge_model}
    try:
        if backend == "ray":
            _run_on_ray(todo, kwargs, writer, bar, concurrency, ray_address)
        else:
            run_sync(_run_local(todo, kwargs, writer, bar, concurrency))
    finally:
        writer.close()
        if bar is not None:
            bar.close()
    return load_samples(out)


async def _run_local(
    todo: list[tuple[Task, str, str, int]], kwargs: dict[str, Any], writer: _Writer, bar: Any, concurrency: int
) -> None:
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(task: Task, label: str, model: str, epoch: int) -> None:
        async with gate:  # the samples share this event loop: the agent loop is async at its core
            sample = await arun_sample(task, label, model, epoch, **kwargs)
            writer.write(sample)
            if bar is not None:
                bar.update(1)

    tasks = [asyncio.ensure_future(one(*item)) for item in todo]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # an interrupt or an error: stop the samples not yet finished
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _run_on_ray(
    todo: list[tuple[Task, str, str, int]],
    kwargs: dict[str, Any],
    writer: _Writer,
    bar: Any,
    concurrency: int,
    address: str | None,
) -> None:
    try:
        import ray
    except ImportError as exc:
        from ..errors import MissingExtraError

        raise MissingExtraError("ray", "ray", "the Ray backend") from exc
    started_here = not ray.is_initialized()
    if started_here:
        env = {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("SMOLNB_", "OPENAI_", "LITELLM_", "HF_")) or k.endswith(("_API_KEY", "_BASE_URL"))
        }
        ray.init(
            address=address, include_dashboard=False, log_to_driver=False, configure_logging=False, runtime_env={"env_vars": env}
        )
    try:
        # Samples wait on models, not on CPUs: each worker is an async actor running many samples
        # at once on its event loop; one worker per CPU of the cluster (at most one per sample slot).
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = max(1, min(cpus, concurrency))
        per_worker = max(1, -(-concurrency // count))
        actor = ray.remote(num_cpus=1, max_restarts=1)(_RayWorker).options(max_concurrency=per_worker)
        workers = [actor.remote() for _ in range(count)]
        pending: dict[Any, bool] = {}
        queue = list(todo)
        turn = 0
        while queue or pending:
            while queue and len(pending) < max(1, concurrency):
                task, label, model, epoch = queue.pop(0)
                pending[workers[turn % count].run.remote(task, label, model, epoch, kwargs)] = True  # type: ignore[attr-defined]
                turn += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                writer.write(ray.get(ref))
                if bar is not None:
                    bar.update(1)
    finally:
        if started_here:
            ray.shutdown()


def evaluate_config(path: str | Path, **overrides: Any) -> tuple[list[Sample], Path]:
    """Run an eval definition (`evals/*.yaml`): suites, models, epochs, limit, agent options, out."""
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read the eval definition {path}: {exc}") from exc
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise UserError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(CONFIG_KEYS)}")
    for key in ("suites", "models"):
        if not config.get(key):
            raise UserError(f"{path}: '{key}' must list at least one")
    config.update({k: v for k, v in overrides.items() if v is not None})
    out = Path(config.pop("out", None) or Path("evals/out") / Path(path).stem)
    agent = config.pop("agent", None)
    samples = evaluate(config.pop("suites"), config.pop("models"), out=out, agent_options=agent, **config)
    return samples, out


class _RayWorker:
    """A Ray actor that runs samples as coroutines (`max_concurrency` of them at once)."""

    async def run(self, task: Task, label: str, model: str, epoch: int, kwargs: dict[str, Any]) -> Sample:
        return await arun_sample(task, label, model, epoch, **kwargs)


def _progress(total: int, done: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total + done, initial=done, desc="samples", unit="sample")
