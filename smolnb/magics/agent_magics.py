"""`%%agent` and `%agent`."""

from __future__ import annotations

import argparse
import hashlib
import html
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import Bool, Int, Unicode

from ..config import setting
from ..errors import SmolnbError

__all__ = ["AgentMagics"]

HELP = """\
%%agent [-m MODEL] [-o VAR] [--max-steps N] [--tools a,b] [--imports a,b] [--no-memory] [--name NAME] [-b]
        [--batch [--concurrency N]] [--sandbox] [--approve]
<the task, free text; with --batch, one task a line>
    Run a code agent on the task. Its code runs in this notebook's namespace.
    -o VAR binds the answer to VAR; the full result is always in `_agent`.
    -b / --background returns at once: other cells run while the trace keeps updating.
    --sandbox runs the code in a kernel-confined process (same as %agent config executor=sandbox).
    --approve asks before each code block runs: Enter runs it, s skips it, e edits it (the
    decision is in the trace; %agent config approve=on makes it the default). The trace has a
    Stop button; %agent undo takes back what the run did to your variables.

Where the agent's code runs (executor):
    local      in this kernel, at native speed, under a policy: authorized imports only, no
               dunder or frame walks, reads but no writes, a time limit it cannot swallow, a
               memory budget. It stops common escapes and accidents; it is not a boundary.
    sandbox    a child process the kernel confines (Landlock: reads Python and system files,
               writes only its scratch directory; seccomp: no sockets, no new programs or
               processes; no secret of the kernel in its environment), with the same policy
               inside. The boundary for code you do not trust. It sees the variables the
               task uses (DataFrames and arrays cross as Arrow and raw frames) and what it
               creates or changes comes back; objects of its own classes stay inside.
    subprocess a plain child process with memory and CPU limits: isolates crashes, not secrets.

%agent models              local models and configured providers
%agent tools               tools %%agent uses (--tools adds notebook tools by name)
%agent tools add SPEC      load tools: 'name>=1.2', 'pkg.mod:func', a .py file or folder, 'entrypoints', 'mcp:CMD ARGS'
%agent tools remove NAME   unload a tool
%agent runs [N] [--table]  recent runs (in JupyterLab a browser: choose one to open its trace)
%agent show RUN_ID         the trace of a run
%agent trace RUN_ID        a link to the run's trace in the trace viewer (SMOLNB_PHOENIX_URL)
%agent resume RUN_ID       continue a run that stopped (max steps, error, interrupt)
%agent fork RUN_ID STEP [TASK]  keep a run's first STEP steps and go on from there (a new run)
%agent code RUN_ID [STEP]  a run's code (all steps, or one) into a new cell below
%agent undo                restore the variables the last %%agent run changed or deleted, remove those it made
%agent config [KEY=VALUE]  show or set defaults: model, max_steps, memory, approve, executor, imports, graph, vectors
%agent memory              the session's memory: where it lives, how much it holds
%agent memory search TEXT  what recall finds for TEXT (texts and facts, with where they came from)
%agent memory facts ENTITY the facts about ENTITY, past ones too, and a picture of its neighbourhood
%agent memory remember TEXT  store a note
%agent memory review [RUN_ID]  what the last run (or RUN_ID) stored, with ids
%agent memory open         the session's Memory object (`memory = %agent memory open`), this project's scope
%agent memory forget ID|WORDS  take memories back: by id, or every text holding WORDS
%agent queue               the scheduler: running and queued model calls per model, waits by priority
%agent help                this text
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print and exit; a notebook wants an error
        raise UsageError(
            f"%%agent: {message}. Usage: %%agent [-m MODEL] [-o VAR] [--max-steps N] [--tools a,b] [--no-memory] [--name NAME]"
        )


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%agent", add_help=False)
    parser.add_argument("-m", "--model")
    parser.add_argument("-o", "--output")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--tools", default="")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--name")
    parser.add_argument("--executor")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--imports", default="")
    parser.add_argument("--background", "-b", action="store_true")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--approve", action="store_true")
    return parser


@dataclass
class CellOptions:
    model: str | None
    output: str | None
    max_steps: int | None
    tools: list[str]
    no_memory: bool
    name: str | None
    executor: str | None
    imports: list[str]
    background: bool = False
    batch: bool = False
    concurrency: int = 8
    approve: bool = False


def _approve_by_input(step: int, code: str) -> str | None:
    """`%%agent --approve`: ask under the cell (the notebook's input box; the terminal's prompt)."""
    while True:
        answer = input(f"step {step}: Enter runs it · s skips it · e edits it > ").strip().lower()
        if answer in ("", "r", "run", "y", "yes"):
            return code
        if answer in ("s", "skip", "n", "no"):
            return None
        if answer in ("e", "edit"):
            edited = input("the code to run instead (write \\n for a new line; empty keeps the model's) > ")
            return edited.replace("\\n", "\n") if edited.strip() else code


def _merge_back(shared: dict[str, Any], own: dict[str, Any], before: dict[str, Any]) -> None:
    """Bring a background run's work into the notebook.

    Names it bound or rebound, and deletions of names the notebook has not rebound since.
    """
    for name, value in own.items():
        if not name.startswith("__") and (name not in before or before[name] is not value):
            shared[name] = value
    for name, value in before.items():
        if name not in own and shared.get(name) is value:
            del shared[name]


class _NamespaceChanges:
    """The line under a run's trace: the variables it created, changed and deleted."""

    def __init__(self, changes: dict[str, list[str]]) -> None:
        self.changes = changes

    def __bool__(self) -> bool:
        return any(self.changes.values())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        parts = [f"{kind}: {', '.join(names)}" for kind, names in self.changes.items() if names]
        text = "namespace: " + " · ".join(parts) + "  (`%agent undo` restores)"
        return {
            "text/plain": text,
            "text/html": f"<div class='snb-ns' style='font-size:12px;color:#555'>{html.escape(text)}</div>",
        }


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


class _Link:
    """A link in the notebook (and the URL as text elsewhere)."""

    def __init__(self, url: str, label: str) -> None:
        self.url, self.label = url, label

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": f"{self.label}: {self.url}",
            "text/html": f"<a href='{html.escape(self.url)}' target='_blank'>{html.escape(self.label)}</a>",
        }


class _Table:
    """A small table that shows as HTML in a notebook and as text in a terminal."""

    def __init__(self, header: list[str], rows: list[list[Any]], note: str = "") -> None:
        self.header, self.rows, self.note = header, rows, note

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        cells = [self.header] + [[str(c) for c in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.header))]
        text = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells)
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        note_html = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return {
            "text/plain": text + (f"\n{self.note}" if self.note else ""),
            "text/html": f"<table>{head}{body}</table>{note_html}",
        }


@magics_class
class AgentMagics(Magics):
    """The magics; settings are traitlets, so `c.AgentMagics.model = ...` in IPython config works."""

    model = Unicode("", help="Default model for %%agent ('' means SMOLNB_MODEL or the local default).").tag(config=True)
    max_steps = Int(10, help="Default step limit for %%agent.").tag(config=True)
    memory = Bool(
        setting("SMOLNB_MEMORY").lower() not in ("0", "off", "false", "no"),
        help="Give %%agent the session's long-term memory (SMOLNB_MEMORY=off turns it off by default).",
    ).tag(config=True)
    graph = Unicode(setting("SMOLNB_GRAPH"), help="Graph URI for the session's memory ('' = networkx under SMOLNB_HOME).").tag(
        config=True
    )
    vectors = Unicode(setting("SMOLNB_VECTORS"), help="Vector store URI ('' = LanceDB under SMOLNB_HOME).").tag(config=True)
    memory_scope = Unicode(
        setting("SMOLNB_MEMORY_SCOPE"),
        help="Whose memory %%agent uses when graph/vectors are not set: '' = this project (the "
        "kernel's folder), or a name several projects share on purpose.",
    ).tag(config=True)
    executor = Unicode(
        "local", help="'local' (in the kernel, guarded), 'sandbox' (a kernel-confined process) or 'subprocess'."
    ).tag(config=True)
    approve = Bool(False, help="Ask before each code block runs (run / edit / skip), as %%agent --approve does.").tag(config=True)
    imports = Unicode("", help="Extra authorized imports for %%agent, comma-separated (e.g. 'pandas,numpy').").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._tools: Any = None
        self._memory: Any = None
        self._memory_uris: tuple[str, ...] | None = None
        self.background: list[Any] = []  # threads of runs started with --background
        self._journal: Any = None  # what the last %%agent run did to the namespace (for %agent undo)

    # -- %%agent ------------------------------------------------------------------------------

    @property
    def ns(self) -> dict[str, Any]:
        """The notebook's namespace (these magics always run in a shell)."""
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return]

    @cell_magic
    def agent(self, line: str, cell: str) -> None:
        """Run a code agent on the cell's text; `%agent help` has the options."""
        options = self._parse_cell(line)
        task = (cell or "").strip()
        if not task:
            raise UsageError("%%agent: the cell is empty. Write the task below the %%agent line.")
        try:
            agent = self._make_agent(options)
        except SmolnbError as exc:
            raise UsageError(f"%%agent: {exc}") from None
        if options.batch:
            self._run_batch(agent, [t.strip() for t in task.splitlines() if t.strip()], options)
        elif options.background:
            self._run_in_background(agent, task, options.output)
        else:
            self._run(agent, lambda: agent.run(task), options.output)

    def _run_batch(self, agent: Any, tasks: list[str], options: CellOptions) -> None:
        """`%%agent --batch`: one task a line, run `--concurrency` at a time; a table of the results."""
        from ..batch import run_many

        try:
            results = run_many(agent, tasks, concurrency=options.concurrency)
        except SmolnbError as exc:
            raise UsageError(f"%%agent --batch: {exc}") from None
        self.ns["_agent"] = results
        if options.output:
            self.ns[options.output] = [r.output for r in results]
        display(
            _Table(
                ["task", "answer", "status", "steps", "run"],
                [
                    [t[:60], str(r.output)[:80], r.status, len(r.action_steps), r.run_id]
                    for t, r in zip(tasks, results, strict=True)
                ],
                "_agent holds the results; `%agent show RUN_ID` opens a trace",
            )
        )

    def _run_in_background(self, agent: Any, task: str, output: str | None) -> None:
        """Start the run on its own thread and return.

        The kernel answers other cells meanwhile, the trace under this cell keeps updating, and
        `_agent` / `-o` are set when it ends.
        """
        import threading

        from ..widgets import TraceView

        live, handle = self._show_live(agent)
        if handle is None:
            handle = display(f"running in the background: {task[:60]}", display_id=True)
        # Its own copy of the namespace: the cells run meanwhile must not see its guard (the
        # policy's builtins) or its half-done variables. What it makes comes back at the end.
        shared = self.ns
        agent.namespace = dict(shared)
        before = dict(agent.namespace)

        def work() -> None:
            try:
                try:
                    result = agent.run(task)
                except KeyboardInterrupt:  # Stop: the run is stored as interrupted
                    result = agent.last_result
                    if result is None:
                        return
            finally:
                _merge_back(shared, agent.namespace, before)
            self.ns["_agent"] = result
            if output:
                self.ns[output] = result.output
            if handle is not None:
                handle.update(TraceView(result.events))

        thread = threading.Thread(target=work, name="smolnb-agent-cell", daemon=True)
        if live is not None:
            from .._interrupt import interrupt_thread

            live.on_stop = lambda: interrupt_thread(thread.ident)
        self.background.append(thread)
        thread.start()

    def _parse_cell(self, line: str) -> CellOptions:
        try:
            args = _cell_parser().parse_args(shlex.split(line))
        except ValueError as exc:
            raise UsageError(f"%%agent: {exc}") from None
        if args.output is not None and not args.output.isidentifier():
            raise UsageError(f"%%agent: -o needs a variable name, got {args.output!r}")
        if args.max_steps is not None and args.max_steps < 1:
            raise UsageError("%%agent: --max-steps must be at least 1")
        if args.sandbox and args.executor not in (None, "sandbox"):
            raise UsageError(f"%%agent: --sandbox and --executor {args.executor} contradict each other; choose one")
        return CellOptions(
            args.model,
            args.output,
            args.max_steps,
            [t for t in args.tools.split(",") if t.strip()],
            args.no_memory,
            args.name,
            "sandbox" if args.sandbox else args.executor,
            [m.strip() for m in args.imports.split(",") if m.strip()],
            args.background,
            args.batch,
            args.concurrency,
            args.approve,
        )

    def _make_agent(self, options: CellOptions) -> Any:
        from ..agent import CodeAgent
        from ..errors import UserError, did_you_mean

        tools = list(self.tools)
        for name in options.tools:
            name = name.strip()
            if name in self.tools:
                continue  # loaded already
            found = self.ns.get(name)
            if found is None:
                raise UserError(
                    f"no tool named {name!r}.{did_you_mean(name, self.tools.names())} Add one with "
                    "%agent tools add, or define an @tool function in the notebook."
                )
            tools.append(found)
        memory = None if options.no_memory or not self.memory else self._session_memory(quiet=True)
        return CodeAgent(
            memory=memory,
            model=options.model or self.model or None,
            tools=tools,
            max_steps=options.max_steps or self.max_steps,
            name=options.name,
            executor=options.executor or self.executor,
            namespace=self.ns,
            authorized_imports=[*self.imports.split(","), *options.imports] if self.imports else options.imports,
            approve=_approve_by_input if (options.approve or self.approve) else None,
        )

    def _run(self, agent: Any, call: Any, output: str | None) -> None:
        from ..agent.journal import NamespaceJournal
        from ..widgets import TraceView

        if getattr(agent, "namespace", None) is self.ns:
            agent.journal = NamespaceJournal(self.ns)
        live, handle = self._show_live(agent)
        if live is not None:
            live.foreground = True  # Stop interrupts this cell
        try:
            result = call()
        except SmolnbError as exc:
            raise UsageError(f"%%agent: {exc}") from None
        finally:
            if live is not None:
                live.foreground = False
                agent.listeners.remove(live)
        view = TraceView(result.events)
        if handle is not None:
            handle.update(view)  # the saved notebook keeps static HTML and text, no widget state
        else:
            display(view)
        self.ns["_agent"] = result
        if output:
            self.ns[output] = result.output
        journal = getattr(agent, "journal", None)
        if journal is not None:
            agent.journal = None
            self._journal = journal
            changes = _NamespaceChanges(journal.changes())
            if changes:
                display(changes)

    def _session_memory(self, quiet: bool = False) -> Any:
        """The session's Memory, opened on first use.

        With `quiet`, a memory that cannot open is reported and the run goes on without it; otherwise the error is raised.
        """
        scope = self.scope()
        uris = (self.graph, self.vectors, scope)
        if self._memory is not None and self._memory_uris == uris:
            return self._memory
        from ..config import home
        from ..memory import Memory

        folder = home() / "memory" / scope
        try:
            self._memory = Memory(
                graph=self.graph or f"networkx://{folder}/graph.json", vectors=self.vectors or f"lancedb://{folder}/vectors"
            )
            self._memory_uris = uris
        except SmolnbError as exc:
            if not quiet:
                raise
            print(
                f"smolnb: long-term memory is unavailable, this run goes on without it: {exc}\n"
                "(`%agent config memory=off` or `%%agent --no-memory` stops this message)"
            )
            return None
        return self._memory

    def scope(self) -> str:
        """The memory scope: the configured name, else this project.

        This project is the kernel's working folder: its name and a short hash of its path, so two
        folders of the same name stay apart.
        """
        if self.memory_scope.strip():
            return re.sub(r"[^\w.-]+", "-", self.memory_scope.strip())
        folder = Path.cwd().resolve()
        name = re.sub(r"[^\w.-]+", "-", folder.name) or "root"
        return f"{name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"

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
            return _Table(
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
            return _Table(["relevance", "found by", "kind", "memory", "from", "id"], rows, note)
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
                return _Table(
                    ["what", "memory", "run", "id"], [], "no run yet in this kernel: `%agent memory review RUN_ID` names one"
                )
        rows = []
        for item in memory.stored_by(run_id):
            what = "outcome" if item.provenance.get("outcome") else item.kind
            rows.append([what, item.text[:200].replace("\n", " | "), run_id, item.id])
        note = f"run {run_id} stored nothing in memory" if not rows else "`%agent memory forget ID` takes any of it back"
        return _Table(["what", "memory", "run", "id"], rows, note)

    def _show_live(self, agent: Any) -> tuple[Any, Any]:
        """The live trace widget under the cell, fed by the agent's events.

        Returns (widget, display handle), or (None, None) in a terminal.
        """
        live = self._live_widget()
        if live is None:
            return None, None
        agent.listeners.append(live)
        return live, display(live.widget, display_id=True)

    def _live_widget(self) -> Any:
        if getattr(self.shell, "kernel", None) is None:
            return None  # a terminal: the text trace is shown when the run ends
        try:
            from ..widgets import TraceWidget

            return TraceWidget()
        except SmolnbError:
            return None

    # -- %agent -------------------------------------------------------------------------------

    @property
    def tools(self) -> Any:
        if self._tools is None:
            from ..tools import ToolSet

            self._tools = ToolSet()
        return self._tools

    @line_magic("agent")  # type: ignore[arg-type]  # IPython types the decorator for methods without a name
    def agent_line(self, line: str) -> Any:
        """`%agent models | tools | runs | show ID | resume ID | config K=V | help`."""
        head = line.split(None, 2)
        if len(head) == 3 and head[0] == "memory" and head[1] in ("search", "remember", "forget", "facts"):
            words = head  # free text: an apostrophe ("Alpha's") is text, not a shell quote
        else:
            try:
                words = shlex.split(line)
            except ValueError as exc:
                raise UsageError(f"%agent: {exc} in {line!r}; quote the argument or drop the stray quote") from None
        command, args = (words[0], words[1:]) if words else ("help", [])
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            from ..errors import did_you_mean

            commands = [
                "models",
                "tools",
                "runs",
                "show",
                "trace",
                "resume",
                "fork",
                "code",
                "undo",
                "config",
                "memory",
                "queue",
                "help",
            ]
            raise UsageError(
                f"%agent: unknown command {command!r}.{did_you_mean(command, commands)} Commands: {', '.join(commands)}"
            )
        try:
            return handler(args)
        except SmolnbError as exc:
            raise UsageError(f"%agent {command}: {exc}") from None

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
        return _Table(
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
        return _Table(
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
        return _Table(["run", "when", "status", "model", "steps", "tokens", "time", "task"], rows)

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
        return _Link(url, f"run {record.run_id} in the trace viewer")

    def _cmd_resume(self, args: list[str]) -> None:
        if not args:
            raise UsageError("%agent resume needs a run id; `%agent runs` lists them")
        from ..agent import CodeAgent

        record = self._store().get(args[0])
        agent = CodeAgent(model=record.model, max_steps=self.max_steps, namespace=self.ns, executor=self.executor)
        self._run(agent, lambda: agent.resume_run(record.run_id), None)

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
        from ..agent import CodeAgent

        record = self._store().get(args[0])
        agent = CodeAgent(model=record.model, max_steps=self.max_steps, namespace=self.ns, executor=self.executor)
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

        return _Table(["setting", "value"], [[k, mask_uri_password(str(getattr(self, k)))] for k in names])
