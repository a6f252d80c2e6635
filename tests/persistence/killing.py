"""Start a worker script against the scripted server and SIGKILL it at a chosen moment."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import replies


def step_of(body):
    """How many steps the conversation of a request has done (its assistant messages)."""
    return replies(body["messages"])


def kill_after(server, script: Path, args: list[str], kill_at: int, delay: float) -> None:
    """Run `script args...`; SIGKILL it `delay` seconds after the server saw `kill_at` requests."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, str(script), *args], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(server.requests) < kill_at and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
