"""The memory tests use the session's real Neo4j (`neo4j_uri`, `started_neo4j`: tests/conftest.py)."""

from tests.conftest import started_neo4j

__all__ = ["started_neo4j"]
