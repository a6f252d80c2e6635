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


def test_every_setting_is_read_in_config_and_listed_there():
    """A SMOLNB_* variable is read only through smolnb.config.setting, so its table is the whole
    list of what a user can set (variables a parent hands its worker are _SMOLNB_*)."""
    import re
    from pathlib import Path

    from smolnb.config import SETTINGS

    package = Path(__file__).resolve().parents[1] / "smolnb"
    direct, named = [], set()
    for path in package.rglob("*.py"):
        text = path.read_text()
        if path.name != "config.py":
            direct += [
                f"{path.name}: {m}" for m in re.findall(r"(?:environ(?:\.get)?\(|environ\[|getenv\()\s*[\"']SMOLNB_\w+", text)
            ]
        named |= set(re.findall(r"setting\([\"'](SMOLNB_\w+)[\"']\)", text))
    assert direct == []
    assert named <= set(SETTINGS), named - set(SETTINGS)
    assert {"SMOLNB_HOME", "SMOLNB_MODEL", "SMOLNB_GRAPH", "SMOLNB_VECTORS", "SMOLNB_PHOENIX_URL"} <= named
