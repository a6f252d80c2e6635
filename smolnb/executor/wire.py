"""Framing for the sandbox's pipes: a JSON header and raw binary frames, never pickle.

One message: `!QI` (header length, blob count), the blob lengths (`!Q` each), the JSON header,
then the blobs. Large blobs are written and read in place (`os.write` / `readinto` on the
file descriptor), so a 40 MB array crosses with one copy on each side.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
from typing import Any

from .codec import decode, encode

__all__ = ["enlarge_pipe", "pack_value", "read_message", "unpack_value", "write_message"]

_HEAD = struct.Struct("!QI")
_LEN = struct.Struct("!Q")
_F_SETPIPE_SZ = 1031
MAX_HEADER = 256 << 20


def enlarge_pipe(fd: int, size: int = 1 << 20) -> None:
    """Ask for a 1 MB pipe buffer (64 KB by default): fewer wake-ups per large transfer."""
    try:
        fcntl.fcntl(fd, _F_SETPIPE_SZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_message(fd: int, header: dict[str, Any], blobs: list[bytes | memoryview] = ()) -> None:  # type: ignore[assignment]
    body = json.dumps(header, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")
    sizes = [memoryview(b).nbytes for b in blobs]
    prefix = _HEAD.pack(len(body), len(blobs)) + b"".join(_LEN.pack(n) for n in sizes)
    if sum(sizes) < (1 << 16):
        _write_all(fd, prefix + body + b"".join(bytes(b) for b in blobs))
        return
    _write_all(fd, prefix + body)
    for blob in blobs:
        _write_all(fd, blob)


def _read_exact(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the other side closed its pipe")
        got += n
    return buffer


def read_message(fd: int, *, max_blob: int = 8 << 30) -> tuple[dict[str, Any], list[bytearray]]:
    header_len, count = _HEAD.unpack(_read_exact(fd, _HEAD.size))
    if header_len > MAX_HEADER or count > 1 << 20:
        raise ValueError("a malformed message (header or blob count too large)")
    sizes = [_LEN.unpack(_read_exact(fd, _LEN.size))[0] for _ in range(count)]
    if any(n > max_blob for n in sizes):
        raise ValueError("a malformed message (a blob over the size limit)")
    header = json.loads(_read_exact(fd, header_len).decode("utf-8", "surrogatepass"))
    if not isinstance(header, dict):
        raise ValueError("a malformed message (the header is not an object)")
    return header, [_read_exact(fd, n) for n in sizes]


def pack_value(value: Any) -> tuple[Any, list[bytes | memoryview]]:
    """`codec.encode`, re-exported for the two ends of the pipe."""
    return encode(value)


def unpack_value(tree: Any, blobs: list[Any]) -> Any:
    return decode(tree, blobs)
