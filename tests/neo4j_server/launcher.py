"""Start and stop the embedded Neo4j 5.26 test server (built by `make neo4j-server`)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

TARGET = Path(__file__).resolve().parent / "target"
JAR = TARGET / "neo4j-test-server-1.0.jar"
PASSWORD = "smolnb-test-password"


class NotBuiltError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def neo4j_server(home: Path, password: str = PASSWORD) -> Iterator[str]:
    """A Neo4j on 127.0.0.1 with authentication on; yields `bolt://neo4j:PASSWORD@127.0.0.1:PORT`."""
    if not JAR.exists() or shutil.which("java") is None:
        raise NotBuiltError(f"{JAR} or java is missing: run `make neo4j-server`")
    port = _free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            "java",
            "-Xmx1g",
            "-cp",
            f"{JAR}:{TARGET / 'lib'}/*",
            "dev.smolnb.Neo4jTestServer",
            str(home / "db"),
            str(port),
            password,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        deadline, line = time.monotonic() + 180, ""
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            if line.startswith("READY"):
                break
        if not line.startswith("READY"):
            raise RuntimeError(f"Neo4j did not start: {(home / 'server.log').read_text()[-2000:]}")
        yield f"bolt://neo4j:{password}@127.0.0.1:{port}"
    finally:
        proc.stdin.close()  # the launcher shuts down when its stdin closes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
