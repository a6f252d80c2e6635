"""A real Jupyter kernel (jupyter_client): interrupting a running %%agent cell."""

import importlib.util
import time

import pytest

from tests.conftest import required

if importlib.util.find_spec("ipykernel") is None or importlib.util.find_spec("jupyter_client") is None:
    if required("notebooks"):
        pytest.fail("a Jupyter kernel is required here (CI=true): install smolnb[notebook]", pytrace=False)
    pytest.skip("ipykernel / jupyter_client not installed", allow_module_level=True)

SETUP = """
%load_ext smolnb
from smolnb.models import TestModel, register_model
register_model("sleepy", TestModel(["```python\\nimport time\\ntime.sleep(60)\\n```"], model_id="sleepy"))
"""


@pytest.fixture
def kernel(smolnb_home):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code, timeout=30):
    """Run code; return (status, stdout text, error text)."""
    msg_id = kc.execute(code)
    out, err = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (out if content["name"] == "stdout" else err).append(content["text"])
        elif kind == "error":
            err.append(f"{content['ename']}: {content['evalue']}")
        elif kind in ("execute_result", "display_data"):
            out.append(content["data"].get("text/plain", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"]["status"], "".join(out), "".join(err)


def test_interrupt_stops_the_run_and_the_kernel_answers_at_once(kernel):
    km, kc = kernel
    status, _, err = execute(kc, SETUP)
    assert status == "ok", err
    msg_id = kc.execute("%%agent -m sleepy\nSleep for a minute.")
    time.sleep(3)  # the agent's code is sleeping now
    km.interrupt_kernel()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the interrupted cell to finish
        msg = kc.get_shell_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id:
            break
    # the agent's code sleeps for a minute: a kernel that answers within 30 s did not wait for it
    status, out, err = execute(kc, "print(_agent.status, _agent.steps[-1].error_kind)", timeout=30)
    assert status == "ok", err
    assert out.strip() == "interrupted interrupted"


def test_resume_after_a_kernel_restart_brings_variables_back(kernel):
    km, kc = kernel
    setup = (
        "%load_ext smolnb\n"
        "from smolnb.models import TestModel, register_model\n"
        "register_model('scripted', TestModel(['```python\\nsecret = 6 * 7\\nfactors = [6, 7]\\n```', 'no code']))\n"
    )
    status, _, err = execute(kc, setup)
    assert status == "ok", err
    status, out, err = execute(kc, "%%agent -m scripted --max-steps 1\nCompute the secret.", timeout=60)
    assert status == "ok", err
    status, out, err = execute(kc, "print(_agent.run_id, _agent.status)")
    run_id, run_status = out.split()
    assert run_status == "max_steps"

    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=60)
    resume_setup = (
        "%load_ext smolnb\n"
        "from smolnb.models import TestModel, register_model\n"
        "register_model('scripted', TestModel(['```python\\nfinal_answer(secret + sum(factors))\\n```']))\n"
        "print('secret' in globals())\n"
    )
    status, out, err = execute(kc, resume_setup)
    assert status == "ok" and out.strip() == "False", (out, err)  # the restart really emptied the kernel
    status, out, err = execute(kc, f"%agent resume {run_id}", timeout=60)
    assert status == "ok", err
    status, out, err = execute(kc, "print(_agent.run_id, _agent.status, _agent.output, secret)")
    assert out.split() == [run_id, "success", "55", "42"]


def test_sandbox_cell_reads_df_and_its_new_variable_stays(kernel):
    """`%%agent --sandbox` in a real kernel: the code runs in the confined process, reads the
    notebook's DataFrame, and what it creates comes back into the notebook."""
    from smolnb.executor.sandbox import sandbox_layers

    missing = {k: v for k, v in sandbox_layers().items() if v != "on"}
    if missing:
        if required("sandbox"):
            pytest.fail(f"the sandbox is required here (CI=true): {missing}", pytrace=False)
        pytest.skip(f"sandbox layers missing: {missing}")
    km, kc = kernel
    steps = [
        "```python\nimport os\n```",
        "```python\nbiggest = df.loc[df['population_k'].idxmax(), 'city']\npid = 0\nprint(biggest)\n```",
        "```python\nfinal_answer(biggest)\n```",
    ]
    setup = (
        "%load_ext smolnb\n"
        "import os, pandas as pd\n"
        "from smolnb.models import TestModel, register_model\n"
        f"register_model('boxed', TestModel([{', '.join(repr(s) for s in steps)}]))\n"
        "df = pd.DataFrame({'city': ['Oslo', 'Lima', 'Pune'], 'population_k': [709, 10092, 7764]})\n"
    )
    status, _, err = execute(kc, setup)
    assert status == "ok", err
    status, out, err = execute(
        kc, "%%agent -m boxed --sandbox --imports pandas --no-memory -o answer\nWhich city is biggest?", timeout=120
    )
    assert status == "ok", err
    status, out, err = execute(
        kc,
        "print(answer, biggest, _agent.status, os.getpid() != 0, 'refused' in _agent.steps[0].observation or 'not allowed' in _agent.steps[0].observation)",
    )
    assert status == "ok", err
    assert out.split() == ["Lima", "Lima", "success", "True", "True"], out


def test_stop_on_the_live_trace_ends_a_background_run_only(kernel):
    """The Stop button of a background run's trace (its widget's 'stop' message) ends that run
    as interrupted; the kernel and the other background run go on."""
    km, kc = kernel
    status, _, err = execute(
        kc,
        SETUP
        + 'register_model("sleepy2", TestModel(["```python\\nimport time\\ntime.sleep(4)\\nfinal_answer(7)\\n```"], model_id="sleepy2"))',
    )
    assert status == "ok", err
    opened = []
    for cell in ("%%agent -b -m sleepy\nSleep for a minute.", "%%agent -b -m sleepy2 -o other\nSleep a little."):
        msg_id = kc.execute(cell)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["msg_type"] == "comm_open" and "kernel_id" in msg["content"]["data"].get("state", {}):
                opened.append(msg["content"]["comm_id"])
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
    assert len(opened) == 2
    time.sleep(2)  # both runs' code is sleeping now
    kc.shell_channel.send(
        kc.session.msg("comm_msg", {"comm_id": opened[0], "data": {"method": "custom", "content": {"event": "stop"}}})
    )
    status_of = "from smolnb.persistence import default_store\nprint({r.task: r.status for r in default_store().runs()})"
    deadline = time.monotonic() + 20
    out = ""
    while time.monotonic() < deadline:
        status, out, err = execute(kc, status_of, timeout=10)
        if "'Sleep for a minute.': 'interrupted'" in out and "'Sleep a little.': 'success'" in out:
            break
        time.sleep(0.5)
    assert "'Sleep for a minute.': 'interrupted'" in out and "'Sleep a little.': 'success'" in out, (out, err)
    status, out, err = execute(kc, "print(other)", timeout=10)
    assert out.strip() == "7", (out, err)  # the other run finished on its own
