"""A real Neo4j 5.26 for the memory tests: embedded, Bolt on 127.0.0.1, started and stopped here.

The launcher and its jars are built by `make neo4j-server` (Maven Central artifacts).
"""

import pytest

from tests.conftest import required
from tests.neo4j_server.launcher import NotBuiltError, neo4j_server


def started_neo4j(folder, **options):
    """Start a test Neo4j in `folder` and yield its URI (a required server that is not built fails in CI)."""
    try:
        server = neo4j_server(folder, **options)
        uri = server.__enter__()
    except NotBuiltError as exc:
        if required("neo4j"):
            pytest.fail(f"the Neo4j test server is required here (CI=true) but {exc}", pytrace=False)
        pytest.skip(f"the Neo4j test server is not built: {exc}")
    try:
        yield uri
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory):
    yield from started_neo4j(tmp_path_factory.mktemp("neo4j"))
