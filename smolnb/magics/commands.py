"""`%agent COMMAND`: one table gives the help text, the dispatch and the list an unknown command is told."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..errors import SmolnbError
from .cell_options import CELL_HELP, CellOptions
from .views import Link, Table

__all__ = ["COMMANDS", "Command", "HELP", "LineCommands"]


@dataclass(frozen=True)
class Command:
    name: str  # `%agent NAME ...` runs `LineCommands._cmd_NAME`
    usage: str
    summary: str


COMMANDS = [
    Command("models", "%agent models", "local models and configured providers"),
    Command("tools", "%agent tools", "tools %%agent uses (--tools adds notebook tools by name)"),
    Command(
        "tools",
        "%agent tools add SPEC",
        "load tools: 'name>=1.2', 'pkg.mod:func', a .py file or folder, 'entrypoints', 'mcp:CMD ARGS'",
    ),
    Command("tools", "%agent tools remove NAME", "unload a tool"),
    Command("runs", "%agent runs [N] [--table]", "recent runs (in JupyterLab a browser: choose one to open its trace)"),
    Command("show", "%agent show RUN_ID", "the trace of a run"),
    Command("trace", "%agent trace RUN_ID", "a link to the run's trace in the trace viewer (SMOLNB_PHOENIX_URL)"),
    Command("resume", "%agent resume RUN_ID", "continue a run that stopped (max steps, error, interrupt)"),
    Command("fork", "%agent fork RUN_ID STEP [TASK]", "keep a run's first STEP steps and go on from there (a new run)"),
    Command("code", "%agent code RUN_ID [STEP]", "a run's code (all steps, or one) into a new cell below"),
    Command("undo", "%agent undo", "restore the variables the last %%agent run changed or deleted, remove those it made"),
    Command(
        "config",
        "%agent config [KEY=VALUE]",
        "show or set defaults: model, max_steps, memory, approve, executor, imports, graph, vectors",
    ),
    Command("memory", "%agent memory", "the session's memory: where it lives, how much it holds"),
    Command("memory", "%agent memory search TEXT", "what recall finds for TEXT (texts and facts, with where they came from)"),
    Command("memory", "%agent memory facts ENTITY", "the facts about ENTITY, past ones too, and a picture of its neighbourhood"),
    Command("memory", "%agent memory remember TEXT", "store a note"),
    Command("memory", "%agent memory review [RUN_ID]", "what the last run (or RUN_ID) stored, with ids"),
    Command("memory", "%agent memory open", "the session's Memory object (`memory = %agent memory open`), this project's scope"),
    Command("memory", "%agent memory forget ID|WORDS", "take memories back: by id, or every text holding WORDS"),
    Command("queue", "%agent queue", "the scheduler: running and queued model calls per model, waits by priority"),
    Command("help", "%agent help", "this text"),
]
_WIDTH = 27


def _help() -> str:
    lines = [f"{c.usage:<{_WIDTH - 1}} {c.summary}" if len(c.usage) < _WIDTH else f"{c.usage}  {c.summary}" for c in COMMANDS]
    return CELL_HELP + "\n" + "\n".join(lines) + "\n"


HELP = _help()


def _forget(memory: Any, what: str) -> str:
    """`%agent memory forget ID [ID ...]` or `%agent memory forget WORDS` (the texts holding them)."""
    ids = what.split()
    known = {i.id for i in memory.vectors.get([i for i in ids if not i.startswith("fact:")])} | {
        i for i in ids if i.startswith("fact:")
    }
    if known and known == set(ids):
        gone = memory.forget_ids(ids)
        return f"forgot {gone} memor{'y' if gone == 1 else 'ies'}"
    items = memory.vectors.containing(what)
    if not items:
        return f"nothing in memory holds {what!r} (nothing forgotten)"
    gone = memory.forget_ids([i.id for i in items])
    return f"forgot {gone} memor{'y' if gone == 1 else 'ies'}: " + "; ".join(i.text[:80] for i in items)


class LineCommands:
    """The `%agent` commands, mixed into `AgentMagics` (which holds the settings and runs agents)."""

    if TYPE_CHECKING:  # what the commands use of AgentMagics
        shell: Any
        model: Any
        max_steps: Any
        executor: Any
        _journal: Any

        @property
        def ns(self) -> dict[str, Any]: ...

        @property
        def tools(self) -> Any: ...

        def scope(self) -> str: ...

        def _run(self, agent: Any, call: Any, output: str | None) -> None: ...

        def _session_memory(self, quiet: bool = False) -> Any: ...

        def _make_agent(self, options: CellOptions) -> Any: ...

    def dispatch(self, line: str) -> Any:
        """Run `%agent LINE`: split it, find its command in the table, run it; errors as usage errors."""
        head = line.split(None, 2)
        if len(head) == 3 and head[0] == "memory" and head[1] in ("search", "remember", "forget", "facts"):
            words = head  # free text: an apostrophe ("Alpha's") is text, not a shell quote
        else:
            try:
                words = shlex.split(line)
            except ValueError as exc:
                raise UsageError(f"%agent: {exc} in {line!r}; quote the argument or drop the stray quote") from None
        command, args = (words[0], words[1:]) if words else ("help", [])
        names = list(dict.fromkeys(c.name for c in COMMANDS))
        if command not in names:
            from ..errors import did_you_mean

            raise UsageError(f"%agent: unknown command {command!r}.{did_you_mean(command, names)} Commands: {', '.join(names)}")
        try:
            return getattr(self, f"_cmd_{command}")(args)
        except SmolnbError as exc:
            raise UsageError(f"%agent {command}: {exc}") from None

    def _cmd_queue(self, args: list[str]) -> Any:
        from ..scheduling import scheduler

        return scheduler

    def _cmd_memory(self, args: list[str]) -> Any:
        from ..widgets import NeighbourhoodView

        sub, rest = (args[0], " ".join(args[1:]).strip()) if args else ("status", "")
        if sub in ("search", "facts", "remember", "forget") and not rest:
            needs = {"facts": "an entity", "forget": "an id (from search or review) or words the memory holds"}.get(sub, "a text")
            raise UsageError(f"%agent memory {sub} needs {needs}")
        memory = self._session_memory()
        if sub == "status":
            current, every = len(memory.graph.facts()), len(memory.graph.facts(include_past=True))
            return Table(
                ["store", "where", "holds"],
                [
                    ["graph", memory.graph.uri, f"{current:,} current facts ({every:,} with history)"],
                    ["vectors", memory.vectors.uri, f"{memory.vectors.count():,} texts"],
                ],
                f"scope: {self.scope()} (`%agent config memory_scope=NAME` shares one on purpose)",
            )
        if sub == "search":
            rows = []
            for item in memory.recall(rest, k=10):
                origin = ", ".join(
                    f"{k} {item.provenance[k]}"
                    for k in ("source", "run_id", "step", "agent")
                    if item.provenance.get(k) not in (None, "")
                )
                rows.append([f"{item.relevance:.2f}", item.via, item.kind, item.text[:200], origin, item.id])
            note = "" if rows else f"nothing in memory is relevant to {rest!r} (relevance below {memory.relevance_floor:.2f})"
            return Table(["relevance", "found by", "kind", "memory", "from", "id"], rows, note)
        if sub == "facts":
            found = memory.graph.find_entities([rest]) or [rest]
            facts = memory.facts_about(found[0], include_past=True)
            if not facts:
                from ..errors import did_you_mean

                raise UsageError(f"%agent memory facts: no facts about {rest!r}.{did_you_mean(rest, memory.graph.entities())}")
            return NeighbourhoodView(found[0], facts)
        if sub == "remember":
            [item_id] = memory.remember(rest, source="notebook")
            return f"remembered ({item_id})"
        if sub == "open":
            return memory  # the Memory object itself, to use from Python: `memory = %agent memory open`
        if sub == "review":
            return self._memory_review(memory, rest)
        if sub == "forget":
            return _forget(memory, rest)
        raise UsageError(
            f"%agent memory: unknown command {sub!r}; use search TEXT, facts ENTITY, remember TEXT, review [RUN_ID], "
            "forget ID|WORDS, or nothing for the status"
        )

    def _memory_review(self, memory: Any, run_id: str) -> Any:
        """What a run (the last one by default) stored in memory, with the ids `forget` takes."""
        if not run_id:
            last = self.ns.get("_agent") if self.shell is not None else None
            run_id = getattr(last, "run_id", "") or ""
            if not run_id:
                return Table(
                    ["what", "memory", "run", "id"], [], "no run yet in this kernel: `%agent memory review RUN_ID` names one"
                )
        rows = []
        for item in memory.stored_by(run_id):
            what = "outcome" if item.provenance.get("outcome") else item.kind
            rows.append([what, item.text[:200].replace("\n", " | "), run_id, item.id])
        note = f"run {run_id} stored nothing in memory" if not rows else "`%agent memory forget ID` takes any of it back"
        return Table(["what", "memory", "run", "id"], rows, note)

    def _cmd_help(self, args: list[str]) -> None:
        print(HELP)

    def _cmd_models(self, args: list[str]) -> Any:
        from ..config import default_model
        from ..models.local import list_local_models

        rows = [
            [
                r["model"],
                r["description"],
                "yes" if r["installed"] else f"no: {r['install']}",
                "yes" if r["assembled"] else "no",
                r["size_mb"],
            ]
            for r in list_local_models()
        ]
        return Table(
            ["model", "what", "installed", "assembled", "MB"],
            rows,
            f"default: {self.model or default_model()} · any litellm model string works, e.g. openai/gpt-4o-mini",
        )

    def _cmd_tools(self, args: list[str]) -> Any:
        if args and args[0] == "add":
            if len(args) < 2:
                raise UsageError(
                    "%agent tools add SPEC: a pin ('geocode>=1.2'), 'pkg.mod:func', a .py file or folder, "
                    "'entrypoints', or 'mcp:COMMAND ARGS'"
                )
            from ..tools import registry

            spec = " ".join(args[1:])
            loads = spec.startswith("mcp:") or spec == "entrypoints" or ":" in spec or "/" in spec or spec.endswith(".py")
            added = [self.tools.add(t) for t in registry.load(spec)] if loads else [self.tools.add(spec)]
            if not added:
                raise UsageError(f"%agent tools add: {spec!r} holds no tools")
        elif args and args[0] == "remove":
            if len(args) != 2:
                raise UsageError("%agent tools remove NAME")
            self.tools.remove(args[1])
        rows = [[t.name, t.version, t.signature(), t.description, t.source] for t in self.tools]
        from ..tools import Tool

        in_ns = [
            [name, value.version, value.signature(), value.description, "notebook"]
            for name, value in self.ns.items()
            if isinstance(value, Tool) and not name.startswith("_") and name not in self.tools
        ]
        return Table(
            ["tool", "version", "call", "description", "from"],
            rows + in_ns,
            "%%agent uses the loaded ones; --tools name,name picks notebook tools too",
        )

    def _store(self) -> Any:
        from ..persistence import default_store

        return default_store()

    def _cmd_runs(self, args: list[str]) -> Any:
        limit = int(args[0]) if args and args[0].isdigit() else 20
        if getattr(self.shell, "kernel", None) is not None and "--table" not in args:
            try:
                from ..widgets import RunBrowser

                return RunBrowser(self._store(), limit=limit)  # choose a run to open its trace
            except ImportError:
                pass
        rows = []
        import time

        for r in self._store().runs(limit=limit):
            when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.created))
            rows.append(
                [
                    r.run_id,
                    when,
                    r.status,
                    r.model,
                    r.steps,
                    f"{r.input_tokens + r.output_tokens:,}",
                    f"{r.duration:.1f} s" if r.duration else "-",
                    r.task[:60],
                ]
            )
        return Table(["run", "when", "status", "model", "steps", "tokens", "time", "task"], rows)

    def _cmd_show(self, args: list[str]) -> Any:
        from ..widgets import TraceView

        if not args:
            raise UsageError("%agent show needs a run id; `%agent runs` lists them")
        return TraceView(self._store().events(args[0]))

    def _cmd_trace(self, args: list[str]) -> Any:
        """`%agent trace RUN_ID`: a link to the run's trace in Phoenix (the top-level run's trace)."""
        from .. import tracing

        if not args:
            raise UsageError("%agent trace needs a run id; `%agent runs` lists them")
        store = self._store()
        record = store.get(args[0])
        while record.parent_run_id:  # a managed agent's run is a branch of its manager's trace
            record = store.get(record.parent_run_id)
        url = tracing.trace_url(record.run_id)
        if url is None:
            return (
                "no trace viewer is configured: start one (`make phoenix`), set SMOLNB_PHOENIX_URL=http://127.0.0.1:6006 "
                "and OTEL_EXPORTER_OTLP_ENDPOINT to it (or call smolnb.tracing.enable(endpoint=...)) before the run"
            )
        return Link(url, f"run {record.run_id} in the trace viewer")

    def _cmd_resume(self, args: list[str]) -> None:
        if not args:
            raise UsageError("%agent resume needs a run id; `%agent runs` lists them")
        record, agent = self._agent_for_run(args[0], "resume")
        self._run(agent, lambda: agent.resume_run(record.run_id), None)

    def _agent_for_run(self, run_id: str, command: str) -> tuple[Any, Any]:
        """A stored run, and an agent built as `%%agent` builds one (settings, imports, memory) with the run's model and tools."""
        from ..events import RunStart

        store = self._store()
        record = store.get(run_id)
        start = next((e for e in store.events(record.run_id, with_children=False) if isinstance(e, RunStart)), None)
        tools = list(start.tools) if start is not None else []
        options = CellOptions(record.model, None, None, tools, False, None, None, [])
        try:
            return record, self._make_agent(options)
        except SmolnbError as exc:
            raise UsageError(f"%agent {command} {record.run_id}: {exc}") from None

    def _cmd_undo(self, args: list[str]) -> str:
        """Restore what the last %%agent run overwrote or deleted, and remove what it created."""
        journal, self._journal = self._journal, None
        if journal is None or not any(journal.changes().values()):
            return "nothing to undo: the last %%agent run changed no variable (or was undone already)"
        restored, removed, lost = journal.undo()
        said = [f"restored {', '.join(restored)}" if restored else "", f"removed {', '.join(removed)}" if removed else ""]
        if lost:
            said.append("could not restore " + "; ".join(lost))
        return "; ".join(s for s in said if s)

    def _cmd_code(self, args: list[str]) -> str:
        """`%agent code RUN_ID [STEP]`: a run's code (one step's, or all of it) into a new cell below."""
        if not args:
            raise UsageError("%agent code needs a run id (and optionally a step); `%agent runs` lists them")
        from ..events import Step

        steps = [e for e in self._store().events(args[0], with_children=False) if isinstance(e, Step) and e.code]
        if len(args) > 1:
            wanted = int(args[1]) if args[1].isdigit() else -1
            chosen = [e for e in steps if e.step == wanted]
            if not chosen:
                raise UsageError(
                    f"run {args[0]} has no step {args[1]} with code; its steps with code: "
                    f"{', '.join(str(e.step) for e in steps) or 'none'}"
                )
            code, what = chosen[-1].code, f"step {wanted}"
        else:
            if not steps:
                raise UsageError(f"run {args[0]} ran no code")
            code = "\n\n".join(f"# step {e.step}\n{e.code}" for e in steps)
            what = f"{len(steps)} steps"
        assert self.shell is not None
        self.shell.set_next_input(code, replace=False)
        return f"the code of run {args[0]} ({what}) is in a new cell below"

    def _cmd_fork(self, args: list[str]) -> None:
        """`%agent fork RUN_ID STEP [NEW TASK]`: keep the run's first STEP steps, go on from there."""
        if len(args) < 2 or not args[1].isdigit():
            raise UsageError("%agent fork needs a run id and a step: %agent fork RUN_ID STEP [new task]")
        record, agent = self._agent_for_run(args[0], "fork")
        task = " ".join(args[2:]) or None
        self._run(agent, lambda: agent.fork(record.run_id, step=int(args[1]), task=task, store=self._store()), None)

    def _cmd_config(self, args: list[str]) -> Any:
        on = lambda v: v.lower() in ("1", "true", "yes", "on")  # noqa: E731
        names = {
            "model": str,
            "max_steps": int,
            "memory": on,
            "approve": on,
            "executor": str,
            "imports": str,
            "graph": str,
            "vectors": str,
            "memory_scope": str,
        }
        for item in args:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in names:
                from ..errors import did_you_mean

                raise UsageError(f"%agent config: use KEY=VALUE with KEY one of {', '.join(names)}.{did_you_mean(key, names)}")
            try:
                setattr(self, key, names[key](value.strip()))  # type: ignore[operator]
            except Exception as exc:  # noqa: BLE001 - traitlets says why
                raise UsageError(f"%agent config: bad value for {key}: {exc}") from None
        from ..redact import mask_uri_password

        return Table(["setting", "value"], [[k, mask_uri_password(str(getattr(self, k)))] for k in names])
