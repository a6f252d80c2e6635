"""Importing a heavy dependency so that an interrupt cannot leave it half made.

Ctrl-C during the first model call lands inside `import litellm` more often than not (it takes
seconds). Python drops the module whose import failed, but submodules that finished stay in
`sys.modules`, holding the half-made package object, and every later call then fails until the
kernel restarts. `import_whole` drops the package and all its submodules when the import does
not finish, so the next call imports it again, whole.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["import_whole"]


def import_whole(name: str) -> types.ModuleType:
    module = sys.modules.get(name)
    if module is not None:  # (None there means "not installed": importlib raises ImportError)
        return module
    before = set(sys.modules)
    try:
        return importlib.import_module(name)
    except BaseException:
        root = name.split(".", 1)[0]
        for added in [m for m in sys.modules if m not in before and (m == root or m.startswith(root + "."))]:
            sys.modules.pop(added, None)
        raise
