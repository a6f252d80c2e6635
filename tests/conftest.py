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


class RealModelGuard:
    """Fails a test that would call a real model it did not ask for.

    The real local model (llama.cpp) runs only in tests marked `local_model`; a remote provider
    never (a scripted OpenAI-compatible server on 127.0.0.1 is not one). A call that is refused
    ends as a ModelError in the run, and the test fails at its end naming the call.
    """

    def __init__(self, allow_local: bool) -> None:
        self.allow_local = allow_local
        self.violations: list[str] = []

    def refuse(self, what: str) -> Exception:
        from smolnb.errors import ModelError

        message = (
            f"this test would call {what} without asking for it: use TestModel or a scripted server on "
            "127.0.0.1, or mark the test @pytest.mark.local_model for the local model"
        )
        self.violations.append(message)
        return ModelError(message)

    def install(self, monkeypatch) -> None:
        from urllib.parse import urlparse

        from smolnb.models import LiteLLMModel, OpenAIAPIModel
        from smolnb.models.local import model as local

        guard = self

        def remote(model, kwargs) -> bool:
            base = kwargs.get("api_base") or kwargs.get("base_url") or model.api_base
            return not base or urlparse(str(base)).hostname not in ("127.0.0.1", "localhost", "::1")

        for cls in (LiteLLMModel, OpenAIAPIModel):
            original = cls.agenerate

            async def agenerate(self, messages, *, _original=original, **kwargs):
                if remote(self, kwargs):
                    raise guard.refuse(f"the remote model {self.model_id!r}")
                return await _original(self, messages, **kwargs)

            monkeypatch.setattr(cls, "agenerate", agenerate)
        if not self.allow_local:
            server_for = local._server_for

            def refused_server(*args, **kwargs):
                raise guard.refuse("the real local model (llama.cpp)")

            monkeypatch.setattr(local, "_server_for", refused_server)
            assert server_for is not refused_server


@pytest.fixture(autouse=True)
def real_model_guard(request, monkeypatch):
    """Every test runs under a RealModelGuard (see there)."""
    guard = RealModelGuard(allow_local=request.node.get_closest_marker("local_model") is not None)
    guard.install(monkeypatch)
    yield guard
    if guard.violations:
        pytest.fail("; ".join(dict.fromkeys(guard.violations)), pytrace=False)


@pytest.fixture(autouse=True)
def reset_world():
    """Each test starts from the same world and leaves it so: scheduler limits, the model and
    tool registries, model backends, tracing hooks."""
    from smolnb import models, tracing
    from smolnb.scheduling import scheduler
    from smolnb.tools.registry import registry

    registered, backends = dict(models._REGISTRY), dict(models._BACKENDS)
    tools_versions = {name: dict(versions) for name, versions in registry._tools.items()}
    hooks, tracing_state = list(tracing.hooks), dict(tracing._state)
    yield
    scheduler.reset()
    models._REGISTRY.clear()
    models._REGISTRY.update(registered)
    models._BACKENDS.clear()
    models._BACKENDS.update(backends)
    registry._tools.clear()
    registry._tools.update(tools_versions)
    if tracing._state["tracer"] is not None and tracing_state["tracer"] is None:
        tracing.disable()
    tracing.hooks[:] = hooks
    tracing._state.update(tracing_state)


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
