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
