"""One event bus: the run store, the tracer, listeners and live views are sinks of one list."""

import logging

import pytest

from smolnb import CodeAgent, tracing
from smolnb.agent.bus import EventBus, Sink
from smolnb.errors import BackendError
from smolnb.events import Live, RunStart, ToolCall
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from tests.agent.test_code_agent import add
from tests.helpers import py


def start(run_id="r"):
    return RunStart(run_id=run_id, step=0, task="t", agent="a", agent_type="code", model="m")


def test_each_sink_takes_the_events_it_says_it_takes():
    got = {name: [] for name in ("store", "tracer", "view")}
    bus = EventBus(
        [
            Sink(got["store"].append, "store", record=True),
            Sink(got["tracer"].append, "tracer"),
            Sink(got["view"].append, "view", forwarded=True, live=True),
        ]
    )
    own, helper, live = start("own"), start("helper"), Live(run_id="own", step=1, what="stdout", text="x")
    begun = ToolCall(run_id="own", step=1, name="t", version="1", arguments={}, phase="started")
    bus.publish(own)
    bus.publish(helper, forwarded=True)
    bus.publish(live)
    bus.publish(begun, record_only=True)
    assert got["store"] == [own, begun]
    assert got["tracer"] == [own]
    assert got["view"] == [own, helper, live]
    assert bus.records and bus.live
    assert not EventBus([Sink(print, "tracer")]).live


def test_a_failing_store_or_view_does_not_fail_the_run_but_a_failing_listener_does(caplog):
    def store(event):
        raise BackendError("the run store is locked; the events are kept")

    def view(event):
        raise RuntimeError("widget gone")

    bus = EventBus([Sink(store, "store", record=True), Sink(view, "view", live=True)])
    with caplog.at_level(logging.WARNING, logger="smolnb"):
        bus.publish(Live(run_id="r", step=1, what="stdout", text="x"))
        with pytest.raises(RuntimeError, match="widget gone"):
            bus.publish(start())
    assert "locked" in caplog.text


def test_a_run_with_a_helper_a_tool_a_store_a_tracer_and_a_listener_feeds_each_from_one_bus(tmp_path):
    helper = CodeAgent(model=TestModel([py("final_answer('Paris')")]), name="geo", description="Geography.", store=None)
    manager_model = TestModel([py("city = geo('capital?')\nprint(add(1, 2))"), py("final_answer(city)")])
    store = RunStore(tmp_path / "runs.db")
    seen, traced = [], []
    manager = CodeAgent(model=manager_model, tools=[add], managed_agents=[helper], listeners=[seen.append], store=store)
    tracing.hooks.append(traced.append)
    try:
        result = manager.run("Where is the Louvre?")
    finally:
        tracing.hooks.remove(traced.append)
    assert result.output == "Paris"
    own = [e for e in seen if e.run_id == result.run_id and not isinstance(e, Live)]
    stored = store.events(result.run_id)
    # the store has the run's own events, in order, and each tool call's start before it ran
    assert [type(e) for e in stored if not (isinstance(e, ToolCall) and e.phase == "started")] == [type(e) for e in own]
    assert [e.phase for e in stored if isinstance(e, ToolCall)] == ["started", "done"] * 2  # geo, then add
    # the tracer sees the manager's own events once each (the helper traces its own, here under its own run)
    assert [type(e) for e in traced if e.run_id == result.run_id] == [type(e) for e in own]
    # the listener sees the helper's run too, and what steps do as they go
    helper_runs = {e.run_id for e in seen if isinstance(e, RunStart)} - {result.run_id}
    assert len(helper_runs) == 1
    assert any(isinstance(e, Live) for e in seen)
    assert not any(isinstance(e, Live) for e in traced + stored)
    # each tool call is recorded once where the run's events are: the result, the listener, the tracer
    assert sum(isinstance(e, ToolCall) for e in result.events) == 2
    assert sum(isinstance(e, ToolCall) and e.run_id == result.run_id for e in seen) == 2


def test_store_is_an_explicit_option(tmp_path, smolnb_home):
    from smolnb.errors import UserError

    model = TestModel([py("final_answer(1)")] * 3)
    mine = RunStore(tmp_path / "mine.db")
    assert CodeAgent(model=model, store=mine).run("t").run_id in {r.run_id for r in mine.runs()}
    default = CodeAgent(model=model, store="default")
    from smolnb.persistence import default_store

    assert default.run("t").run_id in {r.run_id for r in default_store().runs()}
    assert CodeAgent(model=model, store=None).run("t").output == 1
    with pytest.raises(UserError, match=r"store= takes a RunStore.*'default'.*None.*RunStore\('runs.db'\)"):
        CodeAgent(model=model, store="runs.db")
