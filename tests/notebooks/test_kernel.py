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
    start = time.monotonic()
    status, out, err = execute(kc, "print(_agent.status, _agent.steps[-1].error_kind)", timeout=10)
    elapsed = time.monotonic() - start
    assert status == "ok", err
    assert out.strip() == "interrupted interrupted"
    assert elapsed < 2
