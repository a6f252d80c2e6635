"""The services a researcher runs beside the notebook, started locally: a Neo4j for graph memory.

`smolnb services neo4j` (or `make neo4j`) starts Neo4j 5.26 embedded in a small Java launcher
(`services/neo4j`, built by `make neo4j-server` from Maven Central; Java 17 is the only
prerequisite to run it), with authentication on, on 127.0.0.1, and prints the URI to give
`Memory(graph=...)` or `%agent config graph=...`. The test suite starts the same server.
`deploy/compose.yaml` runs the official Neo4j image instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from ._net import free_port
from .config import home, setting
from .errors import BackendError, UserError

__all__ = ["NotBuiltError", "neo4j_jar", "neo4j_server", "serve_neo4j"]

_CHECKOUT = Path(__file__).resolve().parents[1]  # a source checkout (an editable install) has services/ here


class NotBuiltError(UserError):
    """The Neo4j launcher is not built, or Java is missing."""


def neo4j_jar() -> Path:
    """The launcher's jar: SMOLNB_NEO4J_JAR, else the one `make neo4j-server` built in this checkout."""
    configured = setting("SMOLNB_NEO4J_JAR")
    return Path(configured) if configured else _CHECKOUT / "services" / "neo4j" / "target" / "smolnb-neo4j-1.0.jar"


@contextlib.contextmanager
def neo4j_server(
    folder: Path | None = None, *, password: str | None = None, port: int = 0, memory: str = "1g", timeout: float = 180.0
) -> Iterator[str]:
    """A Neo4j on 127.0.0.1 with authentication on, stopped on exit; yields `bolt://neo4j:PASSWORD@127.0.0.1:PORT`.

    `folder` holds its database (default: SMOLNB_HOME/services/neo4j, kept between starts);
    `port` 0 picks a free one.
    """
    jar, java = neo4j_jar(), shutil.which("java")
    if not jar.exists() or java is None:
        missing = "java (install Java 17)" if java is None else str(jar)
        raise NotBuiltError(
            f"the Neo4j launcher needs {missing}: run `make neo4j-server` in a smolnb checkout (Java 17 and Maven), "
            "set SMOLNB_NEO4J_JAR to a built jar, or run the official image: `docker compose -f deploy/compose.yaml up neo4j`"
        )
    folder = folder or home() / "services" / "neo4j"
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    password = password or secrets.token_urlsafe(18)
    log_path = folder / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(  # noqa: S603 - java with our own launcher
        [
            java,
            f"-Xmx{memory}",
            "-cp",
            f"{jar}:{jar.parent / 'lib'}/*",
            "dev.smolnb.Neo4jServer",
            str(folder / "db"),
            str(port),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "SMOLNB_NEO4J_PASSWORD": password},  # not on the command line, where others could read it
    )
    try:
        assert proc.stdout is not None
        deadline, line = time.monotonic() + timeout, ""
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            if line.startswith("READY"):
                break
        if not line.startswith("READY"):
            raise BackendError(f"Neo4j did not start (see {log_path}): {log_path.read_text()[-2000:]}")
        yield f"bolt://neo4j:{password}@127.0.0.1:{port}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the launcher shuts down when its stdin closes
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def serve_neo4j(folder: Path | None = None, port: int = 7687, password: str | None = None) -> None:
    """Run a Neo4j until Ctrl-C or SIGTERM, printing how to use it (the CLI's `smolnb services neo4j`)."""
    # Ctrl-C and a service manager's SIGTERM both stop it, even when this process was started with
    # SIGINT ignored (a shell's background job), which Python would otherwise keep.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    folder = folder or home() / "services" / "neo4j"
    secret = folder / "password"
    if password is None and secret.exists():
        password = secret.read_text().strip()  # the database keeps the password it was first given
    with neo4j_server(folder, password=password, port=port) as uri:
        password = uri.split(":")[2].split("@")[0]
        folder.mkdir(parents=True, exist_ok=True)
        secret.write_text(password)
        secret.chmod(0o600)
        print(f"Neo4j 5.26 on 127.0.0.1:{port}, data in {folder / 'db'}")
        print(f"  Memory(graph={uri!r})")
        print(f"  %agent config graph={uri}")
        print(f"(the password is in {secret}; Ctrl-C stops the server)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping Neo4j")
