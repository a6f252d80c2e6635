"""The graph contract, on networkx and on a real Neo4j: both answer the same way."""

import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from smolnb.errors import BackendError, UserError
from smolnb.memory import NetworkxGraph, open_graph

CONTRACT_QUERY = "MATCH (a)-[r]->(b) RETURN a.name AS a, type(r) AS r, b.name AS b"


@pytest.fixture(params=["networkx", "neo4j"])
def graph(request, tmp_path):
    if request.param == "networkx":
        store = open_graph(f"networkx://{tmp_path / 'kg.json'}")
        store.test_uri = store.uri
    else:
        store = open_graph(request.getfixturevalue("neo4j_uri"))
        store.test_uri = request.getfixturevalue("neo4j_uri")  # with the credentials, which .uri never shows
        store.forget()  # one server for the session: start each test from an empty graph
    yield store
    store.close()


def test_add_fact_and_query(graph):
    fact = graph.add_fact("Ada Lovelace", "WROTE", "first program", provenance={"run_id": "r1", "source": "notes"})
    again = graph.add_fact("Ada Lovelace", "wrote", "first program")
    assert again.id == fact.id  # MERGE: a repeated fact is not duplicated
    assert graph.query(CONTRACT_QUERY) == [{"a": "Ada Lovelace", "r": "WROTE", "b": "first program"}]
    [stored] = graph.facts(subject="Ada Lovelace")
    assert stored.provenance["run_id"] == "r1" and stored.provenance["source"] == "notes"
    assert graph.query("MATCH (a)-[r:WROTE]->(b) WHERE a.name = $who RETURN b.name AS what", {"who": "Ada Lovelace"}) == [
        {"what": "first program"}
    ]


def test_a_query_sees_current_facts_only_and_history_on_request(graph):
    """Defect: on Neo4j, query_graph returned a superseded lead as if it were current."""
    graph.add_fact("Heron", "LED_BY", "Priya Raman", functional=True)
    graph.add_fact("Heron", "LED_BY", "Tomas Novak", functional=True)
    rows = graph.query("MATCH (a {name: 'Heron'})-[r:LED_BY]->(b) RETURN b.name AS lead")
    assert rows == [{"lead": "Tomas Novak"}]
    rows = graph.query("MATCH (a)-[r]->(b) RETURN a.name AS a, type(r) AS r, b.name AS b")
    assert rows == [{"a": "Heron", "r": "LED_BY", "b": "Tomas Novak"}]
    graph.increment("runs", "COUNT")
    graph.increment("runs", "COUNT")
    assert graph.query("MATCH (a {name: 'runs'})-[r:COUNT]->(b) RETURN b.name AS n") == [{"n": "2"}]
    past = graph.facts(subject="Heron", include_past=True)
    assert sorted((f.object, f.valid_to is None) for f in past) == [("Priya Raman", False), ("Tomas Novak", True)]
    assert graph.forget(subject="Heron", predicate="LED_BY") >= 1 and graph.facts(subject="Heron", include_past=True) == []


def test_functional_relation_supersedes_and_keeps_history(graph):
    graph.add_fact("Grace", "WORKS_AT", "Harvard", functional=True)
    graph.add_fact("Grace", "WORKS_AT", "Navy", functional=True)
    assert [f.object for f in graph.facts(subject="Grace")] == ["Navy"]
    history = graph.facts(subject="Grace", include_past=True)
    old = next(f for f in history if f.object == "Harvard")
    assert old.valid_to is not None and old.valid_to >= old.valid_from


def test_neighbors_and_entities(graph):
    graph.add_fact("A", "KNOWS", "B")
    graph.add_fact("B", "KNOWS", "C")
    graph.add_fact("C", "KNOWS", "D")
    assert {(f.subject, f.object) for f in graph.neighbors("A", 1)} == {("A", "B")}
    assert {(f.subject, f.object) for f in graph.neighbors("A", 2)} == {("A", "B"), ("B", "C")}
    assert graph.entities() == ["A", "B", "C", "D"]


def test_around_walks_two_hops_through_small_entities_only(graph):
    graph.add_facts(
        [("Heron", "LED_BY", "Priya", {}), ("Priya", "WORKS_IN", "Lisbon", {}), ("Lisbon", "IN", "Portugal", {})]
        + [(f"Person{i}", "WORKS_IN", "Lisbon", {}) for i in range(5)]  # Lisbon: a hub at hub=4
        + [("Heron", "MENTIONED_IN", "item:1", {}), ("Osprey", "MENTIONED_IN", "item:1", {})]
    )
    found = graph.around(["Heron", "Lisbon", "nobody"], exclude=["Priya"], hub=4)
    assert set(found) == {"Heron"}  # Lisbon is over the hub size; an unknown name reaches nothing
    assert {f.text() for f in found["Heron"]} == {"Heron led by Priya", "Heron mentioned in item:1"}  # not through Priya
    found = graph.around(["Heron"], hub=4)
    texts = {f.text() for f in found["Heron"]}
    assert "Priya works in Lisbon" in texts and "Lisbon in Portugal" not in texts  # two hops, not three
    assert "Osprey mentioned in item:1" not in texts  # a text's node is not a way through


def test_forget(graph):
    graph.add_fact("X", "IS", "Y")
    graph.add_fact("X", "IS", "Z")
    assert graph.forget(subject="X", object="Y") == 1
    assert [f.object for f in graph.facts(subject="X")] == ["Z"]


def test_query_tool_cannot_write(graph):
    with pytest.raises(UserError):
        graph.query("CREATE (n:Entity {name: 'evil'}) RETURN n")
    with pytest.raises(UserError):
        graph.query("MATCH (n) DETACH DELETE n")
    assert graph.entities() == []


def test_bad_input(graph):
    with pytest.raises(UserError, match="a relation must be a word"):
        graph.add_fact("a", "DROP DATABASE; --", "b")
    with pytest.raises(UserError, match="non-empty name"):
        graph.add_fact("", "IS", "b")
    with pytest.raises(UserError, match="too long"):
        graph.add_fact("x" * 600, "IS", "b")


def test_threads_lose_no_write(graph):
    def writer(t):
        for i in range(200):
            graph.add_fact(f"thread{t}", "HAS", f"item{i}")
            if i % 50 == 0:
                graph.add_fact("shared", "SEEN", "everyone")  # the same fact from every thread

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    facts = graph.facts()
    assert len(facts) == 8 * 200 + 1
    assert len({(f.subject, f.object) for f in facts}) == len(facts)


def test_processes_lose_no_write(graph, tmp_path):
    code = (
        "import sys\n"
        "from smolnb.memory import open_graph\n"
        "g = open_graph(sys.argv[1])\n"
        "for i in range(200):\n"
        "    g.add_fact('proc' + sys.argv[2], 'HAS', f'item{i}')\n"
        "    g.add_fact('shared', 'SEEN', 'everyone')\n"
    )
    env_path = str(Path(__file__).resolve().parents[2])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, graph.test_uri, str(p)], env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}
        )
        for p in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    facts = graph.facts()
    assert len(facts) == 4 * 200 + 1


def test_networkx_survives_a_killed_writer(tmp_path):
    path = tmp_path / "kg.json"
    code = (
        "import sys\n"
        "from smolnb.memory import NetworkxGraph\n"
        "g = NetworkxGraph(sys.argv[1])\n"
        "i = 0\n"
        "while True:\n"
        "    g.add_fact('w', 'HAS', f'i{i}')\n"
        "    print(i, flush=True)\n"
        "    i += 1\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    committed = -1
    while committed < 30:
        committed = int(proc.stdout.readline())
    proc.kill()
    proc.wait()
    proc.stdout.close()
    facts = NetworkxGraph(path).facts()  # opens fine
    assert len(facts) >= committed + 1  # every acknowledged write is there


def test_wrong_credentials_name_the_uri_and_hide_the_password(neo4j_uri):
    host = neo4j_uri.rpartition("@")[2]
    with pytest.raises(BackendError) as caught:
        open_graph(f"bolt://neo4j:not-the-password@{host}")
    message = str(caught.value)
    assert f"the Neo4j server at bolt://{host} rejected the credentials" in message
    assert "NEO4J_PASSWORD" in message and "not-the-password" not in message


def test_down_server_and_unknown_scheme_are_clear_errors():
    with pytest.raises(BackendError, match="bolt://127.0.0.1:1 cannot be reached"):
        open_graph("bolt://127.0.0.1:1")
    with pytest.raises(UserError, match="unknown graph URI scheme 'redis'"):
        open_graph("redis://x")
    assert uuid  # used by other tests in this module


def test_a_missing_extra_names_the_install(monkeypatch, tmp_path):
    import sys

    from smolnb.errors import MissingExtraError
    from smolnb.memory import LanceVectorStore

    monkeypatch.setitem(sys.modules, "neo4j", None)  # as if smolnb[neo4j] were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'smolnb\[neo4j\]'"):
        open_graph("bolt://127.0.0.1:7687")
    monkeypatch.setitem(sys.modules, "lancedb", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'smolnb\[memory\]'"):
        LanceVectorStore(tmp_path / "v")


WHERE_QUERIES = [
    ("MATCH (a {name:'Heron'})-[r:LED_BY]->(b) WHERE b.name <> 'Zed' RETURN b.name AS lead", [{"lead": "Dana"}]),
    ("MATCH (a {name:'Heron'})-[r:LED_BY]->(b) WHERE b.name STARTS WITH 'Da' RETURN b.name AS lead", [{"lead": "Dana"}]),
    ("MATCH (a)-[r:USES]->(b) WHERE a.name = 'Heron' AND b.name IN ['GPU', 'TPU'] RETURN b.name AS x", [{"x": "GPU"}]),
    ("MATCH (a)-[r:USES]->(b) WHERE b.name ENDS WITH 'PU' RETURN a.name AS a", [{"a": "Heron"}]),
    ("MATCH (a)-[r:USES]->(b) WHERE b.name CONTAINS 'P' AND NOT b.name = 'TPU' RETURN b.name AS x", [{"x": "GPU"}]),
]


@pytest.mark.parametrize("cypher, rows", WHERE_QUERIES)
def test_where_filters_answer_alike(graph, cypher, rows):
    graph.add_fact("Heron", "LED_BY", "Dana")
    graph.add_fact("Heron", "USES", "GPU")
    assert graph.query(cypher) == rows


def test_an_unsupported_clause_is_named(tmp_path):
    from smolnb.errors import UserError

    store = open_graph(f"networkx://{tmp_path}/kg.json")
    store.add_fact("Heron", "USES", "GPU")
    with pytest.raises(UserError, match=r"=~"):
        store.query("MATCH (a)-[r:USES]->(b) WHERE b.name =~ 'G.*' RETURN b.name")


def test_a_password_in_a_graph_uri_becomes_a_known_secret():
    from smolnb.redact import redact

    secret = "Uq7-not-in-any-env-9xZ"
    with pytest.raises((BackendError, UserError)) as failure:
        open_graph(f"neo4j://neo4j:{secret}@127.0.0.1:1")  # nothing listens there
    assert secret not in str(failure.value)
    assert secret not in redact(f"connect with neo4j://neo4j:{secret}@host or {secret} alone")
