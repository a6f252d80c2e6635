"""`%%agent` and `%agent`."""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import Bool, Int, Unicode

from ..config import setting
from ..errors import SmolnbError
from .cell_options import CellOptions, _cell_parser
from .commands import LineCommands
from .views import NamespaceChanges, Table

__all__ = ["AgentMagics"]


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


@magics_class
class AgentMagics(LineCommands, Magics):
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
            Table(
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

        from .._interrupt import close_section, interrupt, open_section

        stop: list[int] = []  # the run's interrupt section: Stop reaches the run, nothing after it

        def work() -> None:
            try:
                try:
                    stop.append(open_section())
                    result = agent.run(task)
                except KeyboardInterrupt:  # Stop: the run is stored as interrupted
                    result = agent.last_result
                finally:
                    if stop:
                        close_section(stop[0])
            finally:
                _merge_back(shared, agent.namespace, before)
            if result is None:
                return
            self.ns["_agent"] = result
            if output:
                self.ns[output] = result.output
            if handle is not None:
                handle.update(TraceView(result.events))

        thread = threading.Thread(target=work, name="smolnb-agent-cell", daemon=True)
        if live is not None:
            live.on_stop = lambda: stop and interrupt(stop[0])
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
            [args.imports],  # as typed: the policy reads the names
            args.background,
            args.batch,
            args.concurrency,
            args.approve,
        )

    def _make_agent(self, options: CellOptions) -> Any:
        from ..agent.building import build_agent
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
        return build_agent(
            model=options.model or self.model,
            max_steps=options.max_steps or self.max_steps,
            tools=tools,
            imports=[self.imports, *options.imports],
            memory=memory,
            name=options.name,
            executor=options.executor or self.executor,
            namespace=self.ns,
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
            changes = NamespaceChanges(journal.changes())
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
        from ..agent.building import open_memory
        from ..config import home
        from ..memory import Memory

        folder = home() / "memory" / scope

        def open_() -> Memory:
            return Memory(
                graph=self.graph or f"networkx://{folder}/graph.json", vectors=self.vectors or f"lancedb://{folder}/vectors"
            )

        if not quiet:
            self._memory = open_()
        else:
            hint = "\n(`%agent config memory=off` or `%%agent --no-memory` stops this message)"
            self._memory = open_memory(open_, report=print, hint=hint)
        self._memory_uris = uris if self._memory is not None else None
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
        """`%agent COMMAND ...`: the commands are in `commands.COMMANDS` (`%agent help` lists them)."""
        return self.dispatch(line)
