"""The execution policy's rules: which modules, builtins and attributes generated code may reach.

`Policy` (in `policy`) applies them before the code runs (the AST pass, `rewrite`) and while it
runs (the guards in `runtime`).
"""

from __future__ import annotations

__all__ = [
    "AGENT_MODULE",
    "DEFAULT_IMPORTS",
    "FILENAME",
    "FORBIDDEN_BUILTINS",
    "FORBIDDEN_MODULES",
    "FRAME_ATTRS",
    "SAFE_DUNDERS",
    "SAFE_PRIVATE",
    "SAFE_SUBMODULES",
]

AGENT_MODULE = "__smolnb_agent__"
"""`__name__` of the namespace generated code runs in; classes it defines carry it."""

FILENAME = "<agent-code>"

DEFAULT_IMPORTS = frozenset(
    {
        "bisect",
        "calendar",
        "collections",
        "datetime",
        "decimal",
        "fractions",
        "functools",
        "hashlib",  # digests of bytes only; file_digest needs a file, which the policy opens read-only
        "heapq",
        "itertools",
        "json",
        "math",
        "queue",
        "random",
        "re",
        "statistics",
        "string",
        "textwrap",
        "time",
        "typing",  # its string evaluators (get_type_hints, ForwardRef) are refused: guards.REFUSED_FUNCTIONS
        "unicodedata",
    }
)

FORBIDDEN_MODULES = frozenset(
    {
        "_thread",
        "asyncio",
        "bdb",
        "builtins",
        "code",
        "codeop",
        "concurrent",
        "cProfile",
        "ctypes",
        "dbm",
        "doctest",
        "faulthandler",
        "ftplib",
        "gc",
        "http",
        "importlib",
        "inspect",
        "io",
        "marshal",
        "mmap",
        "multiprocessing",
        "nt",
        "os",
        "pathlib",
        "pdb",
        "pickle",
        "pkgutil",
        "platform",
        "posix",
        "posixpath",
        "profile",
        "pty",
        "pydoc",
        "resource",
        "runpy",
        "shelve",
        "shutil",
        "signal",
        "site",
        "smtplib",
        "socket",
        "sqlite3",
        "subprocess",
        "sys",
        "sysconfig",
        "tempfile",
        "threading",
        "timeit",
        "trace",
        "types",
        "unittest",
        "urllib",
        "webbrowser",
        "zipimport",
        "_posixsubprocess",
        "_io",
        "_ctypes",
        "_pickle",
        "_signal",
        "_socket",
        "_sqlite3",
        "_multiprocessing",
        "_imp",
        "zipfile",
        "tarfile",
        "logging",
        "ensurepip",
        "venv",
        "distutils",
        "setuptools",
        "pip",
        "atexit",
        "copyreg",
        "imp",
        "select",
        "selectors",
        "fcntl",
        "termios",
        "tty",
        "pwd",
        "grp",
        "socketserver",
        "ssl",
        "xmlrpc",
        "poplib",
        "imaplib",
        "nntplib",
        "telnetlib",
        "mailbox",
        "wsgiref",
        "gzip",
        "bz2",
        "lzma",
        "codecs",
        "fileinput",
        "wave",
        "aifc",
        "sunau",
        "binhex",
        "uu",
        "py_compile",
        "compileall",
        "zipapp",
        "pstats",
        "tracemalloc",
        "readline",
        "rlcompleter",
        "weakref",
        "contextvars",
        "ipykernel",
        "IPython",
        "jupyter_client",
        "smolnb",
        "numpy.f2py",
        "numpy.distutils",
        "numpy.ctypeslib",
        "numpy.testing",
        "pandas.io.pickle",
        "pandas.io.pytables",
        "pandas.io.sql",
        "pandas.io.clipboards",
        "pandas.io.clipboard",
    }
)
"""Modules that open a way around the policy (files, processes, frames, raw memory).
`os.path` alone may still be authorized by name."""

SAFE_SUBMODULES = frozenset({"os.path"})

FORBIDDEN_BUILTINS = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "copyright",
        "credits",
        "eval",
        "exec",
        "exit",
        "globals",
        "help",
        "input",
        "license",
        "locals",
        "memoryview",
        "quit",
        "vars",
    }
)

SAFE_DUNDERS = frozenset({"__init__", "__name__", "__qualname__", "__doc__", "__version__"})
SAFE_PRIVATE = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})
FRAME_ATTRS = frozenset(
    {
        "ag_await",
        "ag_code",
        "ag_frame",
        "co_code",
        "cr_await",
        "cr_code",
        "cr_frame",
        "ctypes",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "func_globals",
        "gi_code",
        "gi_frame",
        "gi_yieldfrom",
        "tb_frame",
        "tb_next",
        "mro",
    }
)

_MAX_INT_BITS = 1 << 20  # a power or shift that would make an int of more than ~1M bits is refused
_FMT_ATTRS = frozenset({"format", "format_map"})


def _attr_rule(name: str) -> str | None:
    """Why reading attribute `name` is refused outright, or None."""
    if name.startswith("__") and name not in SAFE_DUNDERS:
        return f"access to the dunder attribute {name!r} is not allowed"
    if name in FRAME_ATTRS:
        return f"access to the attribute {name!r} (frames, code objects, raw memory) is not allowed"
    return None


def _module_root(name: str) -> str:
    return name.split(".", 1)[0]
