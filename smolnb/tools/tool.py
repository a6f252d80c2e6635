"""Tools: typed Python callables the agent can use, built from a signature and a docstring."""

from __future__ import annotations

import contextvars
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypedDict, Union, Unpack, get_args, get_origin, overload

from ..errors import ToolError, UserError

__all__ = ["FunctionTool", "Tool", "ToolOptions", "current_call_key", "tool"]

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    tuple: "array",
    dict: "object",
    type(None): "null",
}
_PY_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}
_SEMVER = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")


def _json_type(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return "any"
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = [_json_type(a) for a in get_args(annotation) if a is not type(None)]
        return kinds[0] if len(set(kinds)) == 1 else "any"
    if origin is not None:
        annotation = origin
    return _JSON_TYPES.get(annotation, "any")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str], str]:
    """Split a Google docstring into (summary, {arg: description}, returns description)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    returns: list[str] = []
    section = "summary"
    current = None
    for line in lines:
        stripped = line.strip()
        header = stripped.rstrip(":").lower()
        if stripped.endswith(":") and header in {
            "args",
            "arguments",
            "parameters",
            "returns",
            "return",
            "raises",
            "example",
            "examples",
        }:
            section = {"arguments": "args", "parameters": "args", "return": "returns"}.get(header, header)
            continue
        if section == "summary":
            summary.append(stripped)
        elif section == "args":
            match = re.match(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            if match and not line.startswith(" " * 8):
                current = match.group(1).lstrip("*")
                args[current] = match.group(3)
            elif current and stripped:
                args[current] += " " + stripped
        elif section == "returns" and stripped:
            returns.append(stripped)
    return " ".join(s for s in summary if s).strip(), args, " ".join(returns)


class Tool:
    """A tool the agent can call. Subclass it for stateful tools, or use `@tool`.

    A subclass sets `name`, `description`, `inputs` (name -> {"type", "description",
    "nullable"?}), `output_type`, and implements `forward(**kwargs)`.

    Example:
        >>> class Counter(Tool):
        ...     name = "count"
        ...     description = "Count calls so far."
        ...     inputs = {}
        ...     output_type = "integer"
        ...     def __init__(self):
        ...         self.n = 0
        ...     def forward(self):
        ...         self.n += 1
        ...         return self.n
    """

    name: str = ""
    description: str = ""
    inputs: ClassVar[dict[str, dict[str, Any]]] = {}
    output_type: str = "any"
    version: str = "0.1.0"
    requires: tuple[str, ...] = ()  # Python packages, with version specifiers
    uses: tuple[str, ...] = ()  # other tools it calls, with version ranges ("geocode>=1.2,<2")
    source: str = "code"  # where it came from: code, a module path, a file, an entry point, an MCP server
    side_effects: bool = True  # False: pure, so a resumed run may call it again
    idempotent: bool = False  # True: it honours `current_call_key()`, so a call cut short by a crash runs again

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"tool {self.name!r} must implement forward()")

    # -- validation ---------------------------------------------------------------------------

    def _check_definition(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise UserError(f"a tool needs a name that is a Python identifier, got {self.name!r}")
        if not self.description:
            raise UserError(f"tool {self.name!r} needs a description (a docstring for @tool functions)")
        if not _SEMVER.match(self.version):
            raise UserError(f"tool {self.name!r} has version {self.version!r}: use semver such as '1.2.0'")

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Map positional and keyword arguments to inputs, checking names, presence and types."""
        names = list(self.inputs)
        if len(args) > len(names):
            raise ToolError(f"{self.name}() takes {len(names)} arguments but {len(args)} were given. Usage: {self.signature()}")
        bound = dict(zip(names, args, strict=False))  # fewer args than inputs: the rest by keyword
        for key, value in kwargs.items():
            if key not in self.inputs:
                raise ToolError(f"{self.name}() got an unexpected argument {key!r}. Usage: {self.signature()}")
            if key in bound:
                raise ToolError(f"{self.name}() got two values for {key!r}. Usage: {self.signature()}")
            bound[key] = value
        for key, spec in self.inputs.items():
            if key not in bound:
                if spec.get("nullable") or "default" in spec:
                    continue
                raise ToolError(f"{self.name}() is missing the argument {key!r}. Usage: {self.signature()}")
            value = bound[key]
            kind = spec.get("type", "any")
            if value is None and spec.get("nullable"):
                continue
            allowed = _PY_CHECKS.get(kind)
            if allowed and not (isinstance(value, allowed) and not (kind in {"integer", "number"} and isinstance(value, bool))):
                raise ToolError(
                    f"{self.name}() argument {key!r} must be {kind}, got {type(value).__name__} {value!r:.60}. "
                    f"Usage: {self.signature()}"
                )
        return bound

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bound = self.bind(args, kwargs)
        try:
            return self.forward(**bound)
        except ToolError:
            raise
        except Exception as exc:
            raise ToolError(f"tool {self.name!r} failed: {type(exc).__name__}: {exc}") from exc

    # -- description --------------------------------------------------------------------------

    def signature(self) -> str:
        """The call as the model should write it: `name(a: int, b: int) -> int`."""
        params = []
        for key, spec in self.inputs.items():
            optional = "?" if spec.get("nullable") or "default" in spec else ""
            params.append(f"{key}{optional}: {spec.get('type', 'any')}")
        return f"{self.name}({', '.join(params)}) -> {self.output_type}"

    def to_json_schema(self) -> dict[str, Any]:
        """The tool in OpenAI function-calling form."""
        properties = {}
        required = []
        for key, spec in self.inputs.items():
            prop: dict[str, Any] = {"description": spec.get("description", "")}
            if spec.get("type", "any") != "any":
                prop["type"] = spec["type"]
            properties[key] = prop
            if not (spec.get("nullable") or "default" in spec):
                required.append(key)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {"type": "object", "properties": properties, "required": required},
            },
        }

    def __repr__(self) -> str:
        return f"<Tool {self.signature()} v{self.version}>"


class FunctionTool(Tool):
    """A tool made from a plain function by `@tool`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        version: str = "0.1.0",
        requires: list[str] | tuple[str, ...] = (),
        uses: list[str] | tuple[str, ...] = (),
        side_effects: bool = True,
        idempotent: bool = False,
    ) -> None:
        self.fn = fn
        self.side_effects = side_effects
        self.idempotent = idempotent
        self.name = name or fn.__name__
        summary, arg_docs, returns = _parse_docstring(fn.__doc__ or "")
        self.description = description or summary
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # noqa: BLE001 - fall back to raw annotations
            hints = {}
        signature = inspect.signature(fn)
        inputs: dict[str, dict[str, Any]] = {}
        for pname, param in signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            spec: dict[str, Any] = {
                "type": _json_type(hints.get(pname, param.annotation)),
                "description": arg_docs.get(pname, ""),
            }
            if param.default is not param.empty:
                spec["default"] = param.default
            inputs[pname] = spec
        self.inputs = inputs  # type: ignore[misc]
        self.output_type = _json_type(hints.get("return", signature.return_annotation))
        self.returns = returns
        self.version = version
        self.requires = tuple(requires)
        self.uses = tuple(uses)
        self.source = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', self.name)}"
        self.__doc__ = fn.__doc__
        self._check_definition()

    def forward(self, **kwargs: Any) -> Any:
        return self.fn(**kwargs)


class ToolOptions(TypedDict, total=False):
    """What `@tool(...)` takes besides the function (the defaults are `FunctionTool`'s)."""

    name: str | None
    description: str | None
    version: str
    requires: list[str] | tuple[str, ...]
    uses: list[str] | tuple[str, ...]
    side_effects: bool
    idempotent: bool


@overload
def tool(fn: Callable[..., Any], **options: Unpack[ToolOptions]) -> FunctionTool: ...


@overload
def tool(fn: None = None, **options: Unpack[ToolOptions]) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    **options: Unpack[ToolOptions],
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a tool from a typed function with a Google-style docstring.

    Across a crash and resume (see `smolnb.agent.effects`): a call that finished is answered
    from its record, never run twice. A call cut short by the crash is not run again and the
    code is told it may have run, unless the tool is `idempotent=True` (it uses
    `current_call_key()` to apply its effect once) or `side_effects=False` (pure): those run again.

    Example:
        >>> @tool(version="1.1.0")
        ... def add(a: int, b: int) -> int:
        ...     '''Add two integers.
        ...
        ...     Args:
        ...         a: the first.
        ...         b: the second.
        ...     '''
        ...     return a + b
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, **options)

    return wrap(fn) if fn is not None else wrap


_CALL_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("smolnb_call_key", default=None)


def current_call_key() -> str | None:
    """While a tool runs for an agent: a key unique to this call.

    It stays the same when a resumed run makes the call again (an idempotency key, e.g. for an API
    that accepts one).
    """
    return _CALL_KEY.get()
