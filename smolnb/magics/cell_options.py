"""`%%agent`'s options: what the cell line takes, and its part of the help."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError

__all__ = ["CELL_HELP", "CellOptions"]

CELL_HELP = """\
%%agent [-m MODEL] [-o VAR] [--max-steps N] [--tools a,b] [--imports a,b] [--no-memory] [--name NAME] [-b]
        [--batch [--concurrency N]] [--sandbox] [--approve]
<the task, free text; with --batch, one task a line>
    Run a code agent on the task. Its code runs in this notebook's namespace.
    -o VAR binds the answer to VAR; the full result is always in `_agent`.
    -b / --background returns at once: other cells run while the trace keeps updating.
    --sandbox runs the code in a kernel-confined process (same as %agent config executor=sandbox).
    --approve asks before each code block runs: Enter runs it, s skips it, e edits it (the
    decision is in the trace; %agent config approve=on makes it the default). The trace has a
    Stop button; %agent undo takes back what the run did to your variables.

Where the agent's code runs (executor):
    local      in this kernel, at native speed, under a policy: authorized imports only, no
               dunder or frame walks, reads but no writes, a time limit it cannot swallow, a
               memory budget. It stops common escapes and accidents; it is not a boundary.
    sandbox    a child process the kernel confines (Landlock: reads Python and system files,
               writes only its scratch directory; seccomp: no sockets, no new programs or
               processes; no secret of the kernel in its environment), with the same policy
               inside. The boundary for code you do not trust. It sees the variables the
               task uses (DataFrames and arrays cross as Arrow and raw frames) and what it
               creates or changes comes back; objects of its own classes stay inside.
    subprocess a plain child process with memory and CPU limits: isolates crashes, not secrets.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print and exit; a notebook wants an error
        raise UsageError(
            f"%%agent: {message}. Usage: %%agent [-m MODEL] [-o VAR] [--max-steps N] [--tools a,b] [--no-memory] [--name NAME]"
        )


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%agent", add_help=False)
    parser.add_argument("-m", "--model")
    parser.add_argument("-o", "--output")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--tools", default="")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--name")
    parser.add_argument("--executor")
    parser.add_argument("--sandbox", action="store_true")
    parser.add_argument("--imports", default="")
    parser.add_argument("--background", "-b", action="store_true")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--approve", action="store_true")
    return parser


@dataclass
class CellOptions:
    model: str | None
    output: str | None
    max_steps: int | None
    tools: list[str]
    no_memory: bool
    name: str | None
    executor: str | None
    imports: list[str]
    background: bool = False
    batch: bool = False
    concurrency: int = 8
    approve: bool = False
