"""Escape attempts by class, for every executor.

Each attempt would call `final_answer("ESCAPED")`, leave the file `{marker}`, hang past the
limit, or change state another run sees, if it got through. `HANGS` are the attempts that
run until the time limit stops them. Written for the classes in the sandbox issue; none is
copied from the attempts that found them.
"""

from __future__ import annotations

ATTACKS: dict[str, dict[str, str]] = {
    "pattern_matching": {
        "match_kwd_globals": "def f(): pass\nmatch f:\n    case object(__globals__=g):\n        final_answer('ESCAPED')",
        "match_traceback": "try:\n    1/0\nexcept Exception as e:\n    match e:\n        case Exception(__traceback__=tb):\n            final_answer('ESCAPED')",
        "match_gi_frame": "g = (x for x in [1])\nmatch g:\n    case object(gi_frame=fr):\n        final_answer('ESCAPED')",
        "match_f_back": "import itertools\ng = (x for x in [1])\nmatch g:\n    case object(gi_code=c):\n        final_answer('ESCAPED')",
        "match_private": "import random\nmatch random.Random():\n    case object(_inst=x):\n        final_answer('ESCAPED')",
        "match_nested_seq": "def f(): pass\nmatch [f]:\n    case [object(__code__=c)]:\n        final_answer('ESCAPED')",
        "match_args_type": "def f(): pass\nclass M(type):\n    def __instancecheck__(cls, obj):\n        return True\nX = M('X', (), {'__match_args__': ('__globals__',)})\nmatch f:\n    case X(g):\n        final_answer('ESCAPED')",
        "match_args_getattr_meta": "def f(): pass\nclass M(type):\n    def __instancecheck__(cls, obj):\n        return True\n    def __getattr__(cls, name):\n        return ('__globals__',)\nclass X(metaclass=M):\n    pass\nmatch f:\n    case X(g):\n        final_answer('ESCAPED')",
        "match_args_dataclass": "import dataclasses\ndef f(): pass\nclass M(type):\n    def __instancecheck__(cls, obj):\n        return True\nclass B(metaclass=M):\n    pass\nX = dataclasses.make_dataclass('X', ['__globals__'], bases=(B,))\nmatch f:\n    case X(g):\n        final_answer('ESCAPED')",
        "match_rebind_in_guard": "def f(): pass\nclass M(type):\n    def __instancecheck__(cls, obj):\n        return True\nSafe = M('Safe', (), {'__match_args__': ('x',)})\nEvil = M('Evil', (), {'__match_args__': ('__globals__',)})\nX = Safe\nmatch f:\n    case int() if (X := Evil):\n        pass\n    case X(g):\n        final_answer('ESCAPED')",
        "match_mapping_frame": "import sys\nfinal_answer('ESCAPED')",
        "match_class_tb_next": "try:\n    1/0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    match e:\n        case ZeroDivisionError(tb_next=n):\n            final_answer('ESCAPED')",
    },
    "formatter": {
        "formatter_subclass_super": "import string\ndef f(): pass\nclass F(string.Formatter):\n    def get_field(self, name, args, kwargs):\n        return super().get_field(name, args, kwargs)\nfinal_answer(F().format('{0.__globals__}', f))",
        "formatter_real_base": "import string\ndef f(): pass\nR = type.mro(string.Formatter)[1]\nfinal_answer(R().get_field('0.__globals__', [f], {}))",
        "formatter_patch_class": "import string\nstring.Formatter.get_field = lambda self, n, a, k: (a[0], n)\nfinal_answer('ESCAPED')",
        "formatter_setattr_patch": "import string\nsetattr(string.Formatter, 'check_unused_args', lambda *a: None)\nfinal_answer('ESCAPED')",
        "formatter_get_value_frame": "import string\nclass F(string.Formatter):\n    def get_value(self, key, args, kwargs):\n        return (x for x in [1])\nfinal_answer(F().format('{0.gi_frame}'))",
        "formatter_format_field_getattr": "import string\ndef f(): pass\nclass F(string.Formatter):\n    def format_field(self, value, spec):\n        return str(getattr(value, spec))\nfinal_answer(F().format('{0:__globals__}', f))",
        "formatter_vformat": "import string\nfinal_answer(string.Formatter().vformat('{0.__class__.__mro__}', [1], {}))",
        "formatter_parse_override": "import string\ndef f(): pass\nclass F(string.Formatter):\n    def parse(self, s):\n        return [('', '0.__globals__', '', None)]\nfinal_answer(F().format('x', f))",
        "format_map_private": "import random\nfinal_answer('{r._inst}'.format_map({'r': random}))",
        "format_getattr_method": "fmt = getattr('{0.__class__}', 'format')\nfinal_answer(fmt(1))",
        "format_index_dunder": "final_answer('{0[x].__class__}'.format({'x': 1}))",
        "format_refused_again": "for i in range(3):\n    try:\n        '{0.__class__}'.format(1)\n    except Exception:\n        pass\nfinal_answer('{0.__class__.__mro__}'.format(1))",
        "format_str_subclass_equal_to_a_checked_one": "class S(str):\n    def __hash__(self):\n        return hash('{0}')\n    def __eq__(self, other):\n        return True\n'{0}'.format(1)\nfinal_answer(S('{0.__class__.__mro__}').format(1))",
        "formatter_convert_field": "import string\nclass F(string.Formatter):\n    def convert_field(self, value, conversion):\n        return value\nfinal_answer(F().format('{0.f_back}', 1))",
    },
    "update_wrapper": {
        "wrapper_onto_getattr": "import functools\nfunctools.update_wrapper(getattr, lambda o, n: 1)\nfinal_answer('ESCAPED')",
        "wrapper_assign_code": "import functools\ndef f(): return 'ESCAPED'\ndef g(): pass\nfunctools.update_wrapper(g, f, assigned=('__code__',))\nfinal_answer(g())",
        "wraps_globals": "import functools\ndef f(): pass\n@functools.wraps(f, assigned=('__globals__',))\ndef g(): pass\nfinal_answer('ESCAPED')",
        "wrapper_onto_library_class": "import functools, string\ndef f(): pass\nfunctools.update_wrapper(string.Formatter, f)\nfinal_answer('ESCAPED')",
        "wrapper_onto_print": "import functools\ndef f(): pass\nfunctools.update_wrapper(print, f)\nfinal_answer('ESCAPED')",
        "wrapper_make_class_agents": "import functools, random\ndef f(): pass\nfunctools.update_wrapper(random.Random, f)\nfinal_answer(random.Random()._inst)",
        "wrapper_updated_dict": "import functools\ndef f(): pass\ndef g(): pass\nfunctools.update_wrapper(g, f, updated=('__dict__', '__globals__'))\nfinal_answer('ESCAPED')",
        "total_ordering_library": "import functools, fractions\nfunctools.total_ordering(fractions.Fraction)\nfinal_answer('ESCAPED')",
        "dataclass_library": "import dataclasses, string\ndataclasses.dataclass(string.Template)\nfinal_answer('ESCAPED')",
        "partial_setattr": "import functools, string\nfunctools.partial(setattr, string.Template)('delimiter', '%')\nfinal_answer('ESCAPED')",
        "wrapped_read": "import functools\ndef f(): pass\n@functools.wraps(f)\ndef g(): pass\nfinal_answer(g.__wrapped__)",
    },
    "annotations": {
        "annotation_arg": "import functools\n@functools.singledispatch\ndef f(x): pass\n@f.register\ndef _(x: \"[c for c in ().__class__.__base__.__subclasses__()]\"): pass\nfinal_answer('ESCAPED')",
        "annotation_return": "def f() -> \"().__class__.__bases__\": pass\nfinal_answer('ESCAPED')",
        "annotation_class_var": "class A:\n    x: \"().__class__\"\nfinal_answer('ESCAPED')",
        "annotation_nested": "def f(x: list[\"().__class__\"]): pass\nfinal_answer('ESCAPED')",
        "annotation_dispatchmethod": "import functools\nclass A:\n    @functools.singledispatchmethod\n    def m(self, x): pass\n    @m.register\n    def _(self, x: \"().__class__.__base__\"): pass\nfinal_answer('ESCAPED')",
        "annotation_lambda_default": "def f(x: \"open('{marker}', 'w')\" = 1): pass\nfinal_answer('ESCAPED')",
        "annotation_kwonly": "def f(*, x: \"().__class__\"): pass\nfinal_answer('ESCAPED')",
        "annotation_vararg": 'def f(*a: "().__class__", **k: "1"): pass\nfinal_answer(\'ESCAPED\')',
        "annotation_dunder_set": "def f(x): pass\nf.__annotations__ = {'x': '().__class__'}\nfinal_answer('ESCAPED')",
        "annotation_setattr": "def f(x): pass\nsetattr(f, '__annotations__', {'x': '1'})\nfinal_answer('ESCAPED')",
    },
    "open_mode": {
        "mode_str_subclass": "class M(str):\n    def __contains__(self, c):\n        return False\nopen('{marker}', M('w')).write('x')",
        "mode_iter_subclass": "class M(str):\n    def __iter__(self):\n        return iter('r')\n    def __contains__(self, c):\n        return False\nopen('{marker}', mode=M('a')).write('x')",
        "mode_keyword": "open(file='{marker}', mode='w').write('x')",
        "opener": "open('{marker}', 'r', opener=lambda p, f: 3)",
        "fd_open": "open(1, 'r')",
        "proc_environ": "final_answer(open('/proc/self/environ').read())",
        "proc_bytes_path": "final_answer(open(b'/proc/self/environ').read())",
        "proc_via_symlink_dir": "final_answer(open('/dev/fd/0').read())",
        "pathlike_open": "class P:\n    def __fspath__(self):\n        return '{marker}'\nopen(P(), 'w').write('x')",
        "mode_binary_write": "open('{marker}', 'wb').write(b'x')",
        "mode_update": "open('{marker}', 'x')",
        "path_traversal_proc": "final_answer(open('/tmp/../proc/self/cmdline').read())",
    },
    "namespace_builtins": {
        "ns_open_write": "open('{marker}', 'w').write('x')",
        "ns_system": "system('touch {marker}')",
        "ns_get_ipython": "get_ipython().system('touch {marker}')",
        "ns_path_class": "Path('{marker}').write_text('x')",
        "ns_path_instance": "home.joinpath('x')\nfinal_answer('ESCAPED')",
        "ns_module_os": "os.system('touch {marker}')",
        "ns_eval_alias": "final_answer(evaluate('1 + 1'))",
        "ns_io_module_open": "io_open('{marker}', 'w').write('x')",
    },
    "timeouts": {
        "finally_continue": "while True:\n    try:\n        while True:\n            pass\n    finally:\n        continue",
        "finally_return": "def f():\n    while True:\n        try:\n            while True:\n                pass\n        finally:\n            return f()\nf()",
        "finally_break_loop": "while True:\n    for _ in iter(int, 1):\n        try:\n            while True:\n                pass\n        finally:\n            break",
        "with_exit_true": "class S:\n    def __enter__(self):\n        return self\n    def __exit__(self, *a):\n        return True\nwhile True:\n    with S():\n        while True:\n            pass",
        "with_exit_nested": "class S:\n    def __enter__(self):\n        return self\n    def __exit__(self, *a):\n        while True:\n            try:\n                return True\n            finally:\n                continue\nwith S():\n    while True:\n        pass",
        "except_tuple_subclass": "class T(tuple):\n    def __iter__(self):\n        return iter([ValueError])\nwhile True:\n    try:\n        while True:\n            pass\n    except T((BaseException,)):\n        pass",
        "except_nested_tuple": "while True:\n    try:\n        while True:\n            pass\n    except (ValueError, (TypeError, (BaseException,))):\n        pass",
        "shadow_helper_def": "def __snb_exc__(k):\n    return k\nwhile True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
        "shadow_helper_class": "class __snb_exc__:\n    pass\nwhile True:\n    pass",
        "shadow_helper_import": "import math as __snb_pow__\nwhile True:\n    pass",
        "queue_get_forever": "import queue\nqueue.Queue().get()",
        "queue_lock_twice": "import queue\nq = queue.Queue()\nq.mutex.acquire()\nq.mutex.acquire()",
        "queue_condition_wait": "import queue\nq = queue.Queue()\nq.not_empty.wait()",
        "queue_patch_get": "import queue\nqueue.Queue.get = lambda self, *a: None\nwhile True:\n    pass",
        "queue_join_forever": "import queue\nq = queue.Queue()\nq.put(1)\nq.join()",
        "regex_backtracking": "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')",
        "regex_compiled": "import re\np = re.compile(r'(x+x+)+y')\np.search('x' * 50)",
        "regex_findall": "import re\nre.findall(r'(\\w+\\s?)+$', 'word ' * 30 + '!')",
        "generator_finally_yield": "def g():\n    while True:\n        try:\n            yield 1\n        finally:\n            continue\nfor _ in g():\n    while True:\n        pass",
        "sleep_forever": "import time\ntime.sleep(10 ** 6)",
    },
    "after_the_block": {
        "repr_of_value": "class X:\n    def __repr__(self):\n        while True:\n            pass\nX()",
        "str_of_final": "class X:\n    def __repr__(self):\n        while True:\n            pass\n    def __str__(self):\n        while True:\n            pass\nfinal_answer(X())",
        "eq_of_final": "class X:\n    def __eq__(self, other):\n        open('{marker}', 'w')\n        return True\n    def __repr__(self):\n        return 'X'\nfinal_answer([X()])",
        "str_of_exception": "class E(Exception):\n    def __str__(self):\n        while True:\n            pass\nraise E()",
        "repr_of_exception_arg": "class A:\n    def __repr__(self):\n        while True:\n            pass\nraise ValueError(A())",
        "reduce_of_snapshot": "class X:\n    def __reduce__(self):\n        while True:\n            pass\nkeep = X()",
        "reduce_payload": "class X:\n    def __reduce__(self):\n        return (print, ('ESCAPED',))\nkeep = X()",
        "del_finalizer": "class X:\n    def __del__(self):\n        while True:\n            pass\nkeep = X()",
        "del_via_type": "keep = type('X', (), {'__del__': lambda self: open('{marker}', 'w')})()",
        "generator_finally_on_close": "def g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\nkeep = g()\nnext(keep)",
        "format_of_value": "class X:\n    def __format__(self, spec):\n        while True:\n            pass\nprint(f'{X()}')",
        "hash_of_final": "class K:\n    def __hash__(self):\n        while True:\n            pass\n    def __repr__(self):\n        return 'K'\nfinal_answer({'k': K()})",
    },
    "process_state": {
        "decimal_context": "import decimal\ndecimal.getcontext().prec = 3\nfinal_answer('changed')",
        "decimal_setcontext": "import decimal\ndecimal.setcontext(decimal.Context(prec=2))\nfinal_answer('changed')",
        "decimal_default": "import decimal\ndecimal.DefaultContext.prec = 2\nfinal_answer('changed')",
        "json_encoder_defaults": "import json\njson.JSONEncoder.item_separator = ';'\nfinal_answer('changed')",
        "json_module_dumps": "import json\njson.dumps = lambda *a, **k: 'x'\nfinal_answer('changed')",
        "random_seed_global": "import random\nrandom.seed(12345)\nfinal_answer('changed')",
        "calendar_firstweekday": "import calendar\ncalendar.setfirstweekday(3)\nfinal_answer('changed')",
        "string_constant_patch": "import string\nstring.ascii_letters = 'x'\nfinal_answer('changed')",
        "private_via_self_alias": "import random\nclass A:\n    def m(self):\n        self = random.Random()\n        self._inst = 1\n        final_answer('ESCAPED')\nA().m()",
        "private_via_self_read": "import random\nclass A:\n    def m(self):\n        self = random\n        return self._inst\nfinal_answer(A().m())",
        "collections_patch": "import collections\ncollections.OrderedDict.popitem = None\nfinal_answer('changed')",
        "functools_patch_attr": "import functools\nfunctools.reduce.extra = 1\nfinal_answer('changed')",
        "datetime_class_patch": "import datetime\ndatetime.date.today = 1\nfinal_answer('changed')",
    },
    "resources": {
        "bigint_square_loop": "x = 3\nwhile True:\n    x = x * x",
        "bigint_square_aug": "x = 3\nwhile True:\n    x *= x",
        "bigint_square_item": "x = [3]\nwhile True:\n    x[0] *= x[0]",
        "bigint_pow_mod": "print(pow(3, 1 << 1000000, 10 ** 3000))",
        "bigint_factorial": "import math\nprint(len(str(math.factorial(10 ** 7))))",
        "str_repeat": "s = 'a' * (10 ** 10)",
        "bytes_repeat": "b = b'xy' * (10 ** 10)",
        "list_repeat": "l = [0] * (10 ** 10)",
        "str_growth_loop": "s = 'ab'\nwhile True:\n    s = s + s",
        "infinite_count_sum": "import itertools\nsum(itertools.count())",
        "infinite_cycle_max": "import itertools\nmax(itertools.cycle([1, 2]))",
        "infinite_repeat_list": "import itertools\nany(x == 2 for x in itertools.repeat(1))",
        "iter_sentinel": "sum(iter(int, 1))",
        "huge_range_sum": "sum(range(10 ** 15))",
        "huge_range_sorted": "sorted(range(10 ** 12), reverse=True)",
        "nested_map_segfault": "x = [1]\nfor _ in range(1000000):\n    x = map(abs, x)\nlist(x)",
        "nested_filter_segfault": "x = [1]\nfor _ in range(1000000):\n    x = filter(None, x)\nlist(x)",
        "nested_chain_segfault": "import itertools\nx = [1]\nfor _ in range(1000000):\n    x = itertools.chain(x)\nlist(x)",
        "deep_recursion": "def f(n):\n    return f(n + 1)\nf(0)",
        "deep_ast": "x = " + "+".join(["1"] * 20000),
        "deep_unary": "x = " + "-" * 20000 + "1",
        "deep_calls_ast": "x = f" + "()" * 20000,
        "deque_consume": "import collections, itertools\ncollections.deque(itertools.count(), maxlen=0)",
        "shift_huge": "x = 1 << (1 << 40)",
        "str_join_repeat": "''.join(['x'] * (10 ** 9))",
    },
    "data_libraries": {
        "pandas_to_csv": "import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('{marker}')",
        "pandas_to_pickle": "import pandas as pd\npd.DataFrame({'a': [1]}).to_pickle('{marker}')",
        "pandas_to_json_path": "import pandas as pd\npd.Series([1]).to_json('{marker}')",
        "pandas_read_pickle": "import pandas as pd\npd.read_pickle('{marker}')",
        "pandas_unbound_writer": "import pandas as pd\npd.DataFrame.to_csv(pd.DataFrame({'a': [1]}), '{marker}')",
        "pandas_getattr_writer": "import pandas as pd\ngetattr(pd.DataFrame({'a': [1]}), 'to_parquet')('{marker}')",
        "numpy_save": "import numpy as np\nnp.save('{marker}', np.arange(3))",
        "numpy_savetxt": "import numpy as np\nnp.savetxt('{marker}', np.arange(3))",
        "numpy_tofile": "import numpy as np\nnp.arange(3).tofile('{marker}')",
        "numpy_load_pickle": "import numpy as np\nnp.load('{marker}', allow_pickle=True)",
        "numpy_ctypeslib": "import numpy as np\nfinal_answer(np.ctypeslib)",
        "numpy_f2py": "import numpy.f2py\nfinal_answer('ESCAPED')",
        "numpy_testing_exec": "import numpy as np\nfinal_answer(np.testing)",
        "star_xxsubinterpreters": "import _xxsubinterpreters\nfinal_answer('ESCAPED')",
        "star_imp": "import imp\nfinal_answer('ESCAPED')",
        "star_codecs_open": "import codecs\ncodecs.open('{marker}', 'w').write('x')",
        "star_gzip_open": "import gzip\ngzip.open('{marker}', 'wb').write(b'x')",
        "star_atexit": "import atexit\natexit.register(print, 'later')\nfinal_answer('ESCAPED')",
    },
}

HANGS = {
    *ATTACKS["timeouts"],
    "repr_of_value",
    "str_of_final",
    "str_of_exception",
    "repr_of_exception_arg",
    "reduce_of_snapshot",
    "format_of_value",
    "hash_of_final",
    "bigint_square_loop",
    "bigint_square_aug",
    "bigint_square_item",
    "str_growth_loop",
    "infinite_count_sum",
    "infinite_cycle_max",
    "infinite_repeat_list",
    "iter_sentinel",
    "huge_range_sum",
    "huge_range_sorted",
    "deque_consume",
    "bigint_pow_mod",
    "bigint_factorial",
}
"""Attempts that may legitimately end by the time limit (the rest must be refused or run harmlessly)."""

# Imports these attempts need (the data-library class runs with pandas and numpy, and with "*").
IMPORTS = {"data_libraries": ["pandas", "numpy", "*"], "pattern_matching": ["dataclasses"], "update_wrapper": ["dataclasses"]}

ALL = {name: code for group in ATTACKS.values() for name, code in group.items()}
GROUP = {name: group for group, items in ATTACKS.items() for name in items}


BENIGN: dict[str, tuple[str, object]] = {
    # (code, the value it answers with final_answer)
    "sum_squares": ("final_answer(sum(i * i for i in range(10)))", 285),
    "list_comp": ("final_answer([x * 2 for x in range(4)])", [0, 2, 4, 6]),
    "dict_comp": ("final_answer({k: v for k, v in zip('ab', (1, 2))})", {"a": 1, "b": 2}),
    "set_ops": ("final_answer(sorted({1, 2, 3} & {2, 3, 4}))", [2, 3]),
    "string_methods": ("final_answer('-'.join(w.capitalize() for w in 'hello big world'.split()))", "Hello-Big-World"),
    "fstring": ("x = 3.14159\nfinal_answer(f'{x:.2f} and {x!r:>10}')", "3.14 and    3.14159"),
    "str_format": ("final_answer('{0} {name} {1:>3}'.format('a', 7, name='n'))", "a n   7"),
    "format_map": ("final_answer('{a}-{b}'.format_map({'a': 1, 'b': 2}))", "1-2"),
    "string_template": (
        "import string\nfinal_answer(string.Template('$who likes $what').substitute(who='tim', what='tea'))",
        "tim likes tea",
    ),
    "string_formatter": ("import string\nfinal_answer(string.Formatter().format('{0}+{1}={2}', 1, 2, 3))", "1+2=3"),
    "formatter_subclass": (
        "import string\nclass Up(string.Formatter):\n    def format_field(self, value, spec):\n        return str(value).upper()\nfinal_answer(Up().format('{0} {x}', 'a', x='b'))",
        "A B",
    ),
    "formatter_attr_field": (
        "import string\nclass P:\n    def __init__(self):\n        self.name = 'ann'\nfinal_answer(string.Formatter().format('{0.name}', P()))",
        "ann",
    ),
    "class_with_methods": (
        "class Acc:\n    def __init__(self):\n        self.total = 0\n        self._hidden = 1\n    def add(self, x):\n        self.total += x\n        self._hidden *= 2\n        return self\nfinal_answer(Acc().add(2).add(3).total)",
        5,
    ),
    "class_properties": (
        "class C:\n    def __init__(self, r):\n        self._r = r\n    @property\n    def area(self):\n        return round(3.14159 * self._r ** 2, 2)\nfinal_answer(C(2).area)",
        12.57,
    ),
    "dataclass": (
        "import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass P:\n    x: int\n    y: int = 0\nfinal_answer(P(1, 2).x + P(3).y)",
        1,
    ),
    "dataclass_order": (
        "from dataclasses import dataclass, field\n@dataclass(order=True)\nclass T:\n    p: int\n    tags: list = field(default_factory=list)\nfinal_answer(sorted([T(3), T(1)])[0].p)",
        1,
    ),
    "namedtuple": (
        "from collections import namedtuple\nP = namedtuple('P', 'x y')\np = P(1, 2)._replace(y=5)\nfinal_answer(p._asdict())",
        {"x": 1, "y": 5},
    ),
    "inheritance_super": (
        "class A:\n    def hi(self):\n        return 'a'\nclass B(A):\n    def hi(self):\n        return super().hi() + 'b'\nfinal_answer(B().hi())",
        "ab",
    ),
    "dunder_methods": (
        "class V:\n    def __init__(self, x):\n        self.x = x\n    def __add__(self, o):\n        return V(self.x + o.x)\n    def __eq__(self, o):\n        return self.x == o.x\n    def __repr__(self):\n        return f'V({self.x})'\nfinal_answer(repr(V(1) + V(2)))",
        "V(3)",
    ),
    "total_ordering_own": (
        "import functools\n@functools.total_ordering\nclass N:\n    def __init__(self, v):\n        self.v = v\n    def __lt__(self, o):\n        return self.v < o.v\n    def __eq__(self, o):\n        return self.v == o.v\nfinal_answer(N(1) <= N(2))",
        True,
    ),
    "wraps_own": (
        "import functools\ndef deco(f):\n    @functools.wraps(f)\n    def inner(*a):\n        return f(*a) * 2\n    return inner\n@deco\ndef three():\n    'doc'\n    return 3\nfinal_answer([three(), three.__name__])",
        [6, "three"],
    ),
    "lru_cache": (
        "import functools\n@functools.lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfinal_answer(fib(60))",
        1548008755920,
    ),
    "singledispatch_types": (
        "import functools\n@functools.singledispatch\ndef show(x):\n    return 'obj'\n@show.register\ndef _(x: int):\n    return 'int'\n@show.register(str)\ndef _(x):\n    return 'str'\nfinal_answer([show(1), show('a'), show(1.0)])",
        ["int", "str", "obj"],
    ),
    "annotations_real_types": (
        "def f(x: int, y: list[str] | None = None) -> dict[str, int]:\n    return {'x': x}\nclass A:\n    n: int = 3\nfinal_answer(f(A.n))",
        {"x": 3},
    ),
    "generators": ("def gen(n):\n    for i in range(n):\n        yield i * i\nfinal_answer(list(gen(5)))", [0, 1, 4, 9, 16]),
    "generator_send": (
        "def acc():\n    total = 0\n    while True:\n        x = yield total\n        total += x\ng = acc()\nnext(g)\ng.send(2)\nfinal_answer(g.send(3))",
        5,
    ),
    "closures": ("def make(k):\n    def mul(x):\n        return x * k\n    return mul\nfinal_answer(make(3)(4))", 12),
    "nonlocal_counter": (
        "def counter():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n        return n\n    return inc\nc = counter()\nc()\nfinal_answer(c())",
        2,
    ),
    "lambda_sort": ("people = [('a', 30), ('b', 25)]\nfinal_answer(sorted(people, key=lambda p: p[1])[0][0])", "b"),
    "match_literals": (
        "def kind(x):\n    match x:\n        case 0:\n            return 'zero'\n        case int(n) if n > 0:\n            return 'pos'\n        case [a, b]:\n            return 'pair'\n        case {'k': v}:\n            return f'map {v}'\n        case _:\n            return 'other'\nfinal_answer([kind(0), kind(5), kind([1, 2]), kind({'k': 1}), kind('s')])",
        ["zero", "pos", "pair", "map 1", "other"],
    ),
    "match_class_dataclass": (
        "from dataclasses import dataclass\n@dataclass\nclass Point:\n    x: int\n    y: int\ndef where(p):\n    match p:\n        case Point(0, 0):\n            return 'origin'\n        case Point(x=0, y=y):\n            return f'y={y}'\n        case Point(x, y):\n            return f'{x},{y}'\nfinal_answer([where(Point(0, 0)), where(Point(0, 3)), where(Point(1, 2))])",
        ["origin", "y=3", "1,2"],
    ),
    "match_builtin_class": ("match (1, 'a'):\n    case (int(i), str(s)):\n        final_answer(f'{i}{s}')", "1a"),
    "try_except_finally": (
        "log = []\ntry:\n    1 / 0\nexcept ZeroDivisionError as e:\n    log.append('caught')\nfinally:\n    log.append('done')\nfinal_answer(log)",
        ["caught", "done"],
    ),
    "except_tuple": ("try:\n    int('x')\nexcept (TypeError, ValueError):\n    final_answer('handled')", "handled"),
    "bare_except": ("try:\n    [][1]\nexcept:\n    final_answer('bare')", "bare"),
    "with_context": (
        "class Timer:\n    def __enter__(self):\n        self.log = ['in']\n        return self\n    def __exit__(self, *a):\n        self.log.append('out')\n        return False\nwith Timer() as t:\n    pass\nfinal_answer(t.log)",
        ["in", "out"],
    ),
    "math_stats": (
        "import math, statistics\nxs = [2, 4, 4, 4, 5, 5, 7, 9]\nfinal_answer([statistics.mean(xs), statistics.pstdev(xs), math.isqrt(17)])",
        [5, 2.0, 4],
    ),
    "fractions_decimal": (
        "from fractions import Fraction\nfrom decimal import Decimal, getcontext\ngetcontext().prec = 6\nfinal_answer([str(Fraction(1, 3) + Fraction(1, 6)), str(Decimal(1) / Decimal(7))])",
        ["1/2", "0.142857"],
    ),
    "datetime_work": (
        "import datetime\nd = datetime.date(2024, 3, 1) - datetime.timedelta(days=1)\nfinal_answer([d.isoformat(), d.strftime('%A')])",
        ["2024-02-29", "Thursday"],
    ),
    "calendar_use": ("import calendar\nfinal_answer([calendar.isleap(2024), calendar.monthrange(2023, 2)[1]])", [True, 28]),
    "collections_counter": (
        "from collections import Counter, defaultdict, deque\nc = Counter('banana')\nd = defaultdict(list)\nd['a'].append(1)\nq = deque([1, 2, 3], maxlen=2)\nfinal_answer([c.most_common(1)[0], dict(d), list(q)])",
        [("a", 3), {"a": [1]}, [2, 3]],
    ),
    "heapq_bisect": (
        "import heapq, bisect\nh = [5, 1, 3]\nheapq.heapify(h)\nfinal_answer([heapq.heappop(h), bisect.bisect_left([1, 3, 5], 4)])",
        [1, 2],
    ),
    "itertools_finite": (
        "import itertools\nfinal_answer([list(itertools.islice(itertools.count(5, 2), 3)), list(itertools.repeat('x', 2)), list(itertools.islice(itertools.cycle('ab'), 3)), len(list(itertools.permutations(range(4), 2)))])",
        [[5, 7, 9], ["x", "x"], ["a", "b", "a"], 12],
    ),
    "itertools_chain_groupby": (
        "import itertools\nfinal_answer([list(itertools.chain([1], (2, 3))), [k for k, _ in itertools.groupby('aabbc')]])",
        [[1, 2, 3], ["a", "b", "c"]],
    ),
    "zip_map_filter": (
        "final_answer(list(map(str, filter(None, [0, 1, 2]))) + list(enumerate('ab', 1)) + list(reversed([1, 2])))",
        ["1", "2", (1, "a"), (2, "b"), 2, 1],
    ),
    "range_big_lazy": (
        "for i in range(10 ** 12):\n    if i == 3:\n        break\nfinal_answer([i, len(range(10 ** 12)), 10 ** 9 in range(10 ** 12)])",
        [3, 10**12, True],
    ),
    "iter_sentinel_finite": ("it = iter([1, 2, 0, 3])\nfinal_answer(list(iter(lambda: next(it), 0)))", [1, 2]),
    "json_roundtrip": (
        'import json\ndata = json.loads(\'{"a": [1, 2, {"b": null}]}\')\nfinal_answer(json.dumps(data, sort_keys=True))',
        '{"a": [1, 2, {"b": null}]}',
    ),
    "regex_work": (
        "import re\nfinal_answer([re.findall(r'\\d+', 'a1b22c333'), re.sub(r'(\\w+)@(\\w+)', r'\\2 at \\1', 'me@home'), bool(re.compile(r'^ab+$').match('abbb'))])",
        [["1", "22", "333"], "home at me", True],
    ),
    "textwrap_unicode": (
        "import textwrap, unicodedata\nfinal_answer([textwrap.shorten('hello there world', width=12), unicodedata.name('é')])",
        ["hello [...]", "LATIN SMALL LETTER E WITH ACUTE"],
    ),
    "random_seeded": (
        "import random\nrng = random.Random(42)\nrandom.seed(7)\nfinal_answer(len([rng.random(), random.random(), random.choice([1, 2])]))",
        3,
    ),
    "queue_fifo": (
        "import queue\nq = queue.Queue()\nfor i in range(3):\n    q.put(i)\nout = [q.get() for _ in range(3)]\ntry:\n    q.get(timeout=0.05)\nexcept queue.Empty:\n    out.append('empty')\nfinal_answer(out)",
        [0, 1, 2, "empty"],
    ),
    "priority_queue": (
        "import queue\nq = queue.PriorityQueue()\nfor x in (3, 1, 2):\n    q.put(x)\nfinal_answer([q.get(), q.get(), q.qsize()])",
        [1, 2, 1],
    ),
    "big_ints_ok": (
        "final_answer([2 ** 1000 % 97, 12345678901234567890 * 98765432109876543210 % 1000, pow(3, 10 ** 6, 10 ** 9 + 7)])",
        [2**1000 % 97, 12345678901234567890 * 98765432109876543210 % 1000, pow(3, 10**6, 10**9 + 7)],
    ),
    "sequence_repeat_ok": ("final_answer([len('ab' * 1000), len([0] * 10000), (1, 2) * 2])", [2000, 10000, (1, 2, 1, 2)]),
    "aug_assign_item_mul": (
        "a = [1, 2, 3]\nd = {'k': 2}\nclass O:\n    pass\no = O()\no.v = 3\na[1] *= 10\nd['k'] **= 3\no.v *= 2\nfinal_answer([a, d, o.v])",
        [[1, 20, 3], {"k": 8}, 6],
    ),
    "setattr_own_objects": (
        "class C:\n    pass\nc = C()\nsetattr(c, 'x', 1)\nC.shared = 2\nc._p = 3\ndef f():\n    pass\nf.tag = 'ok'\nfinal_answer([c.x, c.shared, c._p, f.tag])",
        [1, 2, 3, "ok"],
    ),
    "type_usage": (
        "P = type('P', (), {'x': 1, 'get': lambda self: self.x})\nfinal_answer([P().get(), type(1) is int, isinstance(P, type), type(3.0).__name__])",
        [1, True, True, "float"],
    ),
    "metaclass_own": (
        "class Reg(type):\n    names = []\n    def __init__(cls, name, bases, ns):\n        Reg.names.append(name)\n        super().__init__(name, bases, ns)\nclass A(metaclass=Reg):\n    pass\nfinal_answer(Reg.names)",
        ["A"],
    ),
    "recursion_moderate": ("def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nfinal_answer(depth(500))", 500),
    "print_and_answer": ("for w in ['a', 'b']:\n    print(w, end=';')\nprint()\nfinal_answer('printed')", "printed"),
    "sorting_keys": ("words = ['pear', 'Apple', 'fig']\nfinal_answer(sorted(words, key=str.lower))", ["Apple", "fig", "pear"]),
    "unpacking": (
        "first, *rest = [1, 2, 3]\na, (b, c) = 1, (2, 3)\nfinal_answer([first, rest, a + b + c, {**{'x': 1}, 'y': 2}])",
        [1, [2, 3], 6, {"x": 1, "y": 2}],
    ),
    "walrus_loop": ("data = [3, 8, 1]\nif (n := len(data)) > 2:\n    final_answer(n)", 3),
    "exceptions_custom": (
        "class MyError(ValueError):\n    pass\ntry:\n    raise MyError('bad')\nexcept ValueError as e:\n    final_answer(str(e))",
        "bad",
    ),
    "async_def_defined": ("async def f():\n    return 1\nfinal_answer(callable(f))", True),
    "bytes_work": (
        "b = 'héllo'.encode()\nfinal_answer([len(b), b.decode(), b.hex()[:4], bytes(range(3))])",
        [6, "héllo", "68c3", b"\x00\x01\x02"],
    ),
    "open_read_ok": ("import json\nfinal_answer(open('{readable}').read()[:5])", "hello"),
}

PANDAS_BENIGN: dict[str, tuple[str, object]] = {
    "pandas_groupby": (
        "import pandas as pd\ndf = pd.DataFrame({'g': ['a', 'b', 'a'], 'v': [1, 2, 3]})\nfinal_answer(df.groupby('g')['v'].sum().to_dict())",
        {"a": 4, "b": 2},
    ),
    "pandas_to_csv_text": ("import pandas as pd\nfinal_answer(pd.DataFrame({'a': [1]}).to_csv(index=False))", "a\n1\n"),
    "pandas_to_json_text": ("import pandas as pd\nfinal_answer(pd.Series([1, 2]).to_json())", '{"0":1,"1":2}'),
    "pandas_columns_assign": (
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\ndf.columns = ['b']\ndf['c'] = df['b'] * 2\nfinal_answer(list(df.columns) + [int(df['c'].sum())])",
        ["b", "c", 6],
    ),
    "pandas_query_describe": (
        "import pandas as pd\ndf = pd.DataFrame({'x': range(10)})\nfinal_answer([len(df.query('x > 4')), float(df.describe().loc['mean', 'x'])])",
        [5, 4.5],
    ),
    "pandas_merge_pivot": (
        "import pandas as pd\na = pd.DataFrame({'k': [1, 2], 'v': [3, 4]})\nb = pd.DataFrame({'k': [1, 2], 'w': [5, 6]})\nm = a.merge(b, on='k')\nfinal_answer(int(m.pivot_table(values='w', index='k').sum().iloc[0]))",
        11,
    ),
    "pandas_dates": (
        "import pandas as pd\ns = pd.to_datetime(pd.Series(['2024-01-01', '2024-02-15']))\nfinal_answer(s.dt.month.tolist())",
        [1, 2],
    ),
    "numpy_stats": (
        "import numpy as np\na = np.arange(12).reshape(3, 4)\nfinal_answer([int(a.sum()), a.mean(axis=0).tolist(), float(np.linalg.norm([3, 4]))])",
        [66, [4.0, 5.0, 6.0, 7.0], 5.0],
    ),
    "numpy_random_seeded": (
        "import numpy as np\nrng = np.random.default_rng(0)\nfinal_answer(rng.integers(0, 10, size=3).shape)",
        (3,),
    ),
    "numpy_inplace": ("import numpy as np\na = np.zeros(3)\na[1] = 5\na *= 2\nfinal_answer(a.tolist())", [0.0, 10.0, 0.0]),
}
