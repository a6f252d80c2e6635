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
