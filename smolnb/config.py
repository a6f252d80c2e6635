"""One home for state: `SMOLNB_HOME` decides where runs, graphs, vectors and models live."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "default_model", "home"]

DEFAULT_MODEL = "local/qwen2.5-coder-0.5b"


def home() -> Path:
    """The directory for smolnb's state (`SMOLNB_HOME`, else `~/.smolnb`), created on demand."""
    path = Path(os.environ.get("SMOLNB_HOME") or Path.home() / ".smolnb").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_model() -> str:
    """The model used when none is named: `SMOLNB_MODEL`, else the local Qwen2.5-Coder 0.5B."""
    return os.environ.get("SMOLNB_MODEL") or DEFAULT_MODEL
