"""The tool registry: several versions per tool, loaded from anywhere, resolved before a run.

Tools come from functions and `Tool` objects, module paths (`pkg.mod:func`), folders of
`.py` files, the `smolnb.tools` entry-point group of installed packages, and MCP servers over
stdio. Each keeps where it came from (`tool.source`). A new version is compared with the one
before it: an incompatible change to its inputs or output needs a major version bump.
`resolve([...])` orders tool-on-tool dependencies, checks declared packages against what is
installed, and reports every problem in one message with the `pip install` that fixes it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..errors import UserError, did_you_mean
from .tool import Tool
from .toolset import as_tool

__all__ = ["ToolRegistry", "ToolResolutionError", "breaking_changes", "parse_pin", "registry"]

_PIN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(.*)$")


class ToolResolutionError(UserError):
    """Tools, versions or packages a set of tools needs are missing; the message lists them all."""


def parse_pin(spec: str) -> tuple[str, SpecifierSet]:
    """`"geocode>=1.2,<2"` -> ("geocode", SpecifierSet(">=1.2,<2"))."""
    match = _PIN.match(spec)
    if not match:
        raise UserError(f"{spec!r} is not a tool pin: write a name, optionally with a range, e.g. 'geocode>=1.2,<2'")
    try:
        return match.group(1), SpecifierSet(match.group(2).strip())
    except Exception as exc:  # noqa: BLE001 - InvalidSpecifier
        raise UserError(f"{spec!r}: bad version range ({exc}); e.g. 'geocode>=1.2,<2'") from None


def breaking_changes(old: Tool, new: Tool) -> list[str]:
    """Changes from `old` to `new` that break callers.

    Removed or renamed inputs, changed types, new required inputs, a changed output type.
    """
    changes = []
    for name, spec in old.inputs.items():
        if name not in new.inputs:
            changes.append(f"input {name!r} was removed or renamed")
        elif new.inputs[name].get("type", "any") != spec.get("type", "any"):
            changes.append(f"input {name!r} changed type {spec.get('type')} -> {new.inputs[name].get('type')}")
    for name, spec in new.inputs.items():
        required = not (spec.get("nullable") or "default" in spec)
        if name not in old.inputs and required:
            changes.append(f"new required input {name!r}")
    if old.output_type != new.output_type:
        changes.append(f"output changed type {old.output_type} -> {new.output_type}")
    return changes


@lru_cache(maxsize=256)
def _import_name(distribution: str) -> tuple[str, ...]:
    """Top-level modules a distribution provides (for authorized imports)."""
    wanted = distribution.lower().replace("_", "-")
    names = [module for module, dists in _distributions().items() if any(d.lower().replace("_", "-") == wanted for d in dists)]
    return tuple(names) or (distribution.replace("-", "_"),)


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


class ToolRegistry:
    """Named tools, each with one or more versions."""

    def __init__(self) -> None:
        self._tools: dict[str, dict[Version, Tool]] = {}

    # -- registering ------------------------------------------------------------------------------

    def register(self, obj: Tool | Callable[..., Any], *, source: str | None = None, allow_breaking: bool = False) -> Tool:
        """Add a tool version. A breaking change without a major bump is refused, listing the changes."""
        item = as_tool(obj)
        if source:
            item.source = source
        versions = self._tools.setdefault(item.name, {})
        version = Version(item.version)
        older = [v for v in versions if v <= version]
        if older and not allow_breaking:
            previous = versions[max(older)]
            changes = breaking_changes(previous, item)
            if changes and version.major == max(older).major:
                raise UserError(
                    f"tool {item.name!r} {item.version} breaks callers of {previous.version}: {'; '.join(changes)}. "
                    f"Bump the version to {max(older).major + 1}.0.0, or pass allow_breaking=True."
                )
        versions[version] = item
        return item

    def unregister(self, name: str, version: str | None = None) -> None:
        versions = self._tools.get(name)
        if not versions:
            raise UserError(f"no tool named {name!r} in the registry.{did_you_mean(name, self._tools)}")
        if version is None:
            del self._tools[name]
        else:
            versions.pop(Version(version), None)
            if not versions:
                del self._tools[name]

    def get(self, spec: str) -> Tool:
        """The newest version matching a pin such as `"geocode>=1.2,<2"` (or a bare name)."""
        name, specifier = parse_pin(spec)
        versions = self._tools.get(name)
        if not versions:
            raise UserError(f"no tool named {name!r} is registered.{did_you_mean(name, self._tools)}")
        matching = [v for v in versions if v in specifier]
        if not matching:
            have = ", ".join(str(v) for v in sorted(versions))
            raise UserError(f"no version of {name!r} matches {str(specifier)!r}; registered: {have}")
        return versions[max(matching)]

    def versions(self, name: str) -> list[str]:
        return [str(v) for v in sorted(self._tools.get(name, {}))]

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    # -- loading ----------------------------------------------------------------------------------

    def load(self, spec: str) -> list[Tool]:
        """Load tools from a spec.

        A spec is `pkg.mod:func`, `pkg.mod` (all its tools), a `.py` file or a folder of them,
        `entrypoints` (the `smolnb.tools` group), or `mcp:COMMAND ARGS...`.
        """
        if spec.startswith("mcp:"):
            import shlex

            from .mcp import load_mcp_tools

            return [self.register(t) for t in load_mcp_tools(shlex.split(spec[4:]))]
        if spec == "entrypoints":
            return self.load_entry_points()
        path = Path(spec).expanduser()
        if path.is_dir():
            return [t for file in sorted(path.glob("*.py")) if not file.name.startswith("_") for t in self._load_file(file)]
        if path.suffix == ".py" and path.exists():
            return self._load_file(path)
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UserError(
                f"cannot load tools from {spec!r}: {exc}. Give 'package.module:function', a .py file or a folder."
            ) from None
        if attr:
            target = getattr(module, attr, None)
            if target is None:
                raise UserError(f"module {module_name!r} has no {attr!r}.{did_you_mean(attr, dir(module))}")
            return [self.register(target, source=spec)]
        return self._register_module(module, spec)

    def _load_file(self, path: Path) -> list[Tool]:
        name = f"smolnb_tools_{path.stem}_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UserError(f"cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return self._register_module(module, str(path))

    def _register_module(self, module: Any, source: str) -> list[Tool]:
        found = [value for value in vars(module).values() if isinstance(value, Tool)]
        return [self.register(item, source=source) for item in found]

    def load_entry_points(self, group: str = "smolnb.tools") -> list[Tool]:
        """Tools that installed packages declare under the entry-point group `smolnb.tools`."""
        loaded = []
        for entry in importlib.metadata.entry_points(group=group):
            target = entry.load()
            # an entry point names a tool, a list of tools, or a function without arguments returning them
            items = target() if callable(target) and not isinstance(target, Tool) and _is_factory(target) else target
            for item in items if isinstance(items, list | tuple) else [items]:
                loaded.append(self.register(item, source=f"entry point {entry.name} ({entry.value})"))
        return loaded

    # -- resolving --------------------------------------------------------------------------------

    def resolve(self, pins: Iterable[str | Tool]) -> list[Tool]:
        """The tools `pins` name plus the tools they use, dependencies first.

        Raises `ToolResolutionError` listing every missing tool, unmatched version, cycle and
        missing or outdated package at once.
        """
        problems: list[str] = []
        packages: list[str] = []
        chosen: dict[str, Tool] = {}
        order: list[Tool] = []

        def pick(spec: str | Tool) -> Tool | None:
            if isinstance(spec, Tool):
                return spec
            try:
                return self.get(spec)
            except UserError as exc:
                problems.append(str(exc))
                return None

        def visit(item: Tool, path: list[str]) -> None:
            if item.name in chosen:
                return
            for dep in item.uses:
                name, specifier = parse_pin(dep)
                if name in path or name == item.name:
                    loop = path[path.index(name) :] if name in path else []
                    problems.append(f"tool dependency cycle: {' -> '.join(loop + [item.name, name])}")
                    continue
                if name in chosen:
                    if Version(chosen[name].version) not in specifier:
                        problems.append(f"{item.name} needs {dep}, but {name} {chosen[name].version} is in use")
                    continue
                found = pick(dep)
                if found is not None:
                    visit(found, path + [item.name])
            for requirement in item.requires:
                problem = _check_package(requirement, item.name)
                if problem:
                    problems.append(problem[0])
                    packages.append(problem[1])
            chosen[item.name] = item
            order.append(item)

        for spec in pins:
            found = pick(spec)
            if found is not None:
                visit(found, [])
        if problems:
            fix = f"\nFix the packages with: pip install {' '.join(repr(p) for p in dict.fromkeys(packages))}" if packages else ""
            raise ToolResolutionError("the tools cannot run:\n- " + "\n- ".join(dict.fromkeys(problems)) + fix)
        return order

    @staticmethod
    def import_names(tools: Iterable[Tool]) -> set[str]:
        """Modules code may import because the tools it uses declare their packages."""
        names: set[str] = set()
        for item in tools:
            for requirement in item.requires:
                names.update(_import_name(Requirement(requirement).name))
        return names


def _is_factory(target: Any) -> bool:
    import inspect

    try:
        return not inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


@lru_cache(maxsize=1024)
def _check_package(requirement: str, tool_name: str) -> tuple[str, str] | None:
    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        return f"{tool_name} declares a bad requirement {requirement!r} ({exc})", requirement
    try:
        installed = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return f"{tool_name} needs the package {requirement}, which is not installed", requirement
    if req.specifier and Version(installed) not in req.specifier:
        return f"{tool_name} needs {requirement}, but {req.name} {installed} is installed", requirement
    return None


def _global_registry() -> ToolRegistry:
    from .builtin import BUILTIN_TOOLS

    reg = ToolRegistry()
    for item in BUILTIN_TOOLS:
        reg.register(item, source="builtin")
    return reg


registry = _global_registry()
"""The global registry (`%agent tools add` and `agent.tools.add("name>=1.0")` use it), built-ins included."""
