"""A real JupyterLab in headless Chromium: a %%agent cell shows its steps, code and answer.

JupyterLab is started on 127.0.0.1 by the test and stopped by it; Debian's Chromium is driven
by Playwright (never a browser Playwright downloads). The screenshot it takes is the README's.
"""

import contextlib
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from smolnb._net import free_port
from tests.conftest import required, serving

CHROMIUM = os.environ.get("SMOLNB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
missing = [m for m in ("playwright", "jupyterlab", "ipywidgets", "llama_cpp") if importlib.util.find_spec(m) is None]
if missing or not Path(CHROMIUM).exists():
    if required("browser"):
        pytest.fail(
            f"the browser test must run here (CI=true) but {', '.join(missing) or CHROMIUM} is missing: "
            "run `make install` and `apt-get install -y chromium`",
            pytrace=False,
        )
    pytest.skip(f"browser test needs {', '.join(missing) or CHROMIUM}", allow_module_level=True)

# Budgets for what each test does: JupyterLab, a kernel and the local model, on two cores that may be busy.
pytestmark = [pytest.mark.local_model, pytest.mark.timeout(900)]


def notebook(*sources: str) -> dict:
    """A notebook of code cells, one per source."""
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src} for src in sources]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"cells": cells, "metadata": kernel, "nbformat": 4, "nbformat_minor": 5}


NOTEBOOK = notebook(
    "%load_ext smolnb",
    "%%agent --max-steps 4\nHow many prime numbers are there below 1000?",
)


@pytest.fixture
def lab(tmp_path, smolnb_home):
    root = tmp_path / "lab"
    root.mkdir()
    (root / "widget.ipynb").write_text(json.dumps(NOTEBOOK))
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
    }
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.port_retries=0",
        "--allow-root",
        "--LabApp.extension_manager=readonly",
    ]
    with serving(command, f"{base}/api/status", tmp_path / "lab.log", env=env, what="JupyterLab", timeout=90):
        yield base


@contextlib.contextmanager
def notebook_page(lab, name):
    """Debian's Chromium on `name` in the lab, once its kernel is idle, with every cell started
    (not awaited: the test watches the cells run)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{lab}/lab/tree/{name}")
            page.wait_for_function(
                "window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                "window.jupyterapp.shell.currentWidget.sessionContext && "
                "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                timeout=90_000,
            )
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            yield page
        finally:
            browser.close()


def test_agent_cell_renders_steps_code_and_answer(lab, tmp_path):
    with notebook_page(lab, "widget.ipynb") as page:
        # live: the model's text streams into the running step before the step ends
        page.wait_for_selector(".snb-live-text", timeout=120_000)
        assert page.locator(".snb-status.snb-running").count() == 1
        page.wait_for_selector(".snb .snb-answer", timeout=600_000)
        trace = page.locator(".snb").first
        steps = trace.locator("details.snb-step")
        assert steps.count() >= 1
        code = trace.locator("pre.snb-code").first.text_content()
        assert "final_answer" in code or "print" in code
        status = trace.locator(".snb-status").first.inner_text()
        assert "success" in status or "max steps" in status
        answer = trace.locator(".snb-answer").first.inner_text()
        assert answer.startswith("Answer:")
        noise = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert noise.count() == 0, noise.all_inner_texts()  # nothing printed into the cell but the trace
        no_news = page.get_by_role("button", name="No")
        if no_news.count():
            no_news.first.click()  # JupyterLab's "notify me about news?" toast
            page.wait_for_timeout(1500)
        page.locator(".snb").first.scroll_into_view_if_needed()
        shot = tmp_path / "widget.png"
        page.screenshot(path=str(shot), full_page=False)
        target = os.environ.get("SMOLNB_SCREENSHOT")
        if target:
            shutil.copy(shot, target)


LIVE_NOTEBOOK = notebook(
    "%load_ext smolnb",
    "from smolnb.models import TestModel, register_model\n"
    "register_model('slow', TestModel([\n"
    "    'Thought: set up.\\n```python\\nx = 41\\n```',\n"
    "    'Thought: count slowly.\\n```python\\nimport time\\nfor i in range(100):\\n    print(\"tick\", i)\\n    time.sleep(0.25)\\n```',\n"
    "], model_id='slow'))",
    "%%agent -m slow --max-steps 3\nCount slowly.",
    "print('kernel alive', _agent.status, x)",
)


def test_live_trace_clock_output_copy_and_stop(lab, tmp_path):
    """While a step runs: its code is shown, its output streams, the clock advances; a finished
    step's code goes into a new cell; Stop ends the run and the next cell runs."""
    root = tmp_path / "lab"  # the lab fixture's root folder
    (root / "live.ipynb").write_text(json.dumps(LIVE_NOTEBOOK))
    with notebook_page(lab, "live.ipynb") as page:
        running = page.locator(".snb-running-code")
        running.wait_for(timeout=60_000)
        assert "time.sleep" in running.inner_text()  # the code, while it runs
        page.wait_for_function(
            "[...document.querySelectorAll('.snb-stdout')].some(e => e.textContent.includes('tick 3'))", timeout=30_000
        )
        assert page.locator(".snb-status.snb-running").count() == 1  # printed output arrived before the step ended
        clock = page.locator(".snb-step .snb-clock").last
        first = float(clock.inner_text().split()[0])
        page.wait_for_timeout(1500)
        later = float(clock.inner_text().split()[0])
        assert later >= first + 1.0, (first, later)  # the clock advances during the step
        page.screenshot(path=str(tmp_path / "live-running.png"))

        copy = page.locator("button.snb-copy").first
        page.evaluate("window.__app = window.jupyterapp; delete window.jupyterapp")  # as in a default JupyterLab
        copy.click()
        page.wait_for_function(
            "window.__app.shell.currentWidget.content.model.sharedModel.cells.some(c => c.getSource() === 'x = 41')",
            timeout=10_000,
        )
        page.evaluate("window.jupyterapp = window.__app")

        page.locator("button.snb-stop").click()
        page.wait_for_function(
            "[...document.querySelectorAll('.jp-OutputArea-output')].some(e => e.textContent.includes('kernel alive interrupted 41'))",
            timeout=60_000,
        )
        assert page.locator(".snb .snb-status.snb-interrupted").count() >= 1
        page.screenshot(path=str(tmp_path / "live-stopped.png"))
        target = os.environ.get("SMOLNB_SCREENSHOT_DIR")
        if target:
            for name in ("live-running.png", "live-stopped.png"):
                shutil.copy(tmp_path / name, Path(target) / name)


APPROVE_NOTEBOOK = notebook(
    "%load_ext smolnb\n"
    "from smolnb.models import TestModel, register_model\n"
    "register_model('asks', TestModel(['```python\\nz = 1\\n```', '```python\\nfinal_answer(z)\\n```'], model_id='asks'))",
    "%%agent -m asks --approve\nSet z.",
)


def test_approve_edit_run_is_recorded(lab, tmp_path):
    """--approve: the code waits under the cell; the user edits it; the edit runs and the trace says so."""
    (tmp_path / "lab" / "approve.ipynb").write_text(json.dumps(APPROVE_NOTEBOOK))
    with notebook_page(lab, "approve.ipynb") as page:
        page.locator(".snb-awaiting").wait_for(timeout=60_000)  # the code waits, shown in the trace
        for answer in ("e", "z = 7"):
            box = page.locator(".jp-Stdin-input").last
            box.wait_for(timeout=30_000)
            box.fill(answer)
            box.press("Enter")
            page.wait_for_timeout(500)
        page.locator(".jp-Stdin-input").last.wait_for(timeout=30_000)  # step 2 asks too
        page.screenshot(path=str(tmp_path / "approve.png"))
        page.locator(".jp-Stdin-input").last.press("Enter")
        page.wait_for_selector(".snb .snb-answer", timeout=60_000)
        trace = page.locator(".snb").first.inner_text()
        assert "you edited it" in trace and "Answer: 7" in trace
        target = os.environ.get("SMOLNB_SCREENSHOT_DIR")
        if target:
            shutil.copy(tmp_path / "approve.png", Path(target) / "approve.png")


FINISHED_NOTEBOOK = notebook(
    "%load_ext smolnb\n"
    "from smolnb.models import TestModel, register_model\n"
    "register_model('quick', TestModel(['```python\\nx = 2\\n```', '```python\\nfinal_answer(x * 21)\\n```',"
    " '```python\\nfinal_answer(x * 50)\\n```'], model_id='quick'))",
    "%%agent -m quick\nMake x.",
)


def test_finished_trace_copies_and_forks(lab, tmp_path):
    """After the run ends (the output is static HTML), a step's buttons still act: copy puts its
    code in a new cell, fork puts `%agent fork RUN STEP` there, and running it forks the run."""
    (tmp_path / "lab" / "finished.ipynb").write_text(json.dumps(FINISHED_NOTEBOOK))
    with notebook_page(lab, "finished.ipynb") as page:
        page.wait_for_function(
            "[...document.querySelectorAll('.snb-answer')].some(e => e.textContent.includes('42'))", timeout=60_000
        )
        page.wait_for_function("document.querySelectorAll('.snb-bar').length === 0", timeout=10_000)  # static now
        page.evaluate("window.__app = window.jupyterapp; delete window.jupyterapp")  # as in a default JupyterLab
        cells = "window.__app.shell.currentWidget.content.model.sharedModel.cells"
        page.locator(".snb button.snb-copy").first.click()
        page.wait_for_function(f"{cells}.some(c => c.getSource() === 'x = 2')", timeout=10_000)
        page.locator(".snb button.snb-fork").first.click()
        page.wait_for_function(f"{cells}.some(c => /^%agent fork \\S+ 1$/.test(c.getSource()))", timeout=10_000)
        index = page.evaluate(f"{cells}.findIndex(c => c.getSource().startsWith('%agent fork'))")
        assert index == 2, index  # right below the run's cell
        page.evaluate(
            f"() => {{ const nb = window.__app.shell.currentWidget.content; nb.activeCellIndex = {index};"
            " window.__app.commands.execute('notebook:run-cell'); }"
        )
        page.wait_for_function(
            "[...document.querySelectorAll('.snb-answer')].some(e => e.textContent.includes('100'))", timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "forked.png"))
