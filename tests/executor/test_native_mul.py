"""The guarded `*` in C answers exactly as the Python rule does, and is the one the policy uses."""

import pytest

from smolnb.errors import PolicyError
from smolnb.executor import LocalExecutor, Policy, guards


def native():
    try:
        from smolnb.executor import _speedups
    except ImportError as exc:  # `make install` builds it; a checkout without it is not what we ship
        pytest.fail(f"the C guard smolnb.executor._speedups is not built ({exc}); run `make install`")
    return _speedups.checked_mul


class Scaled:
    def __init__(self, k):
        self.k = k

    def __mul__(self, other):
        return ("mul", self.k, other)

    def __rmul__(self, other):
        return ("rmul", other, self.k)


CASES = [
    (1.5, 2.0),
    (3, 0.25),
    (0.25, 3),
    (1.5, [1]),  # TypeError, as plain Python
    (7, -6),
    (2**62, 2**62),
    (-(2**63), 2**63 - 1),
    (2**64, 3),
    (True, 5),
    (2 + 1j, 3),
    (3, "ab"),
    ("ab", 3),
    ([0], 4),
    (b"x", 0),
    (Scaled(2), 5),
    (5, Scaled(2)),
    (2.0, Scaled(3)),
]


def outcome(fn, a, b):
    try:
        return ("ok", fn(a, b))
    except Exception as exc:  # noqa: BLE001 - the comparison is of what happened
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize(("a", "b"), CASES, ids=[f"{type(a).__name__}*{type(b).__name__}" for a, b in CASES])
def test_native_mul_answers_as_the_python_rule(a, b):
    assert outcome(native(), a, b) == outcome(guards.checked_mul, a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [(1 << (guards.MAX_INT_BITS // 2 + 8), 1 << (guards.MAX_INT_BITS // 2 + 8)), ([0] * 1000, guards.MAX_ITEMS), (10**8, "ab")],
    ids=["huge-int", "huge-list", "huge-str"],
)
def test_native_mul_refuses_what_would_grow(a, b):
    with pytest.raises(PolicyError, match="refused"):
        native()(a, b)


def test_the_policy_uses_the_native_mul():
    ex = LocalExecutor(Policy())
    try:
        result = ex.run("acc = 0.0\nfor a in [0.5, 1.5]:\n    acc += a * a\nbig = 1 << 600000\nbig * big * big")
        assert result.error is not None and "refused" in result.error
        assert ex.namespace["acc"] == 2.5
    finally:
        ex.close()
    assert Policy().builtins["__snb_mul__"] is native()


def test_a_plain_module_view_keeps_the_attribute_cache():
    """CPython 3.11 does not cache `math.sqrt` lookups on a module with a `__getattr__` hook: the
    view of a module without sub-modules or lazy names must not have one (it cost math-heavy
    loops about 20%). Private and missing names still fail with a clear error."""
    policy = Policy()
    view = policy.module("math")
    assert "__getattr__" not in vars(view)
    assert view.sqrt is __import__("math").sqrt
    ex = LocalExecutor(policy)
    try:
        assert "no attribute 'nothing'" in ex.run("import math\nmath.nothing").error
        assert "PolicyError" in ex.run("import math\ngetattr(math, '__loader__').load_module('os')").error
        assert "PolicyError" in ex.run("import math\nmath._private").error
        assert (
            ex.run("import collections\ncollections.abc.Mapping is not None").value_repr == "True"
        )  # a sub-module, resolved lazily
    finally:
        ex.close()
