"""The attack corpus (tests/executor/attacks.py) against every executor, and the benign corpus
that must run unchanged on all of them.

For each attempt: no `final_answer("ESCAPED")`, no file left behind, the host's process-wide
state as it was, nothing of the code's own reaching the host as a live object, an attempt that
hangs stopped within the limit plus a second, and the next block runs normally.
"""

from __future__ import annotations

import calendar
import decimal
import functools
import io
import json
import os
import pathlib
import queue
import random
import string
import sys
import time

import pytest

from smolnb.errors import FinalAnswer
from smolnb.executor import LocalExecutor, Policy, SubprocessExecutor
from smolnb.executor.base import unpickle_variables
from smolnb.executor.local import _holds_agent_code

from .attacks import ALL, BENIGN, GROUP, HANGS, IMPORTS, PANDAS_BENIGN

LIMIT = 1.0
# What "bounded" means here: each hang, unstopped, runs for minutes or forever; a stopped one ends
# at LIMIT. The ceiling is far above that so that a busy machine cannot fail a test that works.
CEILING = LIMIT + 10
# The data libraries' attacks import pandas, which a busy machine can push past LIMIT in a fresh
# sandbox: they run under this one (one that hangs still times out, and fails the test).
SLOW_LIMIT = 8.0
KINDS = ["local", "subprocess", "sandbox"]


def final(value):
    raise FinalAnswer(value)


def _sandbox_ready() -> str | None:
    from smolnb.executor.sandbox import sandbox_layers

    missing = {k: v for k, v in sandbox_layers().items() if v != "on"}
    return f"sandbox layers missing: {missing}" if missing else None


_SHARED: dict[tuple, object] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_shared():
    yield
    for ex in _SHARED.values():
        ex.close()
    _SHARED.clear()


def make(kind: str, policy: Policy, namespace: dict | None = None, read_paths=(), limit: float = LIMIT):
    """A fresh in-kernel executor; one process per kind and policy for the others (each attempt
    leaves its variables behind, which the next attempts then live with)."""
    if kind != "local" and namespace is None:
        key = (kind, tuple(sorted(policy.authorized)), tuple(read_paths) if kind == "sandbox" else (), limit)
        if key not in _SHARED:
            _SHARED[key] = _make(kind, policy, None, read_paths, limit)
        return _Borrowed(_SHARED[key])
    return _make(kind, policy, namespace, read_paths, limit)


class _Borrowed:
    """A shared executor whose `close` leaves it open for the next test."""

    def __init__(self, ex):
        self._ex = ex

    def __getattr__(self, name):
        return getattr(self._ex, name)

    def close(self):
        pass


def _make(kind: str, policy: Policy, namespace: dict | None, read_paths, limit: float = LIMIT):
    if kind == "local":
        # a 1 GB budget: a growth loop fails fast (filling 2 GB on a busy machine takes seconds)
        return LocalExecutor(policy, timeout=limit, namespace=namespace, memory_mb=1024)
    if kind == "subprocess":
        ex = SubprocessExecutor(policy, timeout=limit, grace=0.8)
        if namespace:
            ex.set_variables({k: v for k, v in namespace.items() if not callable(v) and not isinstance(v, type(os))})
        return ex
    why = _sandbox_ready()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox is required in CI: {why}")
        pytest.skip(why)
    from smolnb.executor.sandbox import SandboxExecutor

    return SandboxExecutor(policy, timeout=limit, grace=0.8, namespace=namespace, read_paths=list(read_paths))


def world() -> dict:
    """Process-wide state a run must not change."""
    from smolnb.executor import guards, policy

    return {
        "decimal": (decimal.getcontext().prec, decimal.getcontext().rounding, decimal.DefaultContext.prec),
        "json": json.dumps({"a": [1, 2]}),
        "json_sep": json.JSONEncoder.item_separator,
        "formatter": (string.Formatter.get_field, policy._SafeFormatter.__dict__.get("get_field")),
        "wrapper": (
            functools.update_wrapper,
            functools.wraps,
            functools.reduce.__dict__ if hasattr(functools.reduce, "__dict__") else None,
        ),
        "queue": (queue.Queue.get, guards.Queue.get),
        "random": random.getstate(),
        "calendar": calendar.firstweekday(),
        "letters": string.ascii_letters,
        "recursion": sys.getrecursionlimit(),
        "trace": sys.gettrace(),
        "guards": (policy.safe_getattr.__code__, guards.writable.__code__, policy.checked_handler.__code__),
        "template": (string.Template.delimiter,),
        "date_today": __import__("datetime").date.today,
    }


def namespace_for(group: str) -> dict | None:
    if group != "namespace_builtins":
        return None
    from IPython.core.getipython import get_ipython

    return {
        "open": io.open,  # IPython puts its own open (a wrapper of io.open) in the user namespace
        "system": os.system,
        "get_ipython": get_ipython,
        "Path": pathlib.Path,
        "home": pathlib.Path.home(),
        "os": os,
        "evaluate": eval,
        "io_open": io.open,
    }


# the subprocess executor shares no namespace, so the namespace attempts run on the other two
CASES = [
    (kind, name) for name in sorted(ALL) for kind in KINDS if not (kind == "subprocess" and GROUP[name] == "namespace_builtins")
]


@pytest.mark.parametrize("kind, name", CASES)
def test_attack_is_refused_or_contained(kind, name, tmp_path):
    group = GROUP[name]
    marker = tmp_path / "escaped"
    imports = IMPORTS.get(group, [])
    before = world()
    limit = SLOW_LIMIT if group == "data_libraries" and name not in HANGS else LIMIT
    ex = make(kind, Policy(imports), namespace_for(group), limit=limit)
    ex.set_functions({"final_answer": final})
    try:
        start = time.monotonic()
        result = ex.run(ALL[name].replace("{marker}", str(marker)))
        took = time.monotonic() - start
        assert not (result.is_final and result.final_value == "ESCAPED"), f"{name} reached final_answer('ESCAPED')"
        assert not marker.exists(), f"{name} wrote a file"
        assert not _holds_agent_code(result.final_value), f"{name} handed the host a live object of its own"
        assert took < CEILING, f"{name} ran {took:.1f} s"
        if result.error_kind == "timeout":
            assert name in HANGS, f"{name} hung: {result.error}"
        if result.error_kind == "policy":
            assert any(
                w in result.error for w in ("not allowed", "refused", "reserved", "not available", "not an authorized", "must be")
            ), result.error
        # what the host does with the run afterwards stays bounded too
        start = time.monotonic()
        blob, _missing = ex.snapshot()
        unpickle_variables(blob)
        assert time.monotonic() - start < CEILING, f"{name}: the snapshot was not bounded"
        # the executor lives on
        after = ex.run("print(1 + 1)")
        assert after.stdout == "2\n", (name, after)
    finally:
        start = time.monotonic()
        ex.close()
        assert time.monotonic() - start < CEILING, f"{name}: closing was not bounded"
    assert not marker.exists(), f"{name} wrote a file later"
    assert world() == before, f"{name} changed process-wide state"


def test_the_corpus_covers_every_class():
    from .attacks import ATTACKS

    assert len(ALL) >= 120
    assert all(len(items) >= 8 for items in ATTACKS.values()), {k: len(v) for k, v in ATTACKS.items()}


# The corpus is notebook code as people write it: `open(p).read()` leaves the closing to the
# garbage collector, which warns. That file is the agent code's, not a leak of the package.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(BENIGN) + sorted(PANDAS_BENIGN))
def test_benign_code_runs_unchanged(kind, name, tmp_path):
    code, expected = BENIGN.get(name) or PANDAS_BENIGN[name]
    readable = tmp_path / "data.txt"
    readable.write_text("hello world")
    code = code.replace("{readable}", str(readable))
    imports = ["pandas", "numpy"] if name in PANDAS_BENIGN else ["dataclasses"]
    # not a test of time limits: a generous one, so a busy machine does not fail it
    ex = make(kind, Policy(imports), read_paths=[str(tmp_path)] if name == "open_read_ok" else (), limit=30.0)
    ex.set_functions({"final_answer": final})
    try:
        result = ex.run(code)
        assert result.error is None, f"{name} on {kind}: {result.error}"
        assert result.is_final, (name, result)
        value = result.final_value
        if isinstance(expected, tuple) and isinstance(value, list):
            value = tuple(value)
        assert value == expected, (name, kind, value)
    finally:
        ex.close()


def test_benign_corpus_is_large_enough():
    assert len(BENIGN) + len(PANDAS_BENIGN) >= 60


def test_hangs_end_and_the_next_run_in_the_same_process_works():
    """The in-kernel executor: one process, hang after hang, each stopped within the limit."""
    limit = LIMIT / 2  # every hang in a row, most of them ending at the limit
    ex = LocalExecutor(Policy(), timeout=limit, memory_mb=1024)
    ex.set_functions({"final_answer": final})
    for name in sorted(HANGS):
        start = time.monotonic()
        result = ex.run(ALL[name])
        took = time.monotonic() - start
        # each would run for minutes or forever: one that ran past its limit was stopped by it
        assert took < CEILING, f"{name} ran {took:.1f} s"
        assert took < limit or result.error_kind == "timeout", f"{name} ran {took:.1f} s and ended as {result.error_kind}"
        assert sys.exc_info()[1] is None, f"{name} left {sys.exc_info()[1]!r} as the exception being handled"
        assert ex.run("x = 41\nfinal_answer(x + 1)").final_value == 42, name
