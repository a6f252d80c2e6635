"""A memory budget for code that runs in this process.

While any block runs, the process's address space may grow by at most the budget
(RLIMIT_AS, set on entry of the first block and restored when the last one ends). A single
operation that would allocate past it (`"a" * 10**10`, a list of ten billion items, a string
doubled until it fills the machine) then fails with `MemoryError`, which the executor reports,
instead of the kernel being killed by the machine's out-of-memory killer.
"""

from __future__ import annotations

import os
import resource
import threading

__all__ = ["MemoryBudget", "budget"]


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _address_space() -> int:
    """This process's virtual size in bytes (the first field of /proc/self/statm, in pages)."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            return int(os.read(fd, 128).split()[0]) * _PAGE
        finally:
            os.close(fd)
    except (OSError, ValueError, IndexError):
        return 0


class MemoryBudget:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved: tuple[int, int] | None = None

    def enter(self, megabytes: int | None) -> bool:
        """Start a block; returns whether it must call `leave`."""
        if not megabytes:
            return False
        with self._lock:
            if self._active == 0:
                used = _address_space()
                if not used:
                    return False
                soft, hard = resource.getrlimit(resource.RLIMIT_AS)
                limit = used + (megabytes << 20)
                if soft != resource.RLIM_INFINITY:
                    limit = min(limit, soft)
                try:
                    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
                except (ValueError, OSError):
                    return False
                self._saved = (soft, hard)
            self._active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._saved is not None:
                resource.setrlimit(resource.RLIMIT_AS, self._saved)
                self._saved = None


budget = MemoryBudget()
