"""OpenTelemetry spans (OpenInference kinds), OTLP/HTTP export to a receiver on 127.0.0.1,
structured logs, and secrets kept out of spans, logs and the run store."""

import importlib.util
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from smolnb import CodeAgent, Memory, tool, tracing
from smolnb.memory import HashEmbedder
from smolnb.models import TestModel
from tests.conftest import required

if not importlib.util.find_spec("opentelemetry.sdk"):
    if required("otel"):
        pytest.fail("tracing must be tested here (CI=true): install smolnb[otel]", pytrace=False)
    pytest.skip("smolnb[otel] is not installed", allow_module_level=True)

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smolnb.agent import prompts
from tests.helpers import py

KEY = "sk-test-5f2b9c1e8a7d4f3b2c1a0e9d8c7b6a5f"


@tool
def lookup(city: str) -> str:
    """Look up a city's country.

    Args:
        city: The city.
    """
    return {"Paris": "France"}.get(city, "unknown")


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.enable(exporter=exporter)
    yield exporter
    tracing.disable()


def _kind(span):
    return span.attributes["openinference.span.kind"]


def test_off_by_default_and_free():
    assert tracing.hooks == [] and tracing.tracer() is None
    with tracing.span("memory.recall", "RETRIEVER"):  # a no-op when off
        pass


def test_span_tree_of_a_run_with_a_managed_agent_a_tool_memory_and_an_error(spans, tmp_path):
    memory = Memory(graph=f"networkx://{tmp_path}/kg.json", vectors=f"lancedb://{tmp_path}/vec", embedder=HashEmbedder())
    memory.remember("The Louvre is in Paris.", source="notes")
    helper = CodeAgent(
        model=TestModel([py("final_answer(lookup('Paris'))")]),
        tools=[lookup],
        name="geo",
        description="Answers geography questions.",
    )
    model = TestModel(
        [
            py("notes = search_memory('Louvre')\ncountry = geo('Which country is Paris in?')\nprint(country)"),
            py("1 / 0"),
            py("final_answer(country)"),
        ],
        model_id="scripted-manager",
    )
    result = CodeAgent(model=model, managed_agents=[helper], memory=memory, name="manager").run("Where is the Louvre?")
    assert result.output == "France"

    done = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in done}
    parent = lambda s: by_id.get(s.parent.span_id) if s.parent else None  # noqa: E731
    [root] = [s for s in done if s.parent is None and _kind(s) == "AGENT"]
    assert _kind(root) == "AGENT" and root.name == "manager" and root.attributes["smolnb.run_id"] == result.run_id
    assert root.attributes["input.value"] == "Where is the Louvre?" and root.attributes["output.value"] == "France"
    steps = sorted((s for s in done if parent(s) is root and _kind(s) == "CHAIN"), key=lambda s: s.attributes["smolnb.step"])
    assert [s.attributes["smolnb.step"] for s in steps] == [1, 2, 3]

    llm = [s for s in done if _kind(s) == "LLM" and s.attributes["llm.model_name"] == "scripted-manager"]
    assert len(llm) == 3 and {parent(s) for s in llm} == set(steps)
    first = min(llm, key=lambda s: s.start_time)
    assert first.attributes["llm.input_messages.0.message.role"] == "system"
    task_at = 1 + 2 * len(prompts.CODE_EXAMPLES)  # after the system prompt and the worked examples
    assert "Where is the Louvre?" in first.attributes[f"llm.input_messages.{task_at}.message.content"]
    assert "search_memory('Louvre')" in first.attributes["llm.output_messages.0.message.content"]
    assert (
        first.attributes["llm.token_count.total"]
        == first.attributes["llm.token_count.prompt"] + first.attributes["llm.token_count.completion"]
    )
    assert "llm.invocation_parameters" in first.attributes

    [retriever] = [s for s in done if _kind(s) == "RETRIEVER" and s.name == "search_memory"]
    assert parent(retriever) is steps[0] and retriever.attributes["smolnb.memory"] is True
    recalls = [s for s in done if s.name == "memory.recall"]
    assert {parent(s) for s in recalls} >= {root, steps[0]}  # the prompt's recall, and the tool's

    [child] = [s for s in done if _kind(s) == "AGENT" and s.name == "geo"]
    assert parent(child) is steps[0]  # the managed run nests under the step that called it
    [tool_span] = [s for s in done if _kind(s) == "TOOL" and s.name == "lookup"]
    assert parent(parent(tool_span)) is child and "France" in tool_span.attributes["output.value"]
    assert json.loads(tool_span.attributes["tool.parameters"]) == {"city": "'Paris'"}  # arguments are kept as reprs

    code = [s for s in done if s.name == "python" and parent(s) is steps[1]]
    assert code and code[0].status.status_code.name == "ERROR" and "ZeroDivisionError" in code[0].status.description
    assert steps[1].status.status_code.name == "ERROR"
    assert any(e.name == "exception" for e in steps[1].events)
    assert root.status.status_code.name == "UNSET"  # the run itself succeeded


class Collector(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, *args):
        pass


def test_spans_go_over_otlp_http_to_a_collector():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.received.clear()
    try:
        provider = tracing.enable(endpoint=f"http://127.0.0.1:{server.server_port}", service_name="smolnb-test")
        CodeAgent(model=TestModel([py("final_answer(2 + 2)")]), name="adder").run("Add.")
        provider.force_flush()
    finally:
        tracing.disable()
        server.shutdown()
        server.server_close()
    assert Collector.received, "no OTLP request reached the collector"
    path, content_type, _ = Collector.received[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    names, kinds, services = [], set(), set()
    for _, _, body in Collector.received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services |= {a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    names.append(span.name)
                    kinds |= {a.value.string_value for a in span.attributes if a.key == "openinference.span.kind"}
    assert services == {"smolnb-test"}
    assert "adder" in names and "step 1" in names and "python" in names
    assert kinds == {"AGENT", "CHAIN", "LLM"}


def test_a_fake_api_key_appears_in_no_span_log_line_or_run_store_row(spans, monkeypatch, smolnb_home):
    from smolnb.logs import configure

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    stream = io.StringIO()
    handler = configure(level="DEBUG", json=True, stream=stream)
    try:
        model = TestModel([py(f"token = '{KEY}'\nprint('using', token)"), py("final_answer('done with ' + token)")])
        result = CodeAgent(model=model).run(f"Call the API with key {KEY} and Bearer abcdefghijklmnopqrstuvwxyz")
        logging.getLogger("smolnb").warning("request failed for key %s", KEY)
    finally:
        logging.getLogger("smolnb").removeHandler(handler)
    assert result.status == "success"
    exported = json.dumps(
        [dict(s.attributes) | {"events": [dict(e.attributes) for e in s.events]} for s in spans.get_finished_spans()]
    )
    assert "[REDACTED]" in exported and KEY not in exported and "abcdefghijklmnopqrstuvwxyz" not in exported
    lines = stream.getvalue().splitlines()
    assert lines and all(json.loads(line)["logger"] == "smolnb" for line in lines)
    assert KEY not in stream.getvalue() and "[REDACTED]" in stream.getvalue()
    from smolnb.harness import evaluate
    from smolnb.models import FunctionModel, register_model

    suite = smolnb_home / "secret.jsonl"
    suite.parent.mkdir(parents=True, exist_ok=True)
    suite.write_text(json.dumps({"id": "s1", "input": f"Use key {KEY} to answer 1.", "target": 1, "scorer": "numeric"}) + "\n")
    register_model("leaky", FunctionModel(lambda m, **i: py(f"print('{KEY}')\nfinal_answer('1 via {KEY}')"), model_id="leaky"))
    [sample] = evaluate(suite, ["leaky"], out=smolnb_home / "eval", progress=False)
    assert str(sample.output) == "1 via [REDACTED]"  # the eval file holds the answer, redacted
    suite.unlink()  # the task file itself is the user's input, not an output
    for path in smolnb_home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the key is in {path}"
    assert (smolnb_home / "eval" / "samples.jsonl").exists() and (smolnb_home / "eval" / "runs.db").exists()


def test_json_log_lines_carry_extra_fields():
    from smolnb.logs import configure

    stream = io.StringIO()
    handler = configure(level="INFO", json=True, stream=stream)
    try:
        logging.getLogger("smolnb").info("step done", extra={"run_id": "r1", "step": 2})
    finally:
        logging.getLogger("smolnb").removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "step done" and entry["run_id"] == "r1" and entry["step"] == 2 and entry["level"] == "INFO"


def test_redaction_patterns():
    from smolnb.redact import add_pattern, redact

    assert redact("key sk-ant-abcdefghijklmnopqrstu1234 end") == "key [REDACTED] end"
    assert redact("hf_abcdefghijklmnopqrstuvwxyz12 and ghp_abcdefghijklmnopqrstuvwxyz") == "[REDACTED] and [REDACTED]"
    assert redact("https://x/api?api_key=abcd1234efgh&x=1") == "https://x/api?api_key=[REDACTED]&x=1"
    add_pattern(r"INTERNAL-\d{6}")
    assert redact("ticket INTERNAL-123456") == "ticket [REDACTED]"
    assert redact("nothing secret here") == "nothing secret here"
