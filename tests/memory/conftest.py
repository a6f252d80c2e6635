"""A real Neo4j 5.26 for the memory tests: embedded, Bolt on 127.0.0.1, started and stopped here.

The launcher and its jars are built by `make neo4j-server` (Maven Central artifacts).
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import required

SERVER = Path(__file__).resolve().parents[1] / "neo4j_server" / "target"
PASSWORD = "smolnb-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory):
    jar = SERVER / "neo4j-test-server-1.0.jar"
    if not jar.exists() or shutil.which("java") is None:
        if required("neo4j"):
            pytest.fail(f"the Neo4j test server is required here (CI=true) but {jar} or java is missing: run `make neo4j-server`",
                        pytrace=False)  # fmt: skip
        pytest.skip("the Neo4j test server is not built (make neo4j-server)")
    port = _free_port()
    home = tmp_path_factory.mktemp("neo4j")
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        ["java", "-Xmx1g", "-cp", f"{jar}:{SERVER / 'lib'}/*", "dev.smolnb.Neo4jTestServer", str(home / "db"), str(port),
         PASSWORD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            break
    if not line.startswith("READY"):
        proc.kill()
        pytest.fail(f"Neo4j did not start: {(home / 'server.log').read_text()[-2000:]}")
    try:
        yield f"bolt://neo4j:{PASSWORD}@127.0.0.1:{port}"
    finally:
        proc.stdin.close()  # the launcher shuts down when its stdin closes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
