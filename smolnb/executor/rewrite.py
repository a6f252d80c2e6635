"""The execution policy's AST pass: refuses what the rules forbid, and rewrites a few spots to call runtime guards."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ..errors import PolicyError
from . import guards
from .rules import _FMT_ATTRS, FORBIDDEN_BUILTINS, SAFE_DUNDERS, SAFE_PRIVATE, _attr_rule
from .runtime import _check_format_string

if TYPE_CHECKING:
    from .policy import Policy

__all__: list[str] = []

_GROWTH = {ast.Pow: "__snb_pow__", ast.LShift: "__snb_lshift__", ast.Mult: "__snb_mul__"}


def _small_const(node: ast.expr) -> bool:
    """A constant that cannot make an operand grow: a float, or an int up to 64."""
    if not isinstance(node, ast.Constant):
        return False
    return type(node.value) is float or (type(node.value) is int and abs(node.value) <= 64)


_RESERVED = "__snb"
_IDENTIFIER_FIELDS = ("name", "id", "arg", "asname", "rest")


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


class _Guard(ast.NodeTransformer):
    def __init__(self, policy: Policy, tree: ast.AST | None = None) -> None:
        self.policy = policy
        self.temps = 0
        # Names that hold an int of at most 64 bits where they are read: the variable of a
        # `for` over `range(...)` that nothing else rebinds. A product of two of them cannot
        # grow, so it needs no guard (the common `i * i` of numeric loops stays native).
        self.small: list[frozenset[str]] = [frozenset()]
        self.rebound: set[str] = set()
        if tree is not None:
            for sub in ast.walk(tree):
                if isinstance(sub, ast.Global | ast.Nonlocal):
                    self.rebound.update(sub.names)

    def _range_var(self, target: ast.expr, iterable: ast.expr, scope: list[ast.AST]) -> str | None:
        """The name of `for NAME in range(...)` if nothing in `scope` rebinds it."""
        if not (isinstance(target, ast.Name) and isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name)):
            return None
        if iterable.func.id != "range" or iterable.keywords or target.id in self.rebound:
            return None
        for node in scope:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id == target.id and not isinstance(sub.ctx, ast.Load):
                    return None
                if isinstance(sub, ast.arg) and sub.arg == target.id:
                    return None
        return target.id

    @staticmethod
    def _bounded_range(iterable: ast.expr) -> None:
        assert isinstance(iterable, ast.Call)
        iterable.func = ast.copy_location(ast.Name("__snb_range64__", ast.Load()), iterable.func)

    def visit_For(self, node: ast.For) -> ast.AST:
        name = self._range_var(node.target, node.iter, [*node.body, *node.orelse])
        node.iter = self.visit(node.iter)
        node.target = self.visit(node.target)
        if name:
            self._bounded_range(node.iter)
        self.small.append(self.small[-1] | {name} if name else self.small[-1])
        try:
            node.body = self._statements(node.body)
        finally:
            self.small.pop()
        node.orelse = self._statements(node.orelse)
        return node

    def _statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            new = self.visit(stmt)
            out.extend(new if isinstance(new, list) else [new] if new is not None else [])
        return out

    def _comprehension(self, node: Any) -> ast.AST:
        parts = [node.elt] if hasattr(node, "elt") else [node.key, node.value]
        names = set()
        ranged = []
        for i, gen in enumerate(node.generators):
            rest = parts + [x for g in node.generators[i:] for x in g.ifs] + [g.iter for g in node.generators[i + 1 :]]
            name = self._range_var(gen.target, gen.iter, rest)
            if name:
                names.add(name)
                ranged.append(gen)
        self.small.append(self.small[-1] | names)
        try:
            result = self.generic_visit(node)
        finally:
            self.small.pop()
        for gen in ranged:
            self._bounded_range(gen.iter)
        return result

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension

    def _is_small(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.small[-1]
        return isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 1 << 63

    def _fail(self, node: ast.AST, message: str) -> PolicyError:
        line = getattr(node, "lineno", None)
        return PolicyError(f"{message} (line {line})" if line else message)

    def _temp(self) -> str:
        self.temps += 1
        return f"__snb_t{self.temps}"

    def visit(self, node: ast.AST) -> Any:
        # The guard's helpers are found by name: no code may bind or shadow one of them.
        for field in _IDENTIFIER_FIELDS:
            value = getattr(node, field, None)
            if isinstance(value, str) and value.startswith(_RESERVED):
                raise self._fail(node, f"the name {value!r} is reserved for the execution policy")
        return super().visit(node)

    # -- annotations: a string annotation is code that libraries evaluate later, unguarded --------

    def _annotation(self, annotation: ast.expr | None) -> None:
        if annotation is None:
            return
        for sub in ast.walk(annotation):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                raise self._fail(
                    annotation,
                    "string annotations are not allowed (libraries evaluate them later, outside the policy); "
                    "write the type itself",
                )

    def visit_arg(self, node: ast.arg) -> ast.AST:
        self._annotation(node.annotation)
        return self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        self._annotation(node.returns)
        return self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name in guards._FINALIZERS:
                raise self._fail(
                    item, f"defining {item.name} is not allowed: the host would run it later, outside the time limit"
                )
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self._annotation(node.annotation)
        return self.generic_visit(node)

    # -- pattern matching: class patterns read attributes ----------------------------------------

    def visit_Match(self, node: ast.Match) -> Any:
        self.generic_visit(node)
        prelude: list[ast.stmt] = []
        for case in node.cases:
            for pattern in ast.walk(case.pattern):
                if not isinstance(pattern, ast.MatchClass):
                    continue
                for attr in pattern.kwd_attrs:
                    rule = _attr_rule(attr)
                    if rule or attr.startswith("_"):
                        raise self._fail(
                            pattern, rule or f"reading the private attribute {attr!r} in a class pattern is not allowed"
                        )
                # The class is checked once, before matching, and held where no code can rebind it.
                temp = self._temp()
                prelude.append(ast.Assign(targets=[ast.Name(temp, ast.Store())], value=_call("__snb_match__", pattern.cls)))
                pattern.cls = ast.Name(temp, ast.Load())
        for stmt in prelude:
            ast.copy_location(stmt, node)
        return [*prelude, node] if prelude else node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            if not self.policy.is_allowed_module(alias.name):
                raise self._fail(node, str(self.policy._refuse_import(alias.name)))
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level:
            raise self._fail(node, "relative imports are not allowed")
        module = node.module or ""
        if not self.policy.is_allowed_module(module):
            raise self._fail(node, str(self.policy._refuse_import(module)))
        for alias in node.names:
            if alias.name.startswith("_"):
                raise self._fail(node, f"importing the private name {alias.name!r} from {module!r} is not allowed")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("__") and node.id != "__name__":
            raise self._fail(node, f"the name {node.id!r} is not allowed")
        if isinstance(node.ctx, ast.Load) and node.id in FORBIDDEN_BUILTINS:
            raise self._fail(node, f"{node.id}() is not allowed by the execution policy")
        return node

    def _check_names(self, node: ast.Global | ast.Nonlocal) -> ast.AST:
        for name in node.names:
            if name.startswith("__"):
                raise self._fail(node, f"the name {name!r} is not allowed")
        return node

    visit_Global = _check_names
    visit_Nonlocal = _check_names

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        rule = _attr_rule(node.attr)
        if rule:
            raise self._fail(node, rule)
        if isinstance(node.ctx, ast.Load):
            if node.attr in _FMT_ATTRS:
                if isinstance(node.value, ast.Constant) and type(node.value.value) is str:
                    try:  # a literal format string: checked once, here, and the call runs as written
                        _check_format_string(node.value.value)
                    except PolicyError as exc:
                        raise self._fail(node, str(exc)) from None
                    return node
                return ast.copy_location(
                    ast.Call(ast.Name("__snb_fmt__", ast.Load()), [node.value, ast.Constant(node.attr)], []), node
                )
            if node.attr.startswith("_") and node.attr not in SAFE_DUNDERS | SAFE_PRIVATE:
                return ast.copy_location(
                    ast.Call(ast.Name("__snb_getattr__", ast.Load()), [node.value, ast.Constant(node.attr)], []), node
                )
            if node.attr in guards.DATA_WRITERS and not self.policy.allow_write:
                return ast.copy_location(_call("__snb_data__", node.value, ast.Constant(node.attr)), node)
        else:
            # `obj.attr = ...` / `del obj.attr`: only on objects the code may change.
            node.value = ast.copy_location(_call("__snb_w__", node.value, ast.Constant(node.attr)), node.value)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        self.generic_visit(node)
        # A handler must not swallow timeouts or interrupts: bare `except:` means Exception,
        # and any other handler's class is checked when an exception reaches it (free otherwise).
        caught = node.type or ast.copy_location(ast.Name("Exception", ast.Load()), node)
        node.type = ast.copy_location(ast.Call(ast.Name("__snb_exc__", ast.Load()), [caught], []), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GROWTH.get(type(node.op))
        if isinstance(node.op, ast.Mult) and self._is_small(node.left) and self._is_small(node.right):
            return node
        if guard and not _small_const(node.right) and not (isinstance(node.op, ast.Mult) and _small_const(node.left)):
            return ast.copy_location(ast.Call(ast.Name(guard, ast.Load()), [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        guard = _GROWTH.get(type(node.op))
        if not guard or _small_const(node.value):
            return self.generic_visit(node)
        self.generic_visit(node)
        target = node.target
        if isinstance(target, ast.Name):
            call = _call(guard, ast.Name(target.id, ast.Load()), node.value)
            return ast.copy_location(ast.Assign(targets=[target], value=call), node)
        # `a[i] *= v` / `o.x **= v`: evaluate the container (and index) once, as Python does.
        assert isinstance(target, ast.Subscript | ast.Attribute)
        holder = self._temp()
        stmts: list[ast.stmt] = [ast.Assign(targets=[ast.Name(holder, ast.Store())], value=target.value)]
        if isinstance(target, ast.Subscript):
            index = self._temp()
            stmts.append(ast.Assign(targets=[ast.Name(index, ast.Store())], value=target.slice))
            load: ast.expr = ast.Subscript(ast.Name(holder, ast.Load()), ast.Name(index, ast.Load()), ast.Load())
            store: ast.expr = ast.Subscript(ast.Name(holder, ast.Load()), ast.Name(index, ast.Load()), ast.Store())
        else:
            load = ast.Attribute(ast.Name(holder, ast.Load()), target.attr, ast.Load())
            checked = _call("__snb_w__", ast.Name(holder, ast.Load()), ast.Constant(target.attr))
            store = ast.Attribute(checked, target.attr, ast.Store())
        stmts.append(ast.Assign(targets=[store], value=_call(guard, load, node.value)))
        return [ast.copy_location(st, node) for st in stmts]
