import importlib
import pkgutil
import subprocess
import sys

import smolnb


def test_all_is_honest():
    for name in smolnb.__all__:
        assert getattr(smolnb, name) is not None
    for info in pkgutil.walk_packages(smolnb.__path__, "smolnb."):
        if info.name.endswith(("_worker", "__main__")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"


def test_import_is_light():
    code = "import sys, smolnb; print(sorted(m for m in ('litellm', 'asyncio', 'openai', 'httpx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
