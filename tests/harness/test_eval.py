"""The eval harness end to end: the CLI and the notebook API with a scripted model, resume after
an interrupt, a failing scorer, the report, plot and comparison, and the Ray backend on a local
Ray giving the same results as the local backend."""

import importlib.util
import json
from pathlib import Path

import pytest

from smolnb.cli import main
from smolnb.harness import EvalBrowser, evaluate, load_samples, load_suite, report
from smolnb.models import FunctionModel, register_model
from tests.conftest import required
from tests.helpers import py, task_message
from tests.openai_server import ScriptedOpenAIServer

DATASETS = Path(__file__).resolve().parents[2] / "datasets"


def answers_for(suite, wrong=()):
    """A scripted model that answers every task of `suite` right, except those in `wrong`."""
    by_input = {t.input: t for t in load_suite(suite)}

    def reply(messages, **info):
        task = by_input[task_message(messages).split("Task: ", 1)[1].split("\n\n")[0]]
        value = "'not this'" if task.id in wrong else repr(task.target)
        return py(f"final_answer({value})")

    return reply


@pytest.mark.parametrize("suite", ["basics", "data_wrangling", "memory_facts"])
def test_every_suite_loads_and_its_datacard_checksum_holds(suite):
    import hashlib
    import re

    tasks = load_suite(suite)
    assert len(tasks) >= 30 and len({t.id for t in tasks}) == len(tasks)
    card = (DATASETS / f"{suite}.md").read_text()
    digest = hashlib.sha256((DATASETS / f"{suite}.jsonl").read_bytes()).hexdigest()
    assert re.search(rf"`{suite}.jsonl` {digest}", card), "the datacard's checksum is stale: rebuild and update it"
    if suite == "data_wrangling":
        assert all(t.setup["variables"] for t in tasks)
    if suite == "memory_facts":
        assert all(t.setup["memory"]["notes"] and t.setup["memory"]["facts"] for t in tasks)


def test_full_eval_through_the_cli(tmp_path, capsys, smolnb_home):
    register_model("scripted-a", FunctionModel(answers_for("basics", wrong={"basics-002"}), model_id="scripted-a"))
    register_model("scripted-b", FunctionModel(answers_for("basics", wrong={"basics-003", "basics-004"}), model_id="scripted-b"))
    out = tmp_path / "eval"
    code = main(
        [
            "eval",
            "run",
            "basics",
            "-m",
            "scripted-a",
            "-m",
            "scripted-b",
            "--limit",
            "5",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "plot.png"),
            "--compare",
            "scripted-a",
            "scripted-b",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "scripted-a" in printed and "80%" in printed and "60%" in printed
    assert "only scripted-a (2): basics/basics-003, basics/basics-004" in printed
    assert "only scripted-b (1): basics/basics-002" in printed
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    samples = load_samples(out)
    assert len(samples) == 10 and all(s.run_id and s.status == "success" for s in samples)
    assert all(s.confidence in ("checked", "computed", "stated") for s in samples)  # how each answer was reached
    capsys.readouterr()
    assert main(["eval", "report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "answer reached" in printed  # accuracy by how the answer was reached
    rows = report(out).by_confidence()
    assert sum(r["n"] for r in rows) == 10 and {r["model"] for r in rows} == {"scripted-a", "scripted-b"}


def test_notebook_api_resume_after_interrupt_redoes_nothing(tmp_path, smolnb_home):
    calls = []
    right = answers_for("data_wrangling")

    def reply(messages, **info):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user stops the eval during the third sample
        return right(messages)

    register_model("scripted-resume", FunctionModel(reply, model_id="scripted-resume"))
    out = tmp_path / "eval"
    with pytest.raises(KeyboardInterrupt):
        evaluate("data_wrangling", ["scripted-resume"], out=out, limit=6, concurrency=1, progress=False)
    finished = len(load_samples(out))
    assert finished >= 2  # the finished ones are kept; the interrupted one is not
    calls_before = len(calls)
    with (out / "samples.jsonl").open("a") as f:
        f.write('{"suite": "data_wrangling", "task_id": "wrang')  # a torn line, as a killed process leaves
    samples = evaluate("data_wrangling", ["scripted-resume"], out=out, limit=6, concurrency=1, progress=False)
    assert len(samples) == 6 and all(s.correct for s in samples)
    assert len(calls) - calls_before == 6 - finished  # only the unfinished samples ran again, one call each
    again = evaluate("data_wrangling", ["scripted-resume"], out=out, limit=6, concurrency=1, progress=False)
    assert len(again) == 6 and len(calls) - calls_before == 6 - finished  # all done: nothing runs

    result = report(out)
    [row] = result.rows
    assert row["n"] == 6 and row["success"] == 1.0 and row["ci_low"] > 0.5 and row["ci_high"] == pytest.approx(1.0)
    assert "data_wrangling" in result._repr_mimebundle_()["text/html"]
    fig = result.plot()
    assert fig.axes[0].get_ylabel() == "success (95% CI)"


def test_variables_and_memory_setups_reach_the_agent(tmp_path, smolnb_home, monkeypatch):
    monkeypatch.setenv("SMOLNB_EVAL_EMBEDDER", "hash")
    seen = []

    def reply(messages, **info):
        seen.append(task_message(messages))
        if "sales" in task_message(messages):
            return py("final_answer(len(sales))")
        return py("final_answer(search_memory('budget')[0])")

    register_model("scripted-setup", FunctionModel(reply, model_id="scripted-setup"))
    evaluate(["data_wrangling", "memory_facts"], ["scripted-setup"], out=tmp_path / "e", limit=1, progress=False)
    samples = {s.suite: s for s in load_samples(tmp_path / "e")}
    assert samples["data_wrangling"].output == 24  # the table was set up as a variable
    assert "Relevant memories:" in seen[1] and "budget of project" in str(samples["memory_facts"].output)


def test_a_failing_scorer_is_recorded_and_the_eval_goes_on(tmp_path, smolnb_home):
    suite = tmp_path / "broken.jsonl"
    rows = [
        {"id": "t1", "input": "Say 1.", "target": 1, "scorer": "check", "metadata": {"check": "output / 0 > 1"}},
        {"id": "t2", "input": "Say 2.", "target": 2, "scorer": "numeric"},
    ]
    suite.write_text("".join(json.dumps(r) + "\n" for r in rows))
    register_model(
        "scripted-one",
        FunctionModel(
            lambda m, **i: py("final_answer(int(" + repr(task_message(m).split("Say ")[1][0]) + "))"), model_id="scripted-one"
        ),
    )
    samples = {s.task_id: s for s in evaluate(suite, ["scripted-one"], out=tmp_path / "e", progress=False)}
    assert (
        samples["t1"].error_kind == "scorer" and "ZeroDivisionError" in samples["t1"].scorer_error and not samples["t1"].correct
    )
    assert samples["t2"].correct
    assert report(tmp_path / "e").rows[0]["errors"] == {"scorer": 1}


def test_model_graded_scorer(smolnb_home):
    from smolnb.harness import score

    register_model("judge-yes", FunctionModel(lambda m, **i: "YES", model_id="judge-yes"))
    register_model("judge-odd", FunctionModel(lambda m, **i: "perhaps", model_id="judge-odd"))
    assert score("judge", "Paris, France", "Paris", question="Capital of France?", judge_model="judge-yes").correct
    verdict = score("judge", "Lyon", "Paris", question="Capital of France?", judge_model="judge-odd")
    assert not verdict.correct and "not YES or NO" in verdict.error


def test_eval_browser_lists_failures_and_opens_a_trace(tmp_path, smolnb_home):
    pytest.importorskip("ipywidgets")
    register_model("scripted-browse", FunctionModel(answers_for("basics", wrong={"basics-001"}), model_id="scripted-browse"))
    evaluate("basics", ["scripted-browse"], out=tmp_path / "e", limit=3, progress=False)
    browser = EvalBrowser(tmp_path / "e")
    assert len(browser.pick.options) == 1 and "FAIL" in browser.pick.options[0][0]
    browser.pick.value = browser.pick.options[0][1]
    assert "not this" in browser.trace.value and "final_answer" in browser.trace.value  # the sample's trace


def test_ray_backend_gives_the_same_results_as_local(tmp_path, smolnb_home, monkeypatch):
    # smolnb's own OpenAI-compatible client (SCRIPTED_BASE_URL, as a user configures a service):
    # a Ray worker that imported litellm spent seconds on it
    model = "openai-api/scripted/m"
    if not importlib.util.find_spec("ray"):
        if required("ray"):
            pytest.fail("Ray is required here (CI=true): install smolnb[ray]", pytrace=False)
        pytest.skip("smolnb[ray] is not installed")
    by_input = {t.input: t for t in load_suite("basics")}

    def responder(body):
        task = by_input[task_message(body["messages"]).split("Task: ", 1)[1].split("\n\n")[0]]
        return py(f"final_answer({'0' if task.id == 'basics-002' else repr(task.target)})")

    with ScriptedOpenAIServer() as server:
        server.responder = responder
        monkeypatch.setenv("SCRIPTED_BASE_URL", server.base_url)
        monkeypatch.setenv("SCRIPTED_API_KEY", "sk-test")
        local = evaluate("basics", [model], out=tmp_path / "local", limit=4, progress=False)
        on_ray = evaluate(
            "basics",
            [model],
            out=tmp_path / "ray",
            limit=4,
            backend="ray",
            concurrency=2,
            progress=False,
        )
    verdicts = lambda samples: sorted((s.task_id, s.correct, repr(s.output)) for s in samples)  # noqa: E731
    assert verdicts(local) == verdicts(on_ray) and sum(s.correct for s in on_ray) == 3
    assert {s.run_id for s in on_ray} <= {
        row.run_id
        for row in __import__("smolnb.persistence", fromlist=["RunStore"]).RunStore(tmp_path / "ray" / "runs.db").runs(limit=50)
    }


def test_an_eval_definition_runs_from_yaml(tmp_path, capsys, smolnb_home):
    register_model("scripted-yaml", FunctionModel(answers_for("memory_facts"), model_id="scripted-yaml"))
    config = tmp_path / "mine.yaml"
    config.write_text(
        f"suites: [memory_facts]\nmodels: [scripted-yaml]\nlimit: 3\nepochs: 2\nout: {tmp_path / 'out'}\n"
        "agent: {max_observation_chars: 2000}\n"
    )
    assert main(["eval", "run", str(config)]) == 0
    samples = load_samples(tmp_path / "out")
    assert len(samples) == 6 and {s.epoch for s in samples} == {0, 1} and all(s.correct for s in samples)
    assert "memory_facts" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("suites: [basics]\nmodel: [x]\n")
    assert main(["eval", "run", str(bad)]) == 2
    assert "unknown key(s) ['model']" in capsys.readouterr().err


def test_local_eval_definition_is_valid():
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "evals" / "local.yaml").read_text())
    from smolnb.harness.evaluate import CONFIG_KEYS
    from smolnb.models.local import list_local_models

    assert set(config) <= CONFIG_KEYS
    known = {row["model"] for row in list_local_models()}
    assert set(config["models"]) <= known
    for suite in config["suites"]:
        assert load_suite(suite)


def test_an_answer_json_cannot_hold_is_kept_as_its_repr(tmp_path, smolnb_home):
    register_model("scripted-keys", FunctionModel(lambda m, **i: py("final_answer({'a': 1}.keys())"), model_id="scripted-keys"))
    [sample] = evaluate("basics", ["scripted-keys"], out=tmp_path / "e", limit=1, progress=False)
    assert sample.output == "dict_keys(['a'])" and not sample.correct


KILLED_EVAL = """
import sys, time
sys.path.insert(0, sys.argv[2])
from smolnb.harness import evaluate
from smolnb.models import FunctionModel, register_model
from tests.harness.test_eval import answers_for

right = answers_for("basics")
def slow(messages, **info):
    time.sleep(0.15)
    return right(messages)

register_model("scripted-killed", FunctionModel(slow, model_id="scripted-killed"))
evaluate("basics", ["scripted-killed"], out=sys.argv[1], limit=12, concurrency=2, progress=False)
"""


def test_a_killed_eval_keeps_every_written_sample_and_resumes(tmp_path, smolnb_home):
    """SIGKILL mid-eval: every line written before the kill is whole and kept (the fsync thread
    only adds durability against power loss); the rerun does only what was left."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    out = tmp_path / "eval"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_EVAL, str(out), str(root)], env={**os.environ, "PYTHONPATH": str(root)})
    samples_file = out / "samples.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if samples_file.exists() and samples_file.read_text().count("\n") >= 4:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = load_samples(out)
    assert 4 <= len(kept) < 12 and all(s.correct for s in kept)

    calls = []
    right = answers_for("basics")
    register_model("scripted-killed", FunctionModel(lambda m, **i: calls.append(1) or right(m), model_id="scripted-killed"))
    samples = evaluate("basics", ["scripted-killed"], out=out, limit=12, concurrency=2, progress=False)
    assert len(samples) == 12 and all(s.correct for s in samples)
    assert len(calls) == 12 - len(kept)  # nothing written before the kill ran again
    assert not [t for t in threading.enumerate() if t.name == "smolnb-eval-fsync"]  # the writer closed


def test_an_eval_retries_by_the_error_s_type_not_its_words(tmp_path):
    """A transient failure is retried whatever it says; a permanent one is not, even if it says "timeout"."""
    from smolnb.errors import ModelError, TransientModelError
    from smolnb.harness import Task, run_sample
    from smolnb.models import TestModel, register_model

    task = Task(id="one", input="Answer 1.", target=1, scorer="numeric")
    flaky = TestModel(
        [TransientModelError("the server went away")], model_id="flaky", default="Thought: ok.\n```python\nfinal_answer(1)\n```"
    )
    register_model("flaky", flaky)
    sample = run_sample(task, "tiny", "flaky", 0, runs_db=str(tmp_path / "a.db"), max_steps=2)
    assert sample.attempts == 2 and sample.status == "success"
    broken = TestModel([ModelError("400: the 'timeout' parameter is not supported")], model_id="broken")
    register_model("broken", broken)
    sample = run_sample(task, "tiny", "broken", 0, runs_db=str(tmp_path / "b.db"), max_steps=2)
    assert sample.attempts == 1 and sample.status == "error" and sample.error_kind == "model"


def test_the_judge_is_async_and_waits_its_turn_in_the_scheduler(smolnb_home):
    """A judge's call is a model call like the agent's: it takes a scheduler slot (limits, priority, counts)."""
    import asyncio

    from smolnb.harness.scorers import ajudge
    from smolnb.scheduling import scheduler

    calls = []

    def judge_reply(messages, **info):
        calls.append(messages)
        return "YES"

    register_model("judge-slow", FunctionModel(judge_reply, model_id="judge-slow"))
    scheduler.configure("judge-slow", concurrency=1)

    async def main():
        return await asyncio.gather(*(ajudge(f"{i}", f"{i}", question="Same?", judge_model="judge-slow") for i in range(3)))

    verdicts = asyncio.run(main())
    assert all(v.correct for v in verdicts) and len(calls) == 3
    [row] = [r for r in scheduler.stats() if r["model"] == "judge-slow"]
    assert row["started"] == 3
