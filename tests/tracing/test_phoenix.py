"""A real trace viewer: Arize Phoenix on 127.0.0.1, started and stopped here, reads back the
spans of an agent run with memory, a tool and a managed agent through Phoenix's own client.

Phoenix lives in its own environment (`make phoenix-env`: .venv-phoenix), beside the project's,
as a user runs it; this process only sends OTLP/HTTP to it.
"""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from smolnb import CodeAgent, Memory, tracing
from smolnb._net import free_port
from smolnb.memory import HashEmbedder
from smolnb.models import TestModel
from smolnb.tools import tool
from tests.conftest import required, serving
from tests.helpers import py

ROOT = Path(__file__).resolve().parents[2]
PHOENIX_ENV = Path(os.environ.get("SMOLNB_PHOENIX_ENV", ROOT / ".venv-phoenix"))

if not (PHOENIX_ENV / "bin" / "phoenix").exists():
    if required("phoenix"):
        pytest.fail(f"Phoenix is required here (CI=true) but {PHOENIX_ENV} has none: run `make phoenix-env`", pytrace=False)
    pytest.skip(f"Phoenix is not installed in {PHOENIX_ENV} (make phoenix-env)", allow_module_level=True)

READ_SPANS = """
import json, sys
from phoenix.client import Client
frame = Client(base_url=sys.argv[1]).spans.get_spans_dataframe(project_identifier=sys.argv[2], limit=1000)
print(frame.to_json(orient="records", default_handler=str))
"""


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(folder),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    url = f"http://127.0.0.1:{port}"
    command = [str(PHOENIX_ENV / "bin" / "phoenix"), "serve"]
    with serving(command, f"{url}/healthz", folder / "phoenix.log", env=env, what="Phoenix"):
        yield url


@tool
def lookup(city: str) -> str:
    """The country a city is in.

    Args:
        city: the city.
    """
    return {"Paris": "France"}.get(city, "unknown")


def read_spans(url: str, project: str) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        out = subprocess.run(
            [str(PHOENIX_ENV / "bin" / "python"), "-c", READ_SPANS, url, project], capture_output=True, text=True, timeout=60
        )
        if out.returncode == 0:
            spans = json.loads(out.stdout.strip().splitlines()[-1])
            if len(spans) >= 12 or time.monotonic() > deadline:
                return spans
        elif time.monotonic() > deadline:
            pytest.fail(f"Phoenix's client failed: {out.stderr[-2000:]}")
        time.sleep(1)


def test_phoenix_shows_the_whole_run_as_one_nested_trace(phoenix, tmp_path, monkeypatch):
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.remember("The Louvre is in Paris.", source="notes")
    helper = CodeAgent(
        model=TestModel([py("final_answer(lookup('Paris'))")]), tools=[lookup], name="geo", description="Geography."
    )
    model = TestModel(
        [
            py("notes = search_memory('Louvre')\ncountry = geo('Which country is Paris in?')\nprint(country)"),
            py("final_answer(country)"),
        ],
        model_id="scripted-manager",
    )
    provider = tracing.enable(endpoint=phoenix, service_name="smolnb-phoenix-test")
    try:
        result = CodeAgent(model=model, managed_agents=[helper], memory=memory, name="manager").run("Where is the Louvre?")
        provider.force_flush()
    finally:
        tracing.disable()
    assert result.output == "France"

    spans = read_spans(phoenix, "smolnb-phoenix-test")  # the project is named after the service
    by_id = {s["context.span_id"]: s for s in spans}
    assert {s["context.trace_id"] for s in spans} == {tracing.trace_id(result.run_id)}  # one trace, found from the run id
    parent = lambda s: by_id.get(s["parent_id"])  # noqa: E731
    [root] = [s for s in spans if s["parent_id"] in (None, "") or s["parent_id"] != s["parent_id"]]
    assert root["span_kind"] == "AGENT" and root["name"] == "manager" and root["attributes.output.value"] == "France"
    steps = [s for s in spans if parent(s) is root and s["span_kind"] == "CHAIN"]
    assert sorted(s["name"] for s in steps) == ["step 1", "step 2"]
    llm = [s for s in spans if s["span_kind"] == "LLM" and s["attributes.llm.model_name"] == "scripted-manager"]
    assert len(llm) == 2 and all(parent(s) in steps for s in llm)
    assert all(s["attributes.llm.token_count.prompt"] > 0 and s["attributes.llm.token_count.completion"] > 0 for s in llm)
    code = [s for s in spans if s["name"] == "python"]
    assert any("search_memory('Louvre')" in s["attributes.input.value"] for s in code)  # each execution with its code
    [retriever] = [s for s in spans if s["span_kind"] == "RETRIEVER" and s["name"] == "search_memory"]
    assert parent(retriever)["name"] == "step 1"
    assert any(s["name"] == "memory.recall" for s in spans)
    [child] = [s for s in spans if s["span_kind"] == "AGENT" and s["name"] == "geo"]
    assert parent(child)["name"] == "step 1"  # the managed agent's run nests under the step that called it
    [lookup_span] = [s for s in spans if s["span_kind"] == "TOOL" and s["name"] == "lookup"]
    assert parent(parent(lookup_span)) is child and "France" in lookup_span["attributes.output.value"]

    monkeypatch.setenv("SMOLNB_PHOENIX_URL", phoenix)
    link = tracing.trace_url(result.run_id)  # what `%agent trace RUN_ID` shows: Phoenix's page opens that trace
    assert link == f"{phoenix}/redirects/traces/{tracing.trace_id(result.run_id)}"
    with urllib.request.urlopen(link, timeout=10) as page:  # noqa: S310 - loopback
        assert page.status == 200 and b"<html" in page.read(4096).lower()
