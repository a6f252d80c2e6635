"""No secret in any byte the project writes (issue: "nothing lost", secrets).

A key given only as `api_key=` and a Neo4j password given only in the graph URI go through an
agent whose tool hands both back, a failing agent whose tool raises with both in the message, a
save and load, a run that stops on a provider error and is resumed, an eval, and a wrong-password
connection. Then every byte written (SMOLNB_HOME with the run store and its snapshots, the eval
folder, the saved agent, exported spans, logs, captured stdout and stderr, and the request
bodies the provider received) is searched for each secret and every 8-character slice of it.
"""

import json
import logging
from urllib.parse import urlsplit

import pytest

from smolnb import CodeAgent, Memory, tool
from smolnb.harness import evaluate
from smolnb.memory import HashEmbedder, open_graph
from smolnb.models import LiteLLMModel, register_model
from tests.helpers import py
from tests.openai_server import ScriptedOpenAIServer

KEY = "zQ81vTx9KmW2pLr5nYc4Bd6hJ3"  # no provider prefix: only knowing it can redact it
WRONG = "Hs3nB8vKq5Rz1Lp6"


def slices(secret, n=8):
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


@pytest.fixture
def graph_uri(neo4j_uri):
    """The session's Neo4j: its password is random, and given to this test only in the URI."""
    graph = open_graph(neo4j_uri)
    graph.forget()  # one server for the session: from an empty graph, and none of this test's facts left
    yield neo4j_uri
    graph.forget()
    graph.close()


def password_of(uri):
    return urlsplit(uri).password


def test_no_secret_in_any_byte_written(tmp_path, smolnb_home, graph_uri, capfd):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import smolnb.tracing

    spans = InMemorySpanExporter()
    smolnb.tracing.enable(exporter=spans, batch=False)
    log_file = tmp_path / "smolnb.log"
    handler = logging.FileHandler(log_file)
    logging.getLogger("smolnb").addHandler(handler)
    logging.getLogger("smolnb").setLevel(logging.DEBUG)
    try:
        with ScriptedOpenAIServer() as server:
            _exercise(tmp_path, smolnb_home, graph_uri, server)
            bodies = json.dumps([r["body"] for r in server.requests], default=str)
    finally:
        logging.getLogger("smolnb").removeHandler(handler)
        handler.close()
        smolnb.tracing.disable()
    out, err = capfd.readouterr()

    written = b""
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        written += path.read_bytes()
    exported = json.dumps(
        [
            {
                "name": s.name,
                "attributes": dict(s.attributes or {}),
                "events": [dict(e.attributes or {}) for e in s.events],
                "status": s.status.description,
            }
            for s in spans.get_finished_spans()
        ],
        default=str,
    )
    haystacks = {
        "files": written,
        "spans": exported.encode(),
        "stdout": out.encode(),
        "stderr": err.encode(),
        "request bodies": bodies.encode(),
    }
    assert len(server.requests) >= 8 and len(written) > 10_000 and spans.get_finished_spans()
    leaks = [
        f"{where}: {piece!r} of {name} in ...{hay[max(0, hay.find(piece.encode()) - 200) : hay.find(piece.encode()) + 40]!r}"
        for name, secret in (("the key", KEY), ("the password", password_of(graph_uri)), ("the wrong password", WRONG))
        for piece in slices(secret)
        for where, hay in haystacks.items()
        if piece.encode() in hay
    ]
    assert not leaks, "\n".join(leaks[:5])


def _exercise(tmp_path, home, graph_uri, server):
    # retries still happen (their errors carry the key); a short backoff keeps them from sleeping 15 s
    model = LiteLLMModel("openai/scripted", api_base=server.base_url, api_key=KEY, backoff=0.05)
    memory = Memory(graph=graph_uri, vectors=f"lancedb://{home}/vectors", embedder=HashEmbedder())

    @tool
    def read_config() -> dict:
        """The service configuration.

        Returns:
            The settings, credentials included.
        """
        return {"endpoint": "https://svc.internal", "api_key": KEY, "graph": graph_uri}

    @tool
    def connect(name: str) -> str:
        """Connect to a service.

        Args:
            name: The service.
        """
        raise ConnectionError(f"login to {name} with key {KEY} and password {password_of(graph_uri)} was refused")

    # 1. an agent whose tool hands the secrets back: printed, kept in a variable, answered
    server.replies.extend(
        [
            py("cfg = read_config()\nprint(cfg)"),
            py("final_answer(cfg['endpoint'] + ' ' + cfg['api_key'])"),
        ]
    )
    agent = CodeAgent(model=model, tools=[read_config, connect], memory=memory, max_steps=4)
    result = agent.run("Which endpoint and key does the service use?")
    assert result.status == "success" and result.output.endswith(KEY)  # the user asked for it: the answer holds it
    print(result.summary())

    # 2. a failing agent: its tool raises with both secrets in the message, then the steps run out
    server.replies.extend([py("connect('db')"), py(f"connect('db')  # {KEY}"), "no code at all"])
    failed = CodeAgent(model=model, tools=[read_config, connect], memory=memory, max_steps=3).run("Connect to the database.")
    assert failed.status != "success"
    print(failed.summary(), failed.error)

    # 3. save and load
    agent.save(tmp_path / "agent.json")
    loaded = CodeAgent.load(tmp_path / "agent.json", model=model, tools=[read_config, connect])
    assert loaded.max_steps == 4

    # 4. a run that stops on a provider error, resumed
    server.replies.extend(
        [py("cfg = read_config()\nn = 2"), (500, {"error": {"message": f"upstream rejected {KEY}"}}, {})]
        + [(500, {"error": {"message": f"upstream rejected {KEY}"}}, {})] * 6
    )
    stopped = CodeAgent(model=model, tools=[read_config], memory=memory, max_steps=4).run("Count to two.")
    assert stopped.status != "success"
    print(stopped.summary(), stopped.error)
    server.replies.clear()
    server.replies.append(py("final_answer(n)"))
    resumed = CodeAgent.resume(stopped.run_id, model=model, tools=[read_config], memory=memory)
    assert resumed.status == "success" and resumed.output == 2

    # 5. an eval
    register_model("scripted-secret", model)
    server.responder = lambda body: py("final_answer(cfg_value) if False else final_answer(read_config()['api_key'])")
    evaluate(
        "basics",
        ["scripted-secret"],
        out=tmp_path / "eval",
        limit=2,
        concurrency=1,
        progress=False,
        agent_options={"tools": [read_config]},
    )
    server.responder = None

    # 6. a wrong password
    wrong = graph_uri.replace(password_of(graph_uri), WRONG)
    with pytest.raises(Exception) as info:
        open_graph(wrong).facts()
    print(info.value)
    memory.close()
