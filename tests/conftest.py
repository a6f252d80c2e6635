import contextlib
import os
from pathlib import Path

import pytest

# Assembled local models are reused across tests (and runs): they live outside each test's home.
os.environ.setdefault("SMOLNB_MEMORY", "off")  # tests that use the notebook's memory turn it on
os.environ.setdefault(
    "SMOLNB_MODELS", str(Path(os.environ.get("SMOLNB_HOME") or Path.home() / ".smolnb").expanduser() / "models")
)


@pytest.fixture(autouse=True)
def smolnb_home(tmp_path, monkeypatch):
    """Every test gets its own SMOLNB_HOME, so none touches the user's."""
    home = tmp_path / "smolnb-home"
    monkeypatch.setenv("SMOLNB_HOME", str(home))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return home


def required(name: str) -> bool:
    """True when CI (or the user) says the real service `name` must be there."""
    wanted = {s.strip() for s in os.environ.get("SMOLNB_REQUIRE", "").split(",") if s.strip()}
    return os.environ.get("CI") == "true" or name in wanted or "all" in wanted


def started_neo4j(folder, **options):
    """Start a test Neo4j in `folder` and yield its URI (a required server that is not built fails in CI)."""
    from tests.neo4j_server.launcher import NotBuiltError, neo4j_server

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
    """A real Neo4j 5.26 for the session: embedded, Bolt on 127.0.0.1, started and stopped here
    (`make neo4j-server` builds it from Maven Central artifacts)."""
    yield from started_neo4j(tmp_path_factory.mktemp("neo4j"))


@contextlib.contextmanager
def serving(command, url: str, log_path: Path, *, env=None, what: str = "the server", timeout: float = 120.0):
    """Start `command` (its output in `log_path`), wait until `url` answers, yield; stop it after."""
    import subprocess
    import time
    import urllib.request

    from smolnb._net import stop_process

    log = log_path.open("wb")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{what} did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.5)
        yield proc
    finally:
        stop_process(proc, timeout=30)
        log.close()
