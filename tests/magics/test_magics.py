"""The magics in a real IPython InteractiveShell."""

import re

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell

from smolnb.models import TestModel, register_model
from tests.helpers import py, run_messages, task_message


@pytest.fixture
def ip():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "smolnb")
    yield shell
    shell.user_ns.pop("_agent", None)


@pytest.fixture
def model():
    m = TestModel(model_id="scripted")
    register_model("scripted", m)
    return m


def run_cell(ip, line, cell):
    result = ip.run_cell(f"%%agent {line}\n{cell}")
    return result


def test_load_ext_is_cheap_and_registers_magics(ip):
    assert "agent" in ip.magics_manager.magics["cell"]
    assert "agent" in ip.magics_manager.magics["line"]


def test_agent_code_uses_and_leaves_notebook_variables(ip, model, capsys):
    ip.run_cell("prices = [3, 4, 5]")
    model.enqueue(py("total = sum(prices)\nprint(total)"), py("final_answer(total * 2)"))
    result = run_cell(ip, "-m scripted -o answer", "Double the total of prices.")
    assert result.success, result.error_in_exec
    assert ip.user_ns["answer"] == 24
    assert ip.user_ns["total"] == 12  # variables the agent made stay in the notebook
    assert ip.user_ns["_agent"].status == "success"
    prompt = task_message(model.calls[0]["messages"])
    assert "prices: list len=3 = [3, 4, 5]" in prompt  # the model is told what exists
    out = capsys.readouterr().out
    assert "total = sum(prices)" in out and "answer: 24" in out  # text trace in a terminal


def test_max_steps_name_and_tools_options(ip, model):
    ip.run_cell(
        "from smolnb import tool\n"
        "@tool\n"
        "def shout(text: str) -> str:\n"
        "    '''Upper-case a text.\n\n    Args:\n        text: The text.\n    '''\n"
        "    return text.upper()\n"
    )
    model.enqueue(py("print(shout('hi'))"), "no code", "still none")
    run_cell(ip, "-m scripted --max-steps 1 --tools shout --name helper", "Shout hi.")
    result = ip.user_ns["_agent"]
    assert result.status == "max_steps"
    assert result.steps[0].stdout == "HI\n"
    assert "shout(text: string) -> string" in model.calls[0]["messages"][0]["content"]


def test_no_memory_flag_is_accepted(ip, model):
    model.enqueue(py("final_answer('ok')"))
    assert run_cell(ip, "-m scripted --no-memory", "t").success


def test_unknown_option_is_a_usage_error_not_a_traceback(ip, capsys):
    result = run_cell(ip, "--bogus 3", "t")
    assert not result.success
    err = capsys.readouterr().err
    assert "UsageError" in err and "unrecognized arguments: --bogus 3" in err
    assert "Traceback" not in err


def test_unknown_model_is_a_clear_error(ip, capsys):
    result = run_cell(ip, "-m gpt4", "t")
    assert not result.success
    err = capsys.readouterr().err
    assert "unknown model 'gpt4'" in err and "Traceback" not in err


def test_empty_cell(ip, capsys):
    assert not run_cell(ip, "", "   ").success
    assert "the cell is empty" in capsys.readouterr().err


def test_line_commands(ip, model, capsys):
    model.enqueue(py("final_answer(7)"))
    run_cell(ip, "-m scripted", "Seven.")
    run_id = ip.user_ns["_agent"].run_id
    capsys.readouterr()

    runs = ip.run_line_magic("agent", "runs")
    assert run_id in runs._repr_mimebundle_()["text/plain"]
    shown = ip.run_line_magic("agent", f"show {run_id}")
    text = shown._repr_mimebundle_()["text/plain"]
    assert "final_answer(7)" in text and "answer: 7" in text
    assert "final_answer(7)" in shown._repr_mimebundle_()["text/html"]
    models = ip.run_line_magic("agent", "models")._repr_mimebundle_()["text/plain"]
    assert "local/qwen2.5-coder-0.5b" in models
    tools = ip.run_line_magic("agent", "tools")._repr_mimebundle_()["text/plain"]
    assert "tool" in tools
    config = ip.run_line_magic("agent", "config max_steps=3 model=scripted")._repr_mimebundle_()["text/plain"]
    assert re.search(r"max_steps +3\b", config) and re.search(r"model +scripted", config)
    ip.run_line_magic("agent", "help")
    assert "%%agent [-m MODEL]" in capsys.readouterr().out
    ip.run_line_magic("agent", "config max_steps=10 model=")


def test_resume_continues_a_stopped_run(ip, model):
    model.enqueue(py("step_one = 1"), "no code at all")
    run_cell(ip, "-m scripted --max-steps 1", "Count.")
    first = ip.user_ns["_agent"]
    assert first.status == "max_steps"
    model.enqueue(py("final_answer(step_one + 1)"))
    ip.run_line_magic("agent", f"resume {first.run_id}")
    resumed = ip.user_ns["_agent"]
    assert resumed.run_id == first.run_id and resumed.status == "success" and resumed.output == 2
    # the completed step was read back, not asked of the model again
    assert "step_one = 1" in run_messages(model.calls[-1]["messages"])[1]["content"]


def test_resume_and_fork_run_under_the_session_settings(ip, model, capsys):
    """`%agent resume` and `%agent fork` build their agent as `%%agent` does: the configured imports and tools hold."""
    ip.run_cell(
        "from smolnb import tool\n"
        "@tool\n"
        "def twice(n: float) -> float:\n"
        "    '''Double a number.\n\n    Args:\n        n: The number.\n    '''\n"
        "    return 2 * n\n"
    )
    ip.run_line_magic("agent", "config imports=difflib")
    try:
        model.enqueue(py("import difflib\nstep_one = 1"), "no code at all")
        run_cell(ip, "-m scripted --max-steps 1 --tools twice", "Compare.")
        first = ip.user_ns["_agent"]
        assert first.status == "max_steps", first.error
        model.enqueue(py("import difflib\nfinal_answer(twice(difflib.SequenceMatcher(None, 'a', 'a').ratio()))"))
        ip.run_line_magic("agent", f"resume {first.run_id}")
        resumed = ip.user_ns["_agent"]
        assert (resumed.status, resumed.output) == ("success", 2.0), resumed.error
        model.enqueue(py("import difflib\nfinal_answer(twice(3))"))
        ip.run_line_magic("agent", f"fork {first.run_id} 1")
        forked = ip.user_ns["_agent"]
        assert (forked.status, forked.output) == ("success", 6), forked.error
        del ip.user_ns["twice"]
        capsys.readouterr()
        ip.run_cell(f"%agent fork {first.run_id} 1")
        err = capsys.readouterr().err
        assert f"%agent fork {first.run_id}: no tool named 'twice'" in err and "define an @tool function" in err
    finally:
        ip.run_line_magic("agent", "config imports=")


def test_line_command_errors(ip, capsys):
    for line in ("show nope-not-a-run", "frobnicate", "config colour=red", "resume"):
        ip.run_cell(f"%agent {line}")
    err = capsys.readouterr().err
    assert "no run 'nope-not-a-run'" in err
    assert "unknown command 'frobnicate'" in err
    assert "KEY one of model, max_steps, memory, approve, executor, imports" in err
    assert "needs a run id" in err
    assert "Traceback" not in err


def test_traitlets_config(ip):
    from smolnb.magics.agent_magics import AgentMagics

    assert AgentMagics.class_traits()["max_steps"].metadata.get("config") is True


def test_run_browser_opens_the_chosen_trace(ip, model):
    pytest.importorskip("ipywidgets")
    from smolnb.persistence import default_store
    from smolnb.widgets import RunBrowser

    model.enqueue(py("final_answer('browsed')"))
    run_cell(ip, "-m scripted", "Browse me.")
    run_id = ip.user_ns["_agent"].run_id
    browser = RunBrowser(default_store())
    assert run_id in browser.table.value and "Browse me." in browser.table.value
    assert browser.trace.value == ""
    browser.select(run_id)
    assert "final_answer(&#x27;browsed&#x27;)" in browser.trace.value or "browsed" in browser.trace.value
    assert "snb-answer" in browser.trace.value


def test_tools_add_and_remove(ip, model, tmp_path):
    (tmp_path / "nbtools.py").write_text(
        "from smolnb import tool\n"
        "@tool(version='1.0.0')\n"
        "def double(x: int) -> int:\n"
        "    '''Double a number.\n\n    Args:\n        x: The number.\n    '''\n"
        "    return 2 * x\n"
    )
    table = ip.run_line_magic("agent", f"tools add {tmp_path / 'nbtools.py'}")
    assert "double" in table._repr_mimebundle_()["text/plain"]
    model.enqueue(py("final_answer(double(21))"))
    run_cell(ip, "-m scripted", "Double 21.")
    assert ip.user_ns["_agent"].output == 42
    table = ip.run_line_magic("agent", "tools remove double")
    assert "double" not in table._repr_mimebundle_()["text/plain"]


def test_background_run_keeps_the_shell_free(ip, model):
    model.latency = 0.3
    model.enqueue(py("import time\ntime.sleep(0.5)\nbg = 1"), py("final_answer('done in the background')"))
    result = run_cell(ip, "-m scripted -b -o later", "Take your time.")
    assert result.success
    assert ip.run_cell("1 + 1").result == 2  # the shell answers while the agent works
    assert "later" not in ip.user_ns
    from smolnb.magics.agent_magics import AgentMagics

    magics = ip.magics_manager.registry[AgentMagics.__name__]
    for thread in magics.background:
        thread.join(timeout=10)
    assert ip.user_ns["later"] == "done in the background" and ip.user_ns["bg"] == 1


def test_batch_cell_runs_one_task_a_line(ip, model):
    for n in (1, 2, 3):
        model.enqueue(py(f"final_answer({n})"))
    run_cell(ip, "-m scripted --batch --concurrency 1 -o answers", "first\nsecond\n\nthird")
    assert ip.user_ns["answers"] == [1, 2, 3]
    assert [r.status for r in ip.user_ns["_agent"]] == ["success"] * 3
    queue = ip.run_line_magic("agent", "queue")._repr_mimebundle_()["text/plain"]
    assert "scripted" in queue and "running" in queue


def test_a_trailing_question_mark_is_part_of_the_command(ip, capsys):
    """IPython reads `...?` as a help request; for %agent it is part of the question."""
    seen = []
    magics = ip.magics_manager.registry["AgentMagics"]
    original = magics._cmd_config
    magics._cmd_config = lambda args: seen.append(args)
    try:
        ip.run_cell("%agent config How many GPUs may Heron jobs use?")
    finally:
        magics._cmd_config = original
    assert seen == [["How", "many", "GPUs", "may", "Heron", "jobs", "use?"]]


def test_config_output_never_shows_a_password(ip):
    table = ip.run_line_magic("agent", "config graph=neo4j://neo4j:s3cretPass@localhost:7687")
    bundle = table._repr_mimebundle_()
    shown = bundle["text/plain"] + bundle["text/html"]
    assert "s3cretPass" not in shown
    assert "neo4j://neo4j:***@localhost:7687" in bundle["text/plain"]
    ip.run_line_magic("agent", "config graph=")


def test_the_run_lists_what_it_did_to_the_namespace_and_undo_restores_it(ip, model, capsys):
    ip.run_cell("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\nx = 10\nz = 'keep me'\nuntouched = [1]")
    model.enqueue(
        py("df['b'] = df['a'] * 2\nx = 11\ny = x + 1\ndel z"),
        py("final_answer(len(df.columns))"),
    )
    assert run_cell(ip, "-m scripted", "Add a column.").success
    out = capsys.readouterr().out
    assert "created: y" in out and "changed: df, x" in out and "deleted: z" in out and "%agent undo" in out
    assert list(ip.user_ns["df"].columns) == ["a", "b"]

    said = ip.run_line_magic("agent", "undo")
    assert "restored df, x, z" in said and "removed y" in said
    assert list(ip.user_ns["df"].columns) == ["a"] and ip.user_ns["x"] == 10 and ip.user_ns["z"] == "keep me"
    assert "y" not in ip.user_ns and ip.user_ns["untouched"] == [1]
    assert "nothing to undo" in ip.run_line_magic("agent", "undo")


def test_agent_code_puts_a_runs_code_in_the_next_cell_and_fork_reruns_from_a_step(ip, model, tmp_path, monkeypatch):
    monkeypatch.setenv("SMOLNB_HOME", str(tmp_path))
    model.enqueue(py("a = 20"), py("b = a + 1"), py("final_answer(b * 2)"))
    run_cell(ip, "-m scripted", "Compute.")
    run_id = ip.user_ns["_agent"].run_id

    said = ip.run_line_magic("agent", f"code {run_id} 2")
    assert ip.rl_next_input == "b = a + 1" and "step 2" in said
    ip.run_line_magic("agent", f"code {run_id}")
    assert ip.rl_next_input == "# step 1\na = 20\n\n# step 2\nb = a + 1\n\n# step 3\nfinal_answer(b * 2)"
    with pytest.raises(Exception, match="has no step 9"):
        ip.run_line_magic("agent", f"code {run_id} 9")

    model.enqueue(py("final_answer(b * 3)"))
    ip.run_line_magic("agent", f"fork {run_id} 2")
    forked = ip.user_ns["_agent"]
    assert forked.output == 63 and forked.run_id != run_id


def test_agent_trace_links_a_run_to_the_trace_viewer(ip, model, tmp_path, monkeypatch):
    from smolnb import tracing

    monkeypatch.setenv("SMOLNB_HOME", str(tmp_path))
    monkeypatch.delenv("SMOLNB_PHOENIX_URL", raising=False)
    model.enqueue(py("final_answer(1)"))
    run_cell(ip, "-m scripted", "One.")
    run_id = ip.user_ns["_agent"].run_id
    said = ip.run_line_magic("agent", f"trace {run_id}")
    assert "no trace viewer is configured" in said and "make phoenix" in said
    monkeypatch.setenv("SMOLNB_PHOENIX_URL", "http://127.0.0.1:6006/")
    link = ip.run_line_magic("agent", f"trace {run_id}")
    assert link.url == f"http://127.0.0.1:6006/redirects/traces/{tracing.trace_id(run_id)}"
    assert link._repr_mimebundle_()["text/html"].startswith("<a href='http://127.0.0.1:6006/redirects/traces/")


def test_approve_asks_under_the_cell_before_each_block(ip, model, monkeypatch):
    answers = iter(["", "e", "y = 5", "s", ""])
    prompts = []

    def fake_input(prompt=""):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    model.enqueue(py("y = 1"), py("y = 99"), py("y = y * 1000"), py("final_answer(y)"))
    assert run_cell(ip, "-m scripted --approve", "Set y.").success
    result = ip.user_ns["_agent"]
    assert [s.approval for s in result.steps] == ["approved", "edited", "skipped", "approved"]
    assert result.output == 5 and ip.user_ns["y"] == 5  # the edit ran, the skipped block did not
    assert result.steps[1].proposed_code == "y = 99" and result.steps[1].code == "y = 5"
    assert "Enter runs it" in prompts[0] and "s skips it" in prompts[0] and len(prompts) == 5


def test_stop_pressed_after_a_background_run_ended_reaches_nothing(ip, model, monkeypatch):
    """Stop interrupts the run it belongs to, never a later thread (thread ids are reused)."""
    import threading
    import time

    from smolnb.magics.agent_magics import AgentMagics

    class Live:
        widget = "live trace"
        on_stop = None

        def __call__(self, event):
            pass

    live = Live()
    monkeypatch.setattr(AgentMagics, "_live_widget", lambda self: live)
    model.enqueue(py("final_answer('quick')"))
    assert run_cell(ip, "-m scripted -b -o quick", "Be quick.").success
    magics = ip.magics_manager.registry[AgentMagics.__name__]
    for thread in magics.background:
        thread.join(timeout=10)
    assert ip.user_ns["quick"] == "quick"
    strays = []

    def later_work():
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            try:
                sum(range(1_000))
            except KeyboardInterrupt:
                strays.append(1)

    later = threading.Thread(target=later_work)
    later.start()
    time.sleep(0.1)
    live.on_stop()
    later.join()
    assert strays == []
