import sqlite3

import pytest

import smolnb
from smolnb import CodeAgent
from smolnb.errors import BackendError, UserError
from smolnb.events import RunEnd, RunStart, Step
from smolnb.models import TestModel
from smolnb.persistence import RunStore


def py(code):
    return f"```python\n{code}\n```"


def test_every_run_is_stored_with_its_events():
    result = CodeAgent(model=TestModel([py("x = 2"), py("final_answer(x + 1)")])).run("three")
    [record] = smolnb.runs()
    assert record.run_id == result.run_id and record.status == "success" and record.steps == 2
    assert record.output == "3"
    from smolnb.persistence import default_store

    events = default_store().events(result.run_id)
    assert isinstance(events[0], RunStart) and isinstance(events[-1], RunEnd)
    assert [e.code for e in events if isinstance(e, Step)] == ["x = 2", "final_answer(x + 1)"]


def test_managed_runs_are_stored_once_and_nested():
    helper = CodeAgent(model=TestModel([py("final_answer('inner')")]), name="helper", description="helps")
    manager = CodeAgent(model=TestModel([py("final_answer(helper('go'))")]), managed_agents=[helper])
    result = manager.run("outer")
    assert [r.run_id for r in smolnb.runs()] == [result.run_id]  # top level only
    from smolnb.persistence import default_store

    events = default_store().events(result.run_id)
    assert len({e.run_id for e in events}) == 2
    assert len(events) == len({(e.run_id, e.type, e.ts) for e in events})  # no duplicates


def test_unknown_run_id_suggests_and_resume_of_finished_run_is_refused(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    agent = CodeAgent(model=TestModel([py("final_answer(1)")]), store=store)
    result = agent.run("t")
    with pytest.raises(UserError, match="no run 'zzz'"):
        store.get("zzz")
    assert store.get(result.run_id[-6:]).run_id == result.run_id  # a unique suffix is enough
    with pytest.raises(UserError, match="already finished"):
        agent.resume_run(result.run_id)


def test_resume_after_max_steps_does_not_repeat_model_calls(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    model = TestModel([py("a = 1"), py("b = 2"), "I give up"])
    first = CodeAgent(model=model, store=store, max_steps=2).run("t")
    assert first.status == "max_steps" and len(model.calls) == 3
    model.enqueue(py("final_answer('resumed')"))
    resumed = CodeAgent.resume  # noqa: F841 - the classmethod exists as in the contract
    second = CodeAgent(model=model, store=store).resume_run(first.run_id)
    assert second.status == "success" and second.output == "resumed"
    assert len(model.calls) == 4  # one new call, none repeated
    assert "variables from earlier steps are gone" in model.calls[-1]["messages"][-1]["content"]
    assert store.get(first.run_id).status == "success"


def test_store_migrates_an_older_schema(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    from smolnb.persistence.store import MIGRATIONS

    for statement in filter(str.strip, MIGRATIONS[0][1].split(";")):
        conn.execute(statement)
    conn.execute("INSERT INTO _migrations VALUES (?, 0)", (MIGRATIONS[0][0],))
    conn.execute("INSERT INTO runs (run_id, task, agent, agent_type, model, created, updated) VALUES ('old-1', 't', 'a', 'code', 'm', 1, 1)")
    conn.commit()
    conn.close()
    store = RunStore(path)
    assert [r.run_id for r in store.runs()] == ["old-1"]
    columns = [row[1] for row in store._connect().execute("PRAGMA table_info(runs)")]
    assert "pid" in columns


def test_corrupt_store_is_a_clear_error_and_is_left_alone(tmp_path):
    path = tmp_path / "runs.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackendError, match="Move the file aside"):
        RunStore(path)
    assert path.read_bytes().startswith(b"this is not a database")
