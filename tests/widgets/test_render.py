"""The pure renderers: events in, HTML and text out (no agent, no kernel, no browser)."""

import re

from smolnb.events import Live, MemoryAccess, ModelCall, RunEnd, RunStart, Step, StepStart, ToolCall, Usage
from smolnb.widgets.render import TraceState, as_mimebundle, render_html, render_text


def run_events(run_id="r1", **end):
    """A finished two-step run: a tool call, an error that was fixed, memory read and written."""
    return [
        RunStart(run_id=run_id, task="Sum the <b>sales</b>", agent="analyst", model="test"),
        MemoryAccess(run_id=run_id, op="read", query="sales", items=["Q3 sales were 12"]),
        StepStart(run_id=run_id, step=1),
        ModelCall(
            run_id=run_id, step=1, messages=[{"role": "system"}, {"role": "user", "content": "Task: sum"}], usage=Usage(50, 7)
        ),
        ToolCall(run_id=run_id, step=1, name="lookup", arguments={"q": "'Q3'"}, phase="started"),
        ToolCall(run_id=run_id, step=1, name="lookup", arguments={"q": "'Q3'"}, result="12"),
        Step(
            run_id=run_id,
            step=1,
            thought="Look it up.",
            code="x = lookup('Q3') / 0",
            error="ZeroDivisionError",
            error_kind="exception",
            usage=Usage(50, 7),
        ),
        StepStart(run_id=run_id, step=2),
        Step(run_id=run_id, step=2, thought="Fix it.", code="final_answer(12)", is_final=True, usage=Usage(60, 5)),
        RunEnd(
            run_id=run_id, step=2, usage=Usage(110, 12), duration=1.5, steps=2, confidence="computed", **{"output": 12, **end}
        ),
        MemoryAccess(run_id=run_id, op="write", items=["Task: ... Answer: 12"], ids=["m1"]),
    ]


def test_a_finished_run_renders_every_part_once_in_html():
    html = render_html(TraceState(run_events()))
    assert html.count("data-run-id='r1'") == 1
    assert "Sum the &lt;b&gt;sales&lt;/b&gt;" in html and "<b>sales</b>" not in html  # the task is escaped
    assert html.count("<details class='snb-step") == 2
    assert "ZeroDivisionError" in html and "lookup" in html
    assert "memory gave the run 1 item" in html and "Q3 sales were 12" in html
    assert "stored the answer in memory" in html and "m1" in html
    assert "success" in html and "2 steps" in html and "110 in / 12 out tokens" in html
    assert re.search(r"<b>Answer:</b> 12</div>", html)


def test_the_text_has_the_same_information():
    text = render_text(TraceState(run_events()))
    assert text.splitlines()[0] == "analyst · test · Sum the <b>sales</b>"
    assert "── step 1" in text and "· exception" in text and "│ x = lookup('Q3') / 0" in text
    assert "tool lookup(q='Q3') → 12" in text
    assert text.count("tool lookup") == 1  # the "started" record is the store's, not shown
    assert "answer: 12" in text and "success" in text


def test_observations_and_errors_cannot_inject_markup():
    events = run_events(status="error", error="<script>alert(1)</script>", output=None)
    events[6].observation = "<img src=x onerror=alert(2)>"
    html = render_html(TraceState(events))
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_a_managed_agents_run_nests_under_the_step_that_called_it():
    outer = run_events("outer")
    inner = [
        RunStart(run_id="inner", task="capital?", agent="geo", model="test", parent_run_id="outer", parent_step=1),
        StepStart(run_id="inner", step=1),
        Step(run_id="inner", step=1, code="final_answer('Paris')", is_final=True),
        RunEnd(run_id="inner", step=1, output="Paris", steps=1),
    ]
    state = TraceState(outer[:6] + inner + outer[6:])
    assert [r.start.run_id for r in state.roots] == ["outer"]
    text = render_text(state)
    assert "    ↳ geo · test · capital?" in text and "    answer: Paris" in text
    assert "↳ geo" in render_html(state)


def test_a_running_run_shows_its_live_step():
    events = run_events()[:3] + [
        Live(run_id="r1", step=1, what="code", text="for i in range(3): print(i)"),
        Live(run_id="r1", step=1, what="stdout", text="0\n1\n"),
    ]
    bundle = as_mimebundle(events)
    assert "running" in bundle["text/plain"]
    html = bundle["text/html"]
    assert "snb-running-code" in html and ">range</span>" in html  # the code being run, highlighted
    assert "<pre class='snb-stdout'>0\n1</pre>" in html  # and what it printed so far


def test_events_of_an_unknown_run_are_ignored():
    assert render_text(TraceState([Step(run_id="nobody", step=1, code="x")])) == ""
