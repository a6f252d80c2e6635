"""Every notebook in notebooks/ runs top to bottom on the embedded defaults (nbclient, a real kernel)."""

import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import required

FOLDER = Path(__file__).resolve().parents[2] / "notebooks"
# The order a researcher would take them in; they share one SMOLNB_HOME, as on a real machine.
ORDER = ["quickstart", "memory", "tools", "evals"]
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem))
# Each notebook's own right answers, checked in its kernel after it ran: a notebook that picked
# up another's answer (from memory or the run store) fails here.
ANSWERS = {
    "quickstart": "str(biggest).strip(\"'\\\" .\") == 'Lima' and result.output == 115",
    # gpu_hours (288) is from before the restart; the run store has it. On Neo4j: the current quota only
    "memory": "int(quota) == 64 and neo4j_rows == [{'quota': '96'}]",
    "tools": "first.output == 'Hello, Ada' and second.output == 'Good morning, Ada!'",
}

ready = all(importlib.util.find_spec(m) for m in ("nbclient", "ipykernel", "llama_cpp", "pandas"))
if not ready:
    if required("notebooks"):
        pytest.fail(
            "notebooks must run here (CI=true) but nbclient, ipykernel, pandas or smolnb[local] is missing: run `make install`",
            pytrace=False,
        )
    pytest.skip("notebook dependencies are not installed", allow_module_level=True)

# A notebook runs the local model for many steps (evals: two models, four tasks): its budget, on two
# cores that may be busy, is well above the ~1-2 minutes it takes on idle ones.
pytestmark = [pytest.mark.local_model, pytest.mark.timeout(1200)]


def test_there_are_notebooks():
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOKS)


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    return tmp_path_factory.mktemp("one-home")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_error(path, tmp_path, shared_home, monkeypatch, request):
    monkeypatch.setenv("SMOLNB_HOME", str(shared_home))
    if path.stem == "memory":  # its second part runs on a real Neo4j, as a user's `make neo4j` starts it
        monkeypatch.setenv("NEO4J_URI", request.getfixturevalue("neo4j_uri"))
    import nbformat
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # a cell may take most of the test's budget (the evals cell runs two models); past it, the error names the cell
    client = NotebookClient(nb, timeout=1100, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    restarts = 0
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if "restart-kernel" in cell.metadata.get("tags", []):
                # where the notebook tells its reader to restart the kernel, the test restarts it too
                run_sync(client.km.restart_kernel)(now=True)  # nbclient's kernel manager is async
                run_sync(client.kc.wait_for_ready)(timeout=120)
                restarts += 1
            client.execute_cell(cell, index)  # raises CellExecutionError, naming the cell, on any error
        if path.stem in ANSWERS:
            check = nbformat.v4.new_code_cell(f"print({ANSWERS[path.stem]})")
            nb.cells.append(check)
            client.execute_cell(check, len(nb.cells) - 1)
            assert check.outputs and check.outputs[0].get("text", "").strip() == "True", (ANSWERS[path.stem], _answers(nb))
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if any("%%agent" in cell.source for cell in nb.cells):
        # the %%agent cell left a readable trace for frontends without widgets
        texts = [o.get("data", {}).get("text/plain", "") for o in outputs]
        assert any(re.search(r"\d+ model calls?\b", t) for t in texts)  # "1 model call" or "N model calls"
    if restarts:
        # after the restart the kernel is new: session 1's variables are gone
        tagged = next(c for c in nb.cells if "restart-kernel" in c.metadata.get("tags", []))
        assert tagged.outputs[-1]["data"]["text/plain"] == "False"
    html = _as_html(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%agent"):
            # nbconvert's HTML shows each step's code and the answer (the static trace, no widget state)
            assert "snb-code" in html and "Answer:" in html


def _as_html(nb) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def _answers(nb) -> list[str]:
    """The answers the notebook's %%agent cells printed, to show in a failure."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "") if "data" in output else output.get("text", "")
            found += [line for line in text.splitlines() if line.startswith("answer") or "Answer" in line]
    return found
