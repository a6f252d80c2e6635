"""Escape attempts against both executors: none may succeed, each is refused clearly.

Every attempt would end with `final_answer("ESCAPED")` (or leave a file behind) if it got
through. They are grouped: imports, dunder walks, builtins, private module attributes,
chains through allowed modules, format-string walks, file writes, process spawning, and
resource exhaustion made safe to try.
"""

import pytest

from smolnb.executor import LocalExecutor, Policy, SubprocessExecutor

CORPUS = {
    # imports
    "import_os": "import os\nos.system('touch {marker}')",
    "import_subprocess": "import subprocess\nsubprocess.run(['touch', '{marker}'])",
    "from_os_import": "from os import system\nsystem('touch {marker}')",
    "import_sys": "import sys\nfinal_answer(sys.modules['os'])",
    "import_ctypes": "import ctypes\nfinal_answer('ESCAPED')",
    "import_importlib": "import importlib\nimportlib.import_module('os').system('touch {marker}')",
    "dunder_import_name": "__import__('os').system('touch {marker}')",
    "builtins_import": "import builtins\nbuiltins.__import__('os')",
    "relative_import": "from . import secrets\nfinal_answer('ESCAPED')",
    "import_private_name": "from random import _os\n_os.system('touch {marker}')",
    "import_pathlib": "import pathlib\npathlib.Path('{marker}').write_text('x')",
    "import_shutil": "import shutil\nshutil.rmtree('/tmp/nothing')",
    # dunder walks
    "class_bases_subclasses": "final_answer(().__class__.__bases__[0].__subclasses__())",
    "mro_subclasses": "final_answer(type(()).mro()[-1].__subclasses__())",
    "func_globals": "def f(): pass\nfinal_answer(f.__globals__['__builtins__'])",
    "builtins_name": "final_answer(__builtins__)",
    "dunder_dict": "import json\nfinal_answer(json.__dict__)",
    "closure_walk": "def f():\n    x = 1\n    def g(): return x\n    return g\nfinal_answer(f().__closure__)",
    "code_object": "def f(): pass\nfinal_answer(f.__code__)",
    "getattr_dunder": "final_answer(getattr((), '__class__'))",
    "getattr_built_name": "name = '__cla' + 'ss__'\nfinal_answer(getattr((), name))",
    "generator_frame": "g = (x for x in [1])\nfinal_answer(g.gi_frame.f_globals)",
    "traceback_frame": "try:\n    1/0\nexcept Exception as e:\n    final_answer(e.__traceback__.tb_frame.f_globals)",
    "super_walk": "class A:\n    pass\nfinal_answer(super(A, A()).__self_class__)",
    # builtins
    "eval": "final_answer(eval('1+1'))",
    "exec": "exec('final_answer(1)')",
    "compile": "final_answer(compile('1', 'x', 'eval'))",
    "globals": "final_answer(globals()['__builtins__'])",
    "vars_module": "import json\nfinal_answer(vars(json))",
    "breakpoint": "breakpoint()",
    "input": "final_answer(input())",
    "alias_eval": "e = eval\nfinal_answer(e('1'))",
    # private module attributes and chains through allowed modules
    "random_os": "import random\nrandom._os.system('touch {marker}')",
    "getattr_private": "import random\ngetattr(random, '_os').system('touch {marker}')",
    "json_chain_sys": "import json\nfinal_answer(json.decoder.re.sys)",
    "re_chain": "import re\nfinal_answer(re.enum.sys)",
    "collections_chain": "import collections\nfinal_answer(collections.sys.modules)",
    "datetime_chain": "import datetime\nfinal_answer(datetime.sys)",
    "statistics_chain": "import statistics\nfinal_answer(statistics.sys)",
    "functools_private": "import functools\nfinal_answer(functools._thread)",
    "subclass_private": "import random\nclass R(random.Random):\n    pass\nfinal_answer(R()._os)",
    # format-string walks
    "format_class": "final_answer('{0.__class__.__bases__}'.format(()))",
    "format_map_walk": "final_answer('{x.__class__}'.format_map({'x': 1}))",
    "str_format_unbound": "final_answer(str.format('{0.__class__}', 1))",
    "formatter_walk": "import string\nfinal_answer(string.Formatter().format('{0.__class__}', 1))",
    "formatter_get_field": "import string\nfinal_answer(string.Formatter().get_field('0.__class__', [1], {}))",
    "format_index_walk": "final_answer('{0[0].__class__}'.format([1]))",
    # file writes
    "open_write": "open('{marker}', 'w').write('x')",
    "open_append": "f = open('{marker}', 'a')\nf.write('x')",
    "open_plus": "f = open('{marker}', 'r+')",
    # process spawning
    "os_via_chain": "import os.path\nos.system('touch {marker}')",
    "posixpath_os": "import posixpath\nposixpath.os.system('touch {marker}')",
    "time_chain": "import time\nfinal_answer(time.sys)",
    # resource exhaustion, made safe to try
    "infinite_loop": "while True:\n    pass",
    "swallowed_timeout": "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
    "catch_base_exception": "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "huge_power": "x = 10 ** 10 ** 10\nfinal_answer('ESCAPED')",
    "huge_pow_builtin": "final_answer(pow(7, 10 ** 9))",
    "huge_shift": "final_answer(1 << (10 ** 10))",
    "sleep_forever": "import time\ntime.sleep(10 ** 6)",
}

ALLOWED_KINDS = {"policy", "timeout", "exception", "syntax"}


@pytest.fixture(params=["local", "subprocess"])
def executor(request):
    policy = Policy()
    ex = LocalExecutor(policy, timeout=1.0) if request.param == "local" else SubprocessExecutor(policy, timeout=1.0)
    ex.set_functions({"final_answer": _final})
    yield ex
    ex.close()


def _final(value):
    from smolnb.errors import FinalAnswer

    raise FinalAnswer(value)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_escape_is_refused(executor, name, tmp_path):
    marker = tmp_path / "escaped"
    result = executor.run(CORPUS[name].replace("{marker}", str(marker)))
    assert not result.is_final, f"{name} reached final_answer with {result.final_value!r}"
    assert not marker.exists(), f"{name} wrote a file"
    assert result.error_kind in ALLOWED_KINDS, (name, result.error_kind, result.error)
    message = result.error or ""
    assert any(word in message for word in ("not allowed", "refused", "limit", "not an authorized", "has no attribute")), message
    # the executor survives: the next block runs normally
    assert executor.run("print(1 + 1)").stdout == "2\n"
