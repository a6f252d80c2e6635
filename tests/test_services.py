"""`smolnb services neo4j`: a user's local Neo4j, started by one command, used by Memory."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from smolnb._net import free_port
from smolnb.errors import BackendError, UserError
from smolnb.memory import open_graph
from smolnb.services import neo4j_jar, neo4j_server
from tests.conftest import required

pytestmark = pytest.mark.skipif(
    not neo4j_jar().exists() and not required("neo4j"), reason="the Neo4j launcher is not built (make neo4j-server)"
)


def test_the_command_starts_neo4j_prints_its_uri_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {**os.environ, "SMOLNB_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smolnb", "services", "neo4j", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline, uri = time.monotonic() + 180, None
        while time.monotonic() < deadline and uri is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"the command exited: {proc.stderr.read()[-2000:]}")
            if "Memory(graph=" in line:
                uri = line.split("Memory(graph=")[1].strip().rstrip(")").strip("'")
        assert uri and uri.startswith("bolt://neo4j:") and uri.endswith(f"@127.0.0.1:{port}")
        secret = tmp_path / "home" / "services" / "neo4j" / "password"
        assert secret.stat().st_mode & 0o777 == 0o600 and secret.read_text() in uri
        graph = open_graph(uri)
        graph.add_fact("Heron", "LED_BY", "Ana")
        assert graph.query("MATCH (a)-[:LED_BY]->(b) RETURN b.name AS lead") == [{"lead": "Ana"}]
        graph.close()
        with pytest.raises(BackendError, match="rejected the credentials"):
            open_graph(uri.replace(secret.read_text(), "wrong-password"))
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C (the suite may run with SIGINT ignored: the command sets its own)
        out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0 and "stopping Neo4j" in out
    with pytest.raises(ConnectionRefusedError):  # nothing listens there now: the server went with the command
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_missing_launcher_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("SMOLNB_NEO4J_JAR", str(tmp_path / "nowhere.jar"))
    with (
        pytest.raises(UserError, match=r"make neo4j-server.*SMOLNB_NEO4J_JAR.*deploy/compose.yaml up neo4j"),
        neo4j_server(tmp_path),
    ):
        pass
