"""The sandbox executor: a kernel-confined process, tested with the policy off (`guard=False`)
so that what holds is the OS boundary alone, and with it on as a notebook would use it."""

import os
import socket
import threading

import pytest

from smolnb.errors import FinalAnswer
from smolnb.executor import Policy, make_executor
from smolnb.executor.sandbox import SandboxExecutor, SandboxUnavailable, sandbox_layers

pytestmark = pytest.mark.sandbox

SECRET = "sk-test-0123456789abcdef-sandbox"


def final(value):
    raise FinalAnswer(value)


@pytest.fixture(scope="module", autouse=True)
def _layers():
    layers = sandbox_layers()
    missing = {k: v for k, v in layers.items() if v != "on"}
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox is required in CI: {missing}")
        pytest.skip(f"sandbox layers missing here: {missing}")


@pytest.fixture
def raw(monkeypatch):
    monkeypatch.setenv("SMOLNB_TEST_API_KEY", SECRET)
    ex = SandboxExecutor(Policy(), timeout=5, guard=False)
    ex.set_functions({"final_answer": final})
    yield ex
    ex.close()


def test_every_layer_is_on(raw):
    raw.run("pass")
    assert raw.layers == {"landlock": "on", "seccomp": "on", "seccomp-worker": "on"}


def test_files_outside_the_scratch_directory_cannot_be_written(raw, tmp_path):
    marker = tmp_path / "escaped"
    result = raw.run(f"open({str(marker)!r}, 'w').write('x')")
    assert not marker.exists()
    assert "Permission denied" in result.error or "Read-only" in result.error, result.error
    home = os.path.expanduser("~/.smolnb-sandbox-escape")
    raw.run(f"open({home!r}, 'w').write('x')")
    assert not os.path.exists(home)
    # the scratch directory is writable, and private
    result = raw.run("open('notes.txt', 'w').write('kept'); print(open('notes.txt').read())")
    assert result.stdout == "kept\n", result.error
    assert os.path.exists(os.path.join(raw.scratch(), "notes.txt"))


def test_no_secret_of_the_parent_is_readable(raw):
    result = raw.run(
        "import os\n"
        "print(sorted(os.environ))\n"
        "paths = ('/proc/%d/environ' % os.getppid(), '/proc/1/environ', '/proc/self/environ')\n"
        "for path in paths + (os.path.expanduser('~/.bashrc'),):\n"
        "    try:\n"
        "        print(open(path, 'rb').read()[:4000])\n"
        "    except OSError as e:\n"
        "        print('refused', path, e.errno)\n"
    )
    assert SECRET not in result.stdout and "SMOLNB_TEST_API_KEY" not in result.stdout, result.stdout
    assert result.stdout.count("refused") >= 2, result.stdout


def test_no_connection_can_be_opened(raw):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: _accept(server, accepted), daemon=True).start()
    result = raw.run(
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
    )
    assert "connected" not in result.stdout and "refused" in result.stdout, (result.stdout, result.error)
    server.close()
    assert not accepted


def _accept(server, accepted):
    try:
        accepted.append(server.accept())
    except OSError:
        pass


def test_no_program_or_process_can_be_started(raw, tmp_path):
    marker = tmp_path / "spawned"
    result = raw.run(
        "import os, subprocess\n"
        "outcomes = []\n"
        f"for attempt in (lambda: subprocess.run(['/usr/bin/touch', {str(marker)!r}]), lambda: os.fork(),\n"
        f"                lambda: os.system('touch {marker}'), lambda: os.execv('/bin/sh', ['sh'])):\n"
        "    try:\n"
        "        outcomes.append(repr(attempt()))\n"
        "    except OSError as e:\n"
        "        outcomes.append('refused %d' % e.errno)\n"
        "print(outcomes)\n"
    )
    assert not marker.exists()
    assert result.stdout.count("refused") >= 3, (result.stdout, result.error)


def test_the_parent_cannot_be_signalled_or_traced(raw):
    result = raw.run(
        "import os, signal, ctypes\n"
        "try:\n"
        "    os.kill(os.getppid(), signal.SIGKILL)\n"
        "    print('sent')\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
        "libc = ctypes.CDLL(None)\n"
        "print('ptrace', libc.ptrace(16, os.getppid(), 0, 0))\n"  # PTRACE_ATTACH
    )
    assert "refused" in result.stdout, result.stdout
    assert "ptrace -1" in result.stdout, result.stdout
    assert os.getpid()  # the test process is alive


def test_forged_protocol_messages_are_only_data(raw, tmp_path):
    """The worker controls what it sends; the parent reads JSON and raw frames, never pickle."""
    marker = tmp_path / "parent-ran-it"
    forged = (
        "import os, json, struct, pickle\n"
        "class P:\n"
        f"    def __reduce__(self): return (os.system, ('touch {marker}',))\n"
        "payload = pickle.dumps(P())\n"
        "header = json.dumps({'op': 'result', 'stdout': 'forged', 'is_final': True,\n"
        "    'final': {'$': 'pickle', 'b': 0}, 'changed': {'__builtins__': 1, 'x': {'$': 'bytes', 'b': 0}}}).encode()\n"
        "os.write(3, struct.pack('!QI', len(header), 1) + struct.pack('!Q', len(payload)) + header + payload)\n"
        "import time; time.sleep(0.5)\n"
    )
    ns = {}
    ex = SandboxExecutor(Policy(), namespace=ns, timeout=5, guard=False)
    ex.set_functions({"final_answer": final})
    try:
        result = ex.run(forged)
        assert not marker.exists()
        assert "__builtins__" not in ns
        # the forged pickle is read as a tag the codec does not know: no value, nothing ran
        assert result.final_value is None
        assert not isinstance(ns.get("x"), bytes) or ns["x"].startswith(b"\x80")  # at most its bytes, as data
    finally:
        ex.close()
    assert not marker.exists()


def test_memory_limit_ends_the_worker_and_the_next_step_runs(tmp_path):
    ex = SandboxExecutor(Policy(), timeout=10, memory_mb=512, guard=False)
    try:
        result = ex.run("x = bytearray(2 * 1024 ** 3)")
        assert result.error_kind in ("crash", "exception"), result
        assert ex.run("print(6 * 7)").stdout == "42\n"
    finally:
        ex.close()


def test_a_hang_in_c_code_is_killed_at_the_limit():
    ex = SandboxExecutor(Policy(), timeout=0.5, grace=0.5, guard=False)
    try:
        first = ex.run("import os; print(os.getpid())").stdout
        result = ex.run("sum(range(10 ** 12))")
        assert result.error_kind == "timeout" and "killed" in result.error
        assert ex.run("import os; print(os.getpid())").stdout != first
    finally:
        ex.close()


def test_missing_layers_refuse_unless_told(monkeypatch):
    from smolnb.executor import sandbox_process

    monkeypatch.setattr(
        sandbox_process, "sandbox_layers", lambda: {"landlock": "off: no Landlock here", "seccomp": "on", "seccomp-worker": "on"}
    )
    with pytest.raises(SandboxUnavailable, match="allow_weaker=True"):
        ex = SandboxExecutor(Policy(), timeout=2)
        ex.run("pass")
    ex = SandboxExecutor(Policy(), timeout=2, allow_weaker=True)
    try:
        assert ex.run("print(1)").stdout == "1\n"
        assert ex.layers["landlock"].startswith("off")
    finally:
        ex.close()


# -- with the policy, as agents use it --------------------------------------------------------


def test_namespace_variables_cross_and_come_back():
    import numpy as np
    import pandas as pd

    ns = {"df": pd.DataFrame({"city": ["a", "b"], "pop": [3, 5]}), "arr": np.arange(6.0).reshape(2, 3), "n": 2}
    ex = make_executor("sandbox", Policy(["pandas", "numpy"]), namespace=ns, timeout=5)
    ex.set_functions({"final_answer": final, "double": lambda x: 2 * x})
    try:
        result = ex.run(
            "big = df.loc[df['pop'].idxmax(), 'city']\ntotal = float(arr.sum()) + double(n)\ndf['k'] = df['pop'] * 10"
        )
        assert result.error is None, result.error
        assert ns["big"] == "b" and ns["total"] == 19.0
        assert list(ns["df"]["k"]) == [30, 50]  # changed in place in the sandbox, back in the notebook
        result = ex.run("class Mine:\n    pass\nobj = Mine()\nfinal_answer(total)")
        assert result.is_final and result.final_value == 19.0
        assert "obj" not in ns and "stay in the sandbox" in result.stdout
        assert ex.run("print(type(obj).__name__)").stdout == "Mine\n"  # still usable there
        del ns["n"]
        assert "NameError" in ex.run("print(n)").error
    finally:
        ex.close()


def test_tools_run_in_the_parent_and_the_policy_holds_inside():
    calls = []
    ex = SandboxExecutor(Policy(), timeout=5)
    ex.set_functions({"final_answer": final, "record": lambda x: calls.append(x) or len(calls)})
    try:
        assert ex.run("print(record({'a': [1, 2]}))").stdout == "1\n"
        assert calls == [{"a": [1, 2]}]
        result = ex.run("import os")
        assert result.error_kind == "policy"
    finally:
        ex.close()


def test_a_copy_of_the_package_elsewhere_starts_workers_that_run_that_copy(tmp_path):
    """The workers import the smolnb their parent runs, not whatever the environment's install points at.

    A checkout copied elsewhere (a second clone, a CI tree) beside an editable install of the
    first: the sandbox may read only the copy, so a worker that imported the install died at start.
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import smolnb

    copy = tmp_path / "checkout"
    shutil.copytree(Path(smolnb.__file__).parent, copy / "smolnb", ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import smolnb, sys\n"
        f"assert smolnb.__file__.startswith({str(copy)!r}), smolnb.__file__\n"
        "from smolnb.executor import Policy, make_executor\n"
        "for kind in ('sandbox', 'subprocess'):\n"
        "    ex = make_executor(kind, Policy(), timeout=30)\n"
        "    r = ex.run('x = 6 * 7\\nprint(x)')\n"
        "    assert r.error is None and r.stdout == '42\\n', (kind, r.error)\n"
        "    ex.close()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=copy, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-3000:]
