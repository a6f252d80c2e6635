"""Render a run from its events alone, as HTML or as plain text.

A live run and a stored one render the same, because both are nothing but their events.
Managed-agent runs nest inside the step that called them.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..events import Event, Live, MemoryAccess, ModelCall, RunEnd, RunStart, Step, StepStart, ToolCall, Usage, calls_note, counted

__all__ = ["RunView", "StepView", "TraceState", "as_mimebundle", "render_html", "render_text"]

FOLD = 1200  # characters of output shown before "show more"


@dataclass
class StepView:
    number: int
    kind: str = "action"
    step: Step | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    children: list[RunView] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.time)
    html: dict[bool, str] = field(default_factory=dict)  # rendered once done, by open/closed
    live_code: str | None = None  # the code running now (before the step is done)
    awaiting: bool = False  # the code waits for the user's approval
    live_text: list[str] = field(default_factory=list)  # the model's reply so far, as it streams
    live_stdout: list[str] = field(default_factory=list)  # what it printed so far
    code_started: float = 0.0

    @property
    def done(self) -> bool:
        return self.step is not None and all(child.end is not None for child in self.children)


@dataclass
class RunView:
    start: RunStart
    steps: list[StepView] = field(default_factory=list)
    end: RunEnd | None = None
    memory: list[MemoryAccess] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_calls: int = 0
    given: str = ""  # the task message of the run's first model call: what the model was told

    def step(self, number: int, kind: str = "action") -> StepView:
        for view in reversed(self.steps):
            if view.number == number and (view.kind == kind or view.step is None):
                return view
        view = StepView(number, kind)
        self.steps.append(view)
        return view


class TraceState:
    """Folds events into a tree of runs and steps."""

    def __init__(self, events: list[Event] | None = None) -> None:
        self.runs: dict[str, RunView] = {}
        self.roots: list[RunView] = []
        for event in events or []:
            self.add(event)

    def add(self, event: Event) -> None:
        if isinstance(event, RunStart):
            started = RunView(event)
            self.runs[event.run_id] = started
            parent = self.runs.get(event.parent_run_id or "")
            if parent is not None:
                parent.step(event.parent_step or 0).children.append(started)
            else:
                self.roots.append(started)
            return
        run = self.runs.get(event.run_id)
        if run is None:
            return
        if isinstance(event, MemoryAccess):
            run.memory.append(event)
        elif isinstance(event, StepStart):
            run.steps.append(StepView(event.step, event.kind, started=event.ts))
        elif isinstance(event, Live):
            view = run.step(event.step)
            if event.what == "model":
                view.live_text.append(event.text)
            elif event.what == "approve":
                view.live_code, view.awaiting, view.code_started = event.text, True, event.ts
            elif event.what == "code":
                view.live_code, view.awaiting, view.live_stdout, view.code_started = event.text, False, [], event.ts
            elif event.what == "stdout":
                view.live_stdout.append(event.text)
        elif isinstance(event, ModelCall):
            if not run.given and len(event.messages) > 1:
                run.given = str(event.messages[1].get("content") or "")
            run.model_calls += 1
            run.usage = run.usage + event.usage
            run.step(event.step).usage = run.step(event.step).usage + event.usage
        elif isinstance(event, ToolCall):
            if event.phase == "done":  # a "started" record is the store's, for resume
                run.step(event.step).tool_calls.append(event)
        elif isinstance(event, Step):
            view = run.step(event.step, event.kind)
            view.step, view.kind = event, event.kind
        elif isinstance(event, RunEnd):
            run.end = event


# -- HTML -------------------------------------------------------------------------------------

_CSS = """<style>
.snb{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.45;border-left:3px solid #8c959f;padding:4px 10px;margin:4px 0}
.snb .snb-head{font-weight:600;margin-bottom:4px}
.snb details{margin:3px 0;border:1px solid #d0d7de;border-radius:6px;padding:2px 8px}
.snb summary{cursor:pointer;color:#57606a}
.snb pre{white-space:pre-wrap;margin:4px 0;padding:6px;border-radius:4px;background:#f6f8fa;font-size:12px}
.snb .snb-error{border-color:#cf222e}.snb .snb-error>summary{color:#cf222e}
.snb pre.snb-err{background:#ffebe9;color:#82071e}
.snb .snb-planning{border-style:dashed}
.snb .snb-status{margin-top:4px;font-weight:600}
.snb .snb-success{color:#1a7f37}.snb .snb-max_steps{color:#9a6700}.snb .snb-error-status{color:#cf222e}
.snb .snb-interrupted{color:#6e7781}.snb .snb-running{color:#0969da}
.snb .snb-answer{margin-top:4px;padding:6px;background:#dafbe1;border-radius:4px}
.snb .snb-tool{font-family:monospace;font-size:12px;color:#8250df}
.snb .snb-copy,.snb .snb-fork{display:none;font-size:11px;margin-left:6px;padding:0 6px;cursor:pointer}
.snb .snb-wait{color:#57606a;font-style:italic}
.snb .snb-memory{color:#57606a;font-size:12px;margin:2px 0}
</style>"""


@lru_cache(maxsize=512)
def _highlight(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return html.escape(code)
    return str(highlight(code, PythonLexer(), HtmlFormatter(nowrap=True, noclasses=True)))


def _folded(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    if len(text) <= FOLD:
        return f"<pre{cls}>{html.escape(text)}</pre>"
    head, rest = text[:FOLD], text[FOLD:]
    return (
        f"<pre{cls}>{html.escape(head)}</pre><details class='snb-more'><summary>show more "
        f"({len(rest):,} characters)</summary><pre{cls}>{html.escape(rest)}</pre></details>"
    )


def _step_html(run: RunView, view: StepView, last: bool) -> str:
    # A finished step never changes: render it once (a live trace re-renders on every event).
    cached = view.html.get(last)
    if cached is None:
        cached = _render_step(run, view, last)
        if view.done:
            view.html[last] = cached
    return cached


def _render_step(run: RunView, view: StepView, last: bool) -> str:
    step = view.step
    kind = view.kind
    label = {"planning": "Planning", "final": "Final answer"}.get(kind, f"Step {view.number}")
    parts: list[str] = []
    css = ["snb-step", f"snb-{kind}"]
    if step is None:
        summary = f"{label} · {_clock(view.started)} · running…"
        if view.live_code is None and view.live_text:
            streamed = "".join(view.live_text)
            parts.append(f"<pre class='snb-live-text'>{html.escape(streamed[-FOLD * 2 :])}</pre>")
            parts.append("<div class='snb-wait'>the model is writing…</div>")
        elif view.live_code is None:
            parts.append("<div class='snb-wait'>waiting for the model…</div>")
        elif view.awaiting:
            parts.append(f"<pre class='snb-code snb-awaiting'>{_highlight(view.live_code)}</pre>")
            parts.append(
                f"<div class='snb-wait'>waiting for your approval (answer under the cell) · {_clock(view.code_started)}</div>"
            )
        else:
            parts.append(f"<pre class='snb-code snb-running-code'>{_highlight(view.live_code)}</pre>")
            parts.append(f"<div class='snb-wait'>running the code · {_clock(view.code_started)}</div>")
            printed = "".join(view.live_stdout)
            if printed:
                tail = printed[-FOLD:]
                parts.append(
                    f"<pre class='snb-stdout'>{'…' if len(printed) > FOLD else ''}{html.escape(tail.rstrip(chr(10)))}</pre>"
                )
    else:
        if step.error:
            css.append("snb-error")
        tokens = f"{step.usage.input_tokens:,}→{step.usage.output_tokens:,} tokens"
        flag = f" · {html.escape(step.error_kind or 'error')}" if step.error else ""
        said = {"edited": " · you edited it", "skipped": " · you skipped it", "approved": " · you approved it"}.get(
            step.approval or "", ""
        )
        if step.challenged:
            said += " · answer sent back (the observation says why)"
        summary = f"{label} · {step.duration:.2f} s · {tokens}{flag}{said}"
        if step.proposed_code:
            parts.append(
                f"<details class='snb-proposed'><summary>the model's code, before your edit</summary>"
                f"<pre>{html.escape(step.proposed_code)}</pre></details>"
            )
        if step.thought:
            parts.append(f"<div class='snb-thought'>{html.escape(step.thought)}</div>")
        if step.code:
            parts.append(f"<pre class='snb-code'>{_highlight(step.code)}</pre>")
            summary += (
                f" <button class='snb-copy' data-step='{view.number}' title='put this code in a new cell'>copy to cell</button>"
                f" <button class='snb-fork' data-step='{view.number}' title='put `%agent fork` from this step in a new cell'>"
                "fork here</button>"
            )
        for call in view.tool_calls:
            args = ", ".join(f"{k}={v}" for k, v in call.arguments.items())
            outcome = f"→ error: {call.error}" if call.error else f"→ {call.result}"
            parts.append(
                f"<div class='snb-tool'>{html.escape(call.name)}({html.escape(args)}) {html.escape(outcome or '')}</div>"
            )
        for child in view.children:
            parts.append(_run_html(child, nested=True))
        if step.stdout:
            parts.append(_folded(step.stdout.rstrip("\n"), "snb-stdout"))
        if step.error:
            parts.append(_folded(step.error, "snb-err"))
        elif kind == "planning":
            pass
        elif step.observation and step.observation != step.stdout.rstrip("\n"):
            parts.append(_folded(step.observation, "snb-obs"))
    for child in view.children if step is None else []:
        parts.append(_run_html(child, nested=True))
    opened = " open" if last or (step is not None and step.error and kind != "action") else ""
    key = html.escape(f"{run.start.run_id}/{view.number}/{kind}")
    return f"<details class='{' '.join(css)}' data-key='{key}'{opened}><summary>{summary}</summary>{''.join(parts)}</details>"


def _clock(since: float) -> str:
    """Elapsed time since `since`; a live view ticks it in the browser (`data-since`)."""
    return f"<span class='snb-clock' data-since='{since:.3f}'>{max(0.0, time.time() - since):.1f} s</span>"


def _reached(end: RunEnd) -> str:
    """How the answer was reached, beside the status (smolnb.agent.confidence)."""
    from ..agent.confidence import LABELS

    return f" · {LABELS[end.confidence]}" if end.confidence in ("checked", "computed", "stated") else ""


def _status_html(run: RunView) -> str:
    steps = sum(1 for s in run.steps if s.kind == "action")
    if run.end is None:
        return (
            f"<div class='snb-status snb-running'>running · {counted(steps, 'step')} · {counted(run.model_calls, 'model call')} · "
            f"{run.usage.input_tokens:,} in / {run.usage.output_tokens:,} out tokens · {_clock(run.start.ts)}</div>"
        )
    end = run.end
    css = "snb-error-status" if end.status == "error" else f"snb-{end.status}"
    mark = {"success": "✔", "max_steps": "⚠", "error": "✖", "interrupted": "■"}.get(end.status, "")
    text = (
        f"{mark} {end.status.replace('_', ' ')}{_reached(end)} · {counted(steps, 'step')} · "
        f"{calls_note(end.status, steps, run.model_calls)} · "
        f"{end.usage.input_tokens:,} in / {end.usage.output_tokens:,} out tokens · {end.duration:.2f} s"
    )
    out = f"<div class='snb-status {css}'>{html.escape(text)}</div>"
    if end.error:
        out += f"<pre class='snb-err'>{html.escape(end.error)}</pre>"
    if end.status in ("success", "max_steps"):
        out += f"<div class='snb-answer'><b>Answer:</b> {html.escape(repr(end.output) if not isinstance(end.output, str) else end.output)}</div>"
    return out


def _run_html(run: RunView, nested: bool = False) -> str:
    start = run.start
    who = html.escape(start.agent or "agent")
    head = f"<div class='snb-head'>{'↳ ' if nested else ''}{who} · {html.escape(start.model)} · {html.escape(start.task[:300])}</div>"
    # Open: the step in progress while running; every step of a short finished run.
    short = run.end is not None and len(run.steps) <= 4
    steps = "".join(
        _step_html(run, view, short or (i == len(run.steps) - 1 and run.end is None)) for i, view in enumerate(run.steps)
    )
    reads = "".join(
        f"<details class='snb-memory'><summary>memory gave the run {counted(len(a.items), 'item')}</summary>"
        + "".join(f"<div>· {html.escape(item)}</div>" for item in a.items)
        + "</details>"
        for a in run.memory
        if a.op == "read"
    )
    writes = "".join(f"<div class='snb-memory'>{html.escape(_memory_write(a))}</div>" for a in run.memory if a.op == "write")
    given = (
        f"<details class='snb-given'><summary>what the model was given</summary>{_folded(run.given)}</details>"
        if run.given
        else ""
    )
    body = f"{head}{given}{reads}{steps}{_status_html(run)}{writes}"
    return f"<div class='snb' data-run-id='{html.escape(start.run_id)}'>{body}</div>"


def _memory_write(access: MemoryAccess) -> str:
    ids = ", ".join(access.ids)
    return f"stored the answer in memory (unverified) · {ids} · `%agent memory forget ID` takes it back"


def render_html(state: TraceState) -> str:
    """The whole trace as one HTML fragment (collapsible steps, folded long outputs)."""
    return _CSS + "".join(_run_html(run) for run in state.roots)


# -- text -------------------------------------------------------------------------------------


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _run_text(run: RunView, depth: int = 0) -> list[str]:
    pad = "    " * depth
    start = run.start
    lines = [f"{pad}{'↳ ' if depth else ''}{start.agent} · {start.model} · {start.task[:200]}"]
    for access in run.memory:
        if access.op == "read":
            lines.append(f"{pad}   memory gave the run {counted(len(access.items), 'item')}")
            lines.extend(f"{pad}   · {item[:200]}" for item in access.items)
    for view in run.steps:
        step = view.step
        label = {"planning": "planning", "final": "final answer"}.get(view.kind, f"step {view.number}")
        if step is None:
            lines.append(f"{pad}── {label} · running…")
            continue
        flag = f" · {step.error_kind or 'error'}" if step.error else ""
        flag += {"edited": " · you edited it", "skipped": " · you skipped it"}.get(step.approval or "", "")
        flag += " · answer sent back (the observation says why)" if step.challenged else ""
        lines.append(
            f"{pad}── {label} · {step.duration:.2f} s · {step.usage.input_tokens}→{step.usage.output_tokens} tokens{flag}"
        )
        if step.thought:
            lines.append(_indent(step.thought[:FOLD], pad + "   "))
        if step.code:
            lines.append(_indent(step.code, pad + "   │ "))
        for call in view.tool_calls:
            lines.append(
                f"{pad}   tool {call.name}({', '.join(f'{k}={v}' for k, v in call.arguments.items())}) → {call.error or call.result}"
            )
        for child in view.children:
            lines.extend(_run_text(child, depth + 1))
        shown = step.error or step.observation
        if shown and view.kind != "planning":
            cut = shown if len(shown) <= FOLD else shown[:FOLD] + f"\n… ({len(shown) - FOLD:,} more characters)"
            lines.append(_indent(cut, pad + "   > "))
    if run.end is None:
        lines.append(f"{pad}running · {run.model_calls} model calls")
    else:
        end = run.end
        steps = sum(1 for s in run.steps if s.kind == "action")
        lines.append(
            f"{pad}{end.status}{_reached(end)} · {counted(steps, 'step')} · {calls_note(end.status, steps, run.model_calls)} · "
            f"{end.usage.input_tokens} in / {end.usage.output_tokens} out tokens · {end.duration:.2f} s"
        )
        if end.error:
            lines.append(f"{pad}error: {end.error}")
        if end.status in ("success", "max_steps"):
            lines.append(f"{pad}answer: {end.output!r}" if not isinstance(end.output, str) else f"{pad}answer: {end.output}")
    lines.extend(f"{pad}{_memory_write(a)}" for a in run.memory if a.op == "write")
    return lines


def render_text(state: TraceState) -> str:
    """The same information as `render_html`, readable in a terminal."""
    return "\n".join(line for run in state.roots for line in _run_text(run))


def as_mimebundle(events: list[Event]) -> dict[str, Any]:
    state = TraceState(events)
    return {"text/plain": render_text(state), "text/html": render_html(state)}
