"""Unpickling that admits data, never a call the pickle chose.

A pickle names the callables it wants run when loaded. Snapshots of the agent's variables
and the subprocess worker's messages were written by code the model controls, so they are
read with `loads`, which resolves only classes (never functions) from modules the execution
policy would let code import, plus the handful of reconstructors numpy and pandas pickle
their data with. Anything else is an `UnpicklingError` that names what was refused.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

__all__ = ["loads"]

# Module functions data libraries pickle their objects with (they rebuild, they do not act).
_RECONSTRUCTORS = {
    ("copyreg", "_reconstructor"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "dtype"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.internals.blocks", "new_block"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
    ("pandas._libs.tslibs.nattype", "_nat_unpickle"),
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
    ("pandas.core.indexes.period", "_new_PeriodIndex"),
    ("pyarrow.lib", "_restore_array"),
    ("pyarrow.lib", "py_buffer"),
    ("pyarrow.lib", "type_for_alias"),
    ("pyarrow.lib", "_reconstruct_table"),
    ("pyarrow.lib", "_reconstruct_record_batch"),
    ("pyarrow.lib", "schema"),
    ("pyarrow.lib", "field"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas.core.arrays.categorical", "_new_Categorical"),
    ("pandas._libs.tslibs.offsets", "_unpickle"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("collections", "OrderedDict"),
    ("datetime", "datetime"),
    ("builtins", "complex"),
    ("builtins", "object"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("builtins", "range"),
}
_SMOLNB_DATA = {("smolnb.executor.base", "ExecResult")}
_REFUSED_CLASSES = {"memmap", "HDFStore", "ExcelWriter", "Popen"}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCTORS or (module, name) in _SMOLNB_DATA:
            return super().find_class(module, name)
        from .policy import DEFAULT_IMPORTS

        policy = _policy()
        if module == "builtins" or not (
            policy.is_allowed_module(module) or module.split(".")[0] in _DATA_ROOTS | DEFAULT_IMPORTS
        ):
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: only data types may be restored")
        if name.startswith("_") or name in _REFUSED_CLASSES:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        value = super().find_class(module, name)
        if not isinstance(value, type) or _is_forbidden(value):
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: not a data class")
        return value


_DATA_ROOTS = frozenset({"numpy", "pandas", "pyarrow", "collections", "datetime", "decimal", "fractions", "zoneinfo", "uuid"})
_POLICY: Any = None


def _policy() -> Any:
    global _POLICY
    if _POLICY is None:
        from .policy import Policy

        _POLICY = Policy()
    return _POLICY


def _is_forbidden(cls: type) -> bool:
    from .policy import FORBIDDEN_MODULES

    module = getattr(cls, "__module__", "") or ""
    parts = module.split(".")
    return any(".".join(parts[: i + 1]) in FORBIDDEN_MODULES for i in range(len(parts)))


def loads(data: bytes) -> Any:
    """`pickle.loads` for bytes written by code the model controls."""
    return _Unpickler(io.BytesIO(data)).load()
