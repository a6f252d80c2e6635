"""Every setting smolnb reads from the environment, in one place.

`SMOLNB_HOME` decides where runs, graphs, vectors and models live; `setting(NAME)` is the only
way the package reads a `SMOLNB_*` variable (a test holds it to that), so this table is the
whole list a user can set. Variables a parent process hands to its own worker are named
`_SMOLNB_*` and are not settings.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_MODEL", "SETTINGS", "count_setting", "default_model", "home", "setting"]

DEFAULT_MODEL = "local/qwen2.5-coder-0.5b"

# name -> (default, what it does)
SETTINGS: dict[str, tuple[str, str]] = {
    "SMOLNB_HOME": ("", "where runs, memory and assembled models live (default ~/.smolnb)"),
    "SMOLNB_MODEL": (DEFAULT_MODEL, "the model used when none is named"),
    "SMOLNB_MODELS": ("", "where local GGUF weights are assembled (default SMOLNB_HOME/models)"),
    "SMOLNB_LOCAL_PORT": ("0", "the local model server's port on 127.0.0.1 (0: a free one)"),
    "SMOLNB_LOCAL_THREADS": ("", "the local model server's threads (default: the cores no other program is busy on)"),
    "SMOLNB_GRAPH": ("", "the graph memory's URI (networkx://PATH or neo4j://...; default under SMOLNB_HOME)"),
    "SMOLNB_VECTORS": ("", "the vector memory's URI (lancedb://PATH; default under SMOLNB_HOME)"),
    "SMOLNB_MEMORY": ("on", "whether %%agent uses the session's long-term memory"),
    "SMOLNB_MEMORY_SCOPE": ("", "a shared memory scope's name (default: one per project folder)"),
    "SMOLNB_KEEP_RUNS": ("10000", "how many runs the run store keeps"),
    "SMOLNB_REDACT": ("", "extra patterns to redact, comma-separated regular expressions"),
    "SMOLNB_LOG_FORMAT": ("", "json for JSON log lines"),
    "SMOLNB_LOG_LEVEL": ("WARNING", "the command line's log level"),
    "SMOLNB_JUDGE_MODEL": ("", "the model that grades `judge` scorers"),
    "SMOLNB_EVAL_EMBEDDER": ("", "hash: evals use the deterministic test embedder"),
    "SMOLNB_SANDBOX_POOL": ("1", "how many confined sandbox workers are kept started"),
    "SMOLNB_PHOENIX_URL": ("", "the Phoenix trace viewer, for %agent trace links"),
    "SMOLNB_NEO4J_JAR": ("", "the embedded Neo4j launcher's jar (default: the one make neo4j-server builds)"),
}


def setting(name: str) -> str:
    """The value of the setting `name` (one of `SETTINGS`): the environment's, else its default."""
    default, _ = SETTINGS[name]
    return os.environ.get(name) or default


def count_setting(name: str, what: str, minimum: int = 1) -> int | None:
    """The setting `name` as a whole number of at least `minimum` (None when empty); else a UserError naming the form."""
    given = setting(name).strip()
    if not given:
        return None
    if not given.isdigit() or int(given) < minimum:
        from .errors import UserError

        raise UserError(f"{name}={given!r}: give {what}, e.g. {name}={max(minimum, 2)}")
    return int(given)


def home() -> Path:
    """The directory for smolnb's state (`SMOLNB_HOME`, else `~/.smolnb`), created on demand."""
    path = Path(setting("SMOLNB_HOME") or Path.home() / ".smolnb").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_model() -> str:
    """The model used when none is named: `SMOLNB_MODEL`, else the local Qwen2.5-Coder 0.5B."""
    return setting("SMOLNB_MODEL")
