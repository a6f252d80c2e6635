import sqlite3

import pytest

import smolnb
from smolnb import CodeAgent
from smolnb.errors import BackendError, UserError
from smolnb.events import RunEnd, RunStart, Step
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from tests.helpers import py, replies, task_message


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
    model.enqueue(py("final_answer(a + b)"))
    second = CodeAgent(model=model, store=store).resume_run(first.run_id)
    assert second.status == "success" and second.output == 3  # the variables came back
    assert len(model.calls) == 4  # one new call, none repeated
    assert "Variables restored: a, b." in model.calls[-1]["messages"][-1]["content"]
    assert store.get(first.run_id).status == "success"


def test_unpicklable_variables_are_listed_by_name_and_type(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    model = TestModel([py("n = 5\ngen = (i for i in range(3))"), "no code"])
    first = CodeAgent(model=model, store=store, max_steps=1).run("t")
    model.enqueue(py("final_answer(n)"))
    second = CodeAgent(model=model, store=store).resume_run(first.run_id)
    assert second.output == 5
    note = model.calls[-1]["messages"][-1]["content"]
    assert "gen: generator (cannot be pickled" in note


def test_classmethod_resume_uses_the_default_store():
    model = TestModel([py("k = 2"), "stop"])
    first = CodeAgent(model=model, max_steps=1).run("t")
    model.enqueue(py("final_answer(k * 21)"))
    from smolnb.models import register_model

    register_model("resume-test", model)
    assert CodeAgent.resume(first.run_id, model="resume-test").output == 42


def test_api_keys_never_reach_the_store(monkeypatch):
    from smolnb.models import LiteLLMModel
    from smolnb.persistence import default_store
    from tests.openai_server import ScriptedOpenAIServer

    secret = "sk-live-THIS-KEY-MUST-NOT-LEAK-12345"
    with ScriptedOpenAIServer() as server:
        server.replies.extend([py("x = 1"), py("final_answer(x)")])
        model = LiteLLMModel("openai/scripted", api_base=server.base_url, api_key=secret)
        CodeAgent(model=model).run("t")
        assert server.requests[0]["headers"]["authorization"].endswith(secret)  # it was used
    store = default_store()
    store._connect().execute("PRAGMA wal_checkpoint(FULL)")
    for path in store.path.parent.glob("runs.db*"):
        assert secret.encode() not in path.read_bytes(), path


def test_two_processes_write_runs_at_once(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from smolnb import CodeAgent\n"
        "from smolnb.models import TestModel\n"
        "from smolnb.persistence import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "for i in range(15):\n"
        "    CodeAgent(model=TestModel(['```python\\nx = 1\\n```', '```python\\nfinal_answer(x)\\n```']), store=store).run(f'task {i}')\n"
    )
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "runs.db")], env=env) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    runs = RunStore(tmp_path / "runs.db").runs(limit=100)
    assert len(runs) == 30 and all(r.status == "success" for r in runs)


def test_store_migrates_an_older_schema(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
    from smolnb.persistence.store import MIGRATIONS

    for statement in filter(str.strip, MIGRATIONS[0][1].split(";")):
        conn.execute(statement)
    conn.execute("INSERT INTO _migrations VALUES (?, 0)", (MIGRATIONS[0][0],))
    conn.execute(
        "INSERT INTO runs (run_id, task, agent, agent_type, model, created, updated) VALUES ('old-1', 't', 'a', 'code', 'm', 1, 1)"
    )
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


def test_fork_from_a_step_with_another_model(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    first = CodeAgent(model=TestModel([py("a = 10"), py("b = a + 1"), py("final_answer(b)")]), store=store).run("t")
    assert first.output == 11
    bigger = TestModel([py("final_answer(a * 100)")], model_id="bigger")
    fork = CodeAgent(model=bigger, store=store).fork(first.run_id, step=1, task="t, but bigger")
    assert fork.output == 1000 and fork.run_id != first.run_id
    assert "Task: t, but bigger" in task_message(bigger.calls[0]["messages"])
    assert replies(bigger.calls[0]["messages"]) == 1  # step 1 only
    assert store.get(first.run_id).output == "11"  # the original is untouched


def test_prune_and_delete(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    for i in range(5):
        CodeAgent(model=TestModel([py(f"final_answer({i})")]), store=store).run(f"t{i}")
    assert store.prune(keep=2) == 3
    assert [r.task for r in store.runs()] == ["t4", "t3"]
    store.delete(store.runs()[0].run_id)
    assert [r.task for r in store.runs()] == ["t3"]
    assert store._connect().execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0


def test_agent_config_round_trip(tmp_path):
    from smolnb.tools import tool

    helper = CodeAgent(model=TestModel(model_id="helper-model"), name="helper", description="Helps.", max_steps=3)
    agent = CodeAgent(
        model=TestModel(model_id="main-model"),
        tools=[scaled],
        managed_agents=[helper],
        authorized_imports=["csv"],
        planning_interval=2,
        max_steps=7,
    )
    path = tmp_path / "agent.json"
    agent.save(path)
    from smolnb.models import register_model

    register_model("main-model", TestModel(["## Plan\n1. scale", py("final_answer(scaled(2))")]))
    register_model("helper-model", TestModel())
    loaded = CodeAgent.load(path)
    assert loaded.max_steps == 7 and loaded.planning_interval == 2
    assert "csv" in loaded.policy.authorized
    assert loaded.tools["scaled"].version == "2.0.0"
    assert loaded.managed_agents["helper"].max_steps == 3
    assert (
        loaded.run(
            "t",
        ).output
        == 20
    )
    assert tool  # imported for the decorator below


from smolnb.tools import tool as _tool  # noqa: E402


@_tool(version="2.0.0")
def scaled(x: int) -> int:
    """Scale by ten.

    Args:
        x: The number.
    """
    return x * 10


def test_retention_keeps_the_newest_runs(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.db")
    for i in range(6):
        CodeAgent(model=TestModel([py(f"final_answer({i})")]), store=store).run(f"t{i}")
    monkeypatch.setenv("SMOLNB_KEEP_RUNS", "4")
    reopened = RunStore(tmp_path / "runs.db")
    assert [r.task for r in reopened.runs()] == ["t5", "t4", "t3", "t2"]


def test_locked_store_is_a_clear_error_and_loses_nothing(tmp_path):
    import sqlite3

    store = RunStore(tmp_path / "runs.db")
    blocker = sqlite3.connect(tmp_path / "runs.db", timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    store._connect().execute("PRAGMA busy_timeout = 100")
    from smolnb.events import RunStart

    with pytest.raises(BackendError, match="locked by another process"):
        store.listener(RunStart(run_id="locked-1", task="t", agent="a", agent_type="code", model="m"))
    blocker.rollback()
    blocker.close()
    store.flush("locked-1")  # the kept events go in once the lock is gone
    assert store.get("locked-1").task == "t"


def test_wal_checkpoints_run_on_their_own_thread(tmp_path, monkeypatch):
    """Commits never checkpoint (a checkpoint fsyncs and would stall the event loop); a thread
    copies the WAL into the database every CHECKPOINT_EVERY commits."""
    import time

    from smolnb.persistence import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 10)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    assert store._connect().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    empty = path.stat().st_size
    runs = [CodeAgent(model=TestModel([py("x = 1"), py("final_answer(x)")]), store=store).run(f"task {i}") for i in range(6)]
    deadline = time.monotonic() + 10
    while path.stat().st_size == empty and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size > empty  # the events reached the database file itself, not only the WAL
    reopened = RunStore(path)  # a new opener checkpoints what is left and reads every run
    assert {r.run_id for r in reopened.runs()} == {r.run_id for r in runs}


def test_load_takes_the_tools_given_when_the_saved_ones_cannot_be_imported(tmp_path):
    """A tool defined inside a function (or a notebook cell) has no importable reference: the
    error says 'pass tools=[...] to load()', and doing so must work."""

    @_tool
    def local_helper(x: int) -> int:
        """Add one.

        Args:
            x: a number.
        """
        return x + 1

    CodeAgent(model=TestModel(model_id="m"), tools=[local_helper], max_steps=5).save(tmp_path / "agent.json")
    with pytest.raises(Exception, match=r"pass tools=\[\.\.\.\] to load\(\)"):
        CodeAgent.load(tmp_path / "agent.json", model=TestModel())
    loaded = CodeAgent.load(tmp_path / "agent.json", model=TestModel([py("final_answer(local_helper(1))")]), tools=[local_helper])
    assert loaded.max_steps == 5 and loaded.run("t").output == 2


def _long_run(store, steps):
    from smolnb.events import ModelCall

    replies = [f"```python\nv{i} = [{i}] * 50\nprint('value', {i})\n```" for i in range(steps)]
    sent = []
    agent = CodeAgent(
        model=TestModel([*replies, "```python\nfinal_answer(v0[0])\n```"]),
        max_steps=steps + 1,
        store=store,
        listeners=[lambda e: sent.append(e.messages) if isinstance(e, ModelCall) else None],
    )
    result = agent.run("Keep values.")
    assert result.status == "success"
    return result, sent


def test_a_long_run_is_stored_in_linear_space_and_read_back_whole(tmp_path):
    """Each model call resends the run's history; the store keeps what a call adds to the last
    one (a 40-step run weighed 1.7 MB, growing with the square of its steps), and reads every
    call back whole."""
    sizes = {}
    for steps in (10, 40):
        store = RunStore(tmp_path / f"runs{steps}.db")
        result, sent = _long_run(store, steps)
        stored = [e.messages for e in store.events(result.run_id) if e.type == "model_call"]
        assert stored == sent  # every call's messages, whole and in order
        sizes[steps] = sqlite3.connect(tmp_path / f"runs{steps}.db").execute("SELECT SUM(LENGTH(data)) FROM events").fetchone()[0]
    assert sizes[40] < 4.6 * sizes[10], sizes  # 4x the steps: about 4x the bytes, not 16x


def test_resume_rebuilds_variables_from_snapshots_of_what_changed(tmp_path):
    """After the first step a snapshot holds only what changed; a resume folds them back:
    changed in place, rebound, deleted, and made unstorable all come back as they were last."""
    store = RunStore(tmp_path / "runs.db")
    model = TestModel(
        [
            py("a = [1]\nb = 2\nc = 'kept'\nd = 4"),
            py("a.append(3)\ndel b\nd = (i for i in range(2))"),
            py("c = c + '!'"),
            "no code",
        ]
    )
    first = CodeAgent(model=model, store=store, max_steps=3).run("t")
    assert first.status == "max_steps"
    snapshots = [e for e in store.events(first.run_id) if e.type == "snapshot"]
    assert [s.partial for s in snapshots] == [False, True, True]
    assert snapshots[1].removed == ["b", "d"] and snapshots[2].removed == []
    model.enqueue(py("final_answer((a, 'b' in dir(), c, 'd' in dir()))"))
    second = CodeAgent(model=model, store=store).resume_run(first.run_id)
    assert second.output == ([1, 3], False, "kept!", False)
    assert "d: generator (cannot be pickled" in model.calls[-1]["messages"][-1]["content"]
