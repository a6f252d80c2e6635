"""The live trace without a browser: what a running step shows, and the widget's controls."""

import pytest

from smolnb import CodeAgent, tool
from smolnb.events import Live
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from smolnb.widgets.render import TraceState, render_html
from tests.helpers import py


def test_a_running_step_shows_its_code_what_it_printed_so_far_and_a_clock(tmp_path):
    state, seen = TraceState(), {}

    @tool
    def checkpoint(label: str) -> int:
        """Look at the trace now.

        Args:
            label: a name for the moment.
        """
        seen[label] = render_html(state)
        return 0

    model = TestModel([py("print('loading the data')\ncheckpoint('mid')\nprint('all done')"), py("final_answer(1)")])
    store = RunStore(tmp_path / "runs.db")
    result = CodeAgent(model=model, tools=[checkpoint], listeners=[state.add], store=store).run("t")
    assert result.output == 1
    mid = seen["mid"]
    assert "snb-running-code" in mid and "checkpoint" in mid  # the code, while it runs
    assert "<pre class='snb-stdout'>loading the data</pre>" in mid  # what it printed so far, and no more
    assert "running the code" in mid and "class='snb-clock' data-since=" in mid  # a clock the page ticks
    assert "snb-running" in mid  # the run's status line is live too
    done = render_html(state)
    assert "snb-running-code" not in done and "loading the data\nall done</pre>" in done
    # live events are for views only: not in the result, not in the store
    assert not [e for e in result.events if isinstance(e, Live)]
    assert not [e for e in store.events(result.run_id) if isinstance(e, Live)]


def test_the_widget_paints_the_trace_and_stop_reaches_a_running_run():
    pytest.importorskip("anywidget")
    from smolnb.widgets import TraceWidget

    stopped = []
    live = TraceWidget(on_stop=lambda: stopped.append(1))
    model = TestModel([py("x = 1\nprint(x)"), py("final_answer(x)")])
    agent = CodeAgent(model=model, listeners=[live])
    states = []
    agent.listeners.append(lambda e: states.append(live.widget.running))
    live._message(live.widget, {"event": "stop"}, [])
    assert stopped == []  # no run: nothing to stop
    agent.run("t")
    live.refresh()
    assert "Answer:" in live.widget.html and live.widget.running is False
    assert True in states  # it was running while the run ran
    assert live.widget.server_time > 0 and live.widget._esm  # the page gets the kernel's clock and the view
    live.state.runs[next(iter(live.state.runs))].end = None  # as if still running
    live._message(live.widget, {"event": "stop"}, [])
    assert stopped == [1]
    live.widget.close()


def test_the_models_reply_streams_into_the_running_step():
    state, frames = TraceState(), []

    def listen(event):
        state.add(event)
        if isinstance(event, Live) and event.what == "model":
            frames.append(render_html(state))

    reply = py("total = sum(range(10))\nfinal_answer(total)")
    result = CodeAgent(model=TestModel([reply]), listeners=[listen]).run("t")
    assert result.output == 45
    assert len(frames) > 3  # the reply came in pieces
    first, last = frames[0], frames[-1]
    assert "snb-live-text" in first and "the model is writing" in first
    assert "final_answer(total)" not in first and "final_answer(total)" in last  # text appears as it is generated
    assert "snb-status snb-running" in first  # before the step ends


def test_the_run_browser_searches_filters_and_sorts(tmp_path):
    pytest.importorskip("ipywidgets")
    from smolnb.models import FunctionModel
    from smolnb.widgets import RunBrowser

    store = RunStore(tmp_path / "runs.db")
    for task, model_id, reply in [
        ("count the primes below 100", "model-a", py("final_answer(25)")),
        ("sum the list", "model-b", py("final_answer(6)")),
        ("count the primes below 1000", "model-b", "no code at all"),
    ]:
        CodeAgent(model=FunctionModel(lambda m, r=reply, **i: r, model_id=model_id), store=store, max_steps=1).run(task)
    browser = RunBrowser(store)
    assert browser.table.value.count("<tr>") == 3
    browser.search.value = "PRIMES"
    assert browser.table.value.count("<tr>") == 2 and "sum the list" not in browser.table.value
    browser.status.value = "success"
    assert browser.table.value.count("<tr>") == 1 and "below 100<" in browser.table.value
    browser.search.value, browser.status.value, browser.model.value = "", "", "model-b"
    assert browser.table.value.count("<tr>") == 2
    browser.model.value, browser.sort.value = "", "oldest first"
    rows = browser.table.value.split("<tr>")[1:]
    assert "below 100<" in rows[0] and "below 1000<" in rows[-1]
    label = browser.picker.options[1][0]
    assert label.split(" · ")[0] in {r.run_id for r in store.runs()} and ":" in label.split(" · ")[1]  # id and time on one line
    browser.select(browser.picker.options[1][1])
    assert "snb" in browser.trace.value


def test_the_trace_shows_what_memory_gave_the_run_and_what_the_run_stored(tmp_path):
    from smolnb import Memory
    from smolnb.events import MemoryAccess
    from smolnb.memory import HashEmbedder
    from smolnb.widgets.render import render_text

    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.remember("The Heron cluster has a quota of 64 GPUs.", source="notes")
    store = RunStore(tmp_path / "runs.db")
    result = CodeAgent(model=TestModel([py("final_answer(64)")]), memory=memory, store=store).run(
        "What is the Heron cluster quota?"
    )
    accesses = [e for e in store.events(result.run_id) if isinstance(e, MemoryAccess)]
    assert [a.op for a in accesses] == ["read", "write"]  # stored with the run, shown again later
    assert accesses[0].items == ["The Heron cluster has a quota of 64 GPUs."]
    assert accesses[1].ids and "Answer: 64" in accesses[1].items[0]
    html, text = render_html(TraceState(result.events)), render_text(TraceState(result.events))
    assert "memory gave the run 1 item" in html and "64 GPUs" in html
    assert "stored the answer in memory (unverified)" in text


def test_the_trace_shows_what_the_model_was_given():
    """Defect: an unrelated variable in the prompt changed the answer, and nothing showed what was sent."""
    model = TestModel([py("final_answer(df_rows)")])
    result = CodeAgent(model=model, namespace={"df_rows": 3, "prime_count": 168}).run("How many rows does df_rows say?")
    html = render_html(TraceState(result.events))
    assert "what the model was given" in html and "df_rows" in html.split("what the model was given", 1)[1]
