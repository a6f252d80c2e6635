"""Values that cross a process boundary in formats that cannot run code.

A sandboxed worker may be under the control of the code it runs, so what it sends is never
unpickled: plain data travels as tagged JSON, numeric arrays as their raw bytes, DataFrames
and Series as Arrow IPC. Every blob is a separate frame after the JSON header, so a
DataFrame of a million rows costs one memory copy each way, not a serialisation pass.

`encode` returns `(tree, blobs)`; `decode(tree, blobs)` rebuilds the value. A value that has
no safe encoding raises `Unsupported`, which callers report by name and type.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import fractions
import math
from typing import Any

__all__ = ["Unsupported", "decode", "encode"]

_MAX_DEPTH = 64


class Unsupported(TypeError):  # noqa: N818 - reads as a sentence: "raise Unsupported('a set')"
    """The value has no encoding that is safe to decode in another process."""


def encode(value: Any, blobs: list[bytes | memoryview] | None = None) -> tuple[Any, list[bytes | memoryview]]:
    """The value as a JSON tree; binary parts are appended to `blobs` and named by index."""
    blobs = [] if blobs is None else blobs
    return _enc(value, blobs, 0), blobs


def _enc(v: Any, blobs: list[bytes | memoryview], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise Unsupported("nested too deeply")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if -(2**53) < v < 2**53 else {"$": "int", "v": str(v)}
    if t is float:
        return v if math.isfinite(v) else {"$": "float", "v": repr(v)}
    if t is list:
        return [_enc(x, blobs, depth + 1) for x in v]
    if t is tuple:
        return {"$": "tuple", "v": [_enc(x, blobs, depth + 1) for x in v]}
    if t is dict:
        if all(type(k) is str and k != "$" for k in v):
            return {k: _enc(x, blobs, depth + 1) for k, x in v.items()}
        return {"$": "dict", "v": [[_enc(k, blobs, depth + 1), _enc(x, blobs, depth + 1)] for k, x in v.items()]}
    if t is set or t is frozenset:
        return {"$": t.__name__, "v": [_enc(x, blobs, depth + 1) for x in v]}
    if t is bytes or t is bytearray:
        blobs.append(bytes(v))
        return {"$": t.__name__, "b": len(blobs) - 1}
    if t is complex:
        return {"$": "complex", "v": [v.real, v.imag]}
    if t is decimal.Decimal:
        return {"$": "decimal", "v": str(v)}
    if t is fractions.Fraction:
        return {"$": "fraction", "v": [str(v.numerator), str(v.denominator)]}
    if t is _dt.datetime or t is _dt.date or t is _dt.time:
        if getattr(v, "tzinfo", None) is not None and v.tzinfo is not _dt.UTC:
            raise Unsupported("a datetime with a time zone other than UTC")
        return {"$": t.__name__, "v": v.isoformat()}
    if t is _dt.timedelta:
        return {"$": "timedelta", "v": [v.days, v.seconds, v.microseconds]}
    module = getattr(t, "__module__", "") or ""
    if module.startswith("numpy"):
        return _enc_numpy(v, blobs)
    if module.startswith("pandas"):
        return _enc_pandas(v, blobs)
    raise Unsupported(f"a {t.__module__}.{t.__qualname__}")


def _enc_numpy(v: Any, blobs: list[bytes | memoryview]) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        if v.dtype.hasobject or v.dtype.fields is not None:
            raise Unsupported(f"a numpy array of dtype {v.dtype}")
        data = np.ascontiguousarray(v)
        raw: Any = data.view(np.uint8) if data.dtype.kind in "mM" else data  # datetimes: their int64 bytes
        blobs.append(memoryview(raw).cast("B") if data.size else b"")
        return {"$": "ndarray", "dtype": data.dtype.str, "shape": list(data.shape), "b": len(blobs) - 1}
    if isinstance(v, np.generic) and not isinstance(v, np.object_):
        return {"$": "npscalar", "dtype": v.dtype.str, "v": _enc(v.item(), blobs, 0)}
    raise Unsupported(f"a numpy {type(v).__name__}")


def _enc_pandas(v: Any, blobs: list[bytes | memoryview]) -> Any:
    import pandas as pd
    import pyarrow as pa

    fast = _enc_numeric_frame(v, blobs)
    if fast is not None:
        return fast
    if isinstance(v, pd.Series):
        frame, kind = v.to_frame(name="__value__" if v.name is None else v.name), "series"
    elif isinstance(v, pd.DataFrame):
        frame, kind = v, "frame"
    else:
        raise Unsupported(f"a pandas {type(v).__name__}")
    try:
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise Unsupported(f"a pandas {type(v).__name__} Arrow cannot hold ({exc})") from None
    # Size the stream first (no copy), then write it once into a buffer of that size: a
    # growing buffer would copy 40 MB several times over.
    mock = pa.MockOutputStream()
    with pa.ipc.new_stream(mock, table.schema) as writer:
        writer.write_table(table)
    buffer = pa.allocate_buffer(mock.size())
    with pa.ipc.new_stream(pa.FixedSizeBufferWriter(buffer), table.schema) as writer:
        writer.write_table(table)
    blobs.append(memoryview(buffer))
    return {"$": kind, "b": len(blobs) - 1, "unnamed": kind == "series" and v.name is None}


def _enc_numeric_frame(v: Any, blobs: list[bytes | memoryview]) -> Any:
    """A DataFrame of plain numpy columns (numbers, bools, datetimes) and a RangeIndex.

    It crosses as its column buffers themselves, with no Arrow conversion (a 40 MB frame: one
    copy each way); None for any other frame.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(v, pd.DataFrame) or not isinstance(v.index, pd.RangeIndex) or v.columns.has_duplicates:
        return None
    if not all(type(c) is str for c in v.columns):
        return None
    columns = []
    arrays = []
    for name in v.columns:
        dtype = v[name].dtype
        if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.kind not in "biufcmM":
            return None
        arrays.append(np.ascontiguousarray(v[name].to_numpy()))
    for name, array in zip(v.columns, arrays, strict=True):
        raw: Any = array.view(np.uint8) if array.dtype.kind in "mM" else array  # datetimes: their int64 bytes
        blobs.append(memoryview(raw).cast("B") if array.size else b"")
        columns.append([name, array.dtype.str, len(blobs) - 1])
    index = v.index
    return {"$": "npframe", "columns": columns, "index": [index.start, index.stop, index.step], "rows": len(v)}


def decode(tree: Any, blobs: list[Any]) -> Any:
    if isinstance(tree, list):
        return [decode(x, blobs) for x in tree]
    if not isinstance(tree, dict):
        return tree
    tag = tree.get("$")
    if tag is None:
        return {k: decode(x, blobs) for k, x in tree.items()}
    if tag == "int":
        return int(tree["v"])
    if tag == "float":
        return float(tree["v"])
    if tag == "tuple":
        return tuple(decode(x, blobs) for x in tree["v"])
    if tag == "dict":
        return {decode(k, blobs): decode(x, blobs) for k, x in tree["v"]}
    if tag == "set":
        return {decode(x, blobs) for x in tree["v"]}
    if tag == "frozenset":
        return frozenset(decode(x, blobs) for x in tree["v"])
    if tag == "bytes":
        return bytes(blobs[tree["b"]])
    if tag == "bytearray":
        return bytearray(blobs[tree["b"]])
    if tag == "complex":
        return complex(*tree["v"])
    if tag == "decimal":
        return decimal.Decimal(tree["v"])
    if tag == "fraction":
        return fractions.Fraction(int(tree["v"][0]), int(tree["v"][1]))
    if tag in ("datetime", "date", "time"):
        return getattr(_dt, tag).fromisoformat(tree["v"])
    if tag == "timedelta":
        return _dt.timedelta(*tree["v"])
    if tag == "ndarray":
        import numpy as np

        dtype = np.dtype(tree["dtype"])
        if dtype.hasobject:
            raise Unsupported("an object array")
        array = np.frombuffer(blobs[tree["b"]], dtype=dtype).reshape(tree["shape"])
        return array if array.flags.writeable else array.copy()
    if tag == "npscalar":
        import numpy as np

        return np.dtype(tree["dtype"]).type(decode(tree["v"], blobs))
    if tag == "npframe":
        import numpy as np
        import pandas as pd

        data = {}
        for name, dtype, index in tree["columns"]:
            array = np.frombuffer(blobs[index], dtype=np.dtype(dtype))
            data[name] = array if array.flags.writeable else array.copy()
        start, stop, step = tree["index"]
        return pd.DataFrame(data, index=pd.RangeIndex(start, stop, step), copy=False)
    if tag in ("frame", "series"):
        import pyarrow as pa

        table = pa.ipc.open_stream(pa.py_buffer(blobs[tree["b"]])).read_all()
        frame = table.to_pandas(split_blocks=True)  # a block per column: no consolidation copy
        if tag == "series":
            series = frame.iloc[:, 0]
            return series.rename(None) if tree.get("unnamed") else series
        return frame
    raise Unsupported(f"unknown tag {tag!r}")
