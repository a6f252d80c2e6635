"""Loopback ports for the servers smolnb starts (the local model, Neo4j), and stopping them."""

from __future__ import annotations

import socket
import subprocess

__all__ = ["free_port", "port_taken", "stop_process"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether something already holds `port` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Ask `proc` to stop (SIGTERM), and kill it if it has not within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
