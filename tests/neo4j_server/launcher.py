"""The test suite's Neo4j: the same embedded Neo4j 5.26 users start with `smolnb services neo4j`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from smolnb.services import NotBuiltError
from smolnb.services import neo4j_server as _neo4j_server

__all__ = ["NotBuiltError", "neo4j_server"]


@contextlib.contextmanager
def neo4j_server(home: Path, password: str | None = None) -> Iterator[str]:
    """A Neo4j on 127.0.0.1 with authentication on, in `home`; yields `bolt://neo4j:PASSWORD@127.0.0.1:PORT`.

    The password is random unless given: a test that looks for it in what smolnb wrote finds only leaks.
    """
    with _neo4j_server(home, password=password) as uri:
        yield uri
