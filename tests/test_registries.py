"""Backends are looked up in registries, not chosen by if/elif: a model prefix, a graph URI scheme
or a vector URI scheme maps to a factory, and a new one is one call."""

import pytest

from smolnb.errors import UserError
from smolnb.memory import (
    HashEmbedder,
    LanceVectorStore,
    NetworkxGraph,
    open_graph,
    open_vectors,
    register_graph_scheme,
    register_vector_scheme,
)
from smolnb.models import TestModel, get_model, register_backend


def test_the_test_model_by_name():
    model = get_model("test")
    assert isinstance(model, TestModel)
    model.enqueue("```python\nfinal_answer(1)\n```")
    from smolnb import CodeAgent

    assert CodeAgent(model=model, store=False).run("t").output == 1


def test_a_new_model_prefix(monkeypatch):
    made = []

    def factory(spec, params):
        made.append((spec, params))
        return TestModel(model_id=spec)

    register_backend("scripted-lab/", factory)
    model = get_model("scripted-lab/alpha", temperature=0)
    assert model.model_id == "scripted-lab/alpha" and made == [("scripted-lab/alpha", {"temperature": 0})]


def test_new_graph_and_vector_schemes(tmp_path):
    register_graph_scheme("labgraph", lambda uri, rest: NetworkxGraph(tmp_path / f"{rest}.json"))
    graph = open_graph("labgraph://team")
    graph.add_fact("Heron", "LED_BY", "Ana")
    assert (tmp_path / "team.json").exists() or graph.facts(subject="Heron")
    register_vector_scheme("labvec", lambda rest, embedder: LanceVectorStore(tmp_path / rest, embedder))
    store = open_vectors("labvec://notes", HashEmbedder())
    assert isinstance(store, LanceVectorStore) and store.path == tmp_path / "notes"


def test_an_unknown_scheme_lists_the_known_ones():
    with pytest.raises(UserError, match=r"unknown graph URI scheme 'chroma'.*networkx://.*neo4j://"):
        open_graph("chroma://x")
    with pytest.raises(UserError, match=r"unknown vector store URI 'chroma://x': use lancedb://PATH"):
        open_vectors("chroma://x")
