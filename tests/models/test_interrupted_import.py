"""An import interrupted half-way (Ctrl-C during the first model call) must not leave a broken
package behind: the next call imports it again, whole."""

import sys

import pytest

from smolnb._imports import import_whole


def make_package(root):
    pkg = root / "halfpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import os\n"
        "from . import helpers\n"
        "if os.environ.get('HALFPKG_INTERRUPT') == '1':\n"
        "    raise KeyboardInterrupt\n"
        "VALUE = 42\n"
    )
    # a submodule that keeps a reference to the package object it saw while it was half made
    (pkg / "helpers.py").write_text("import halfpkg\n\ndef value():\n    return halfpkg.VALUE\n")


def test_a_second_import_after_an_interrupted_one_is_whole(tmp_path, monkeypatch):
    make_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HALFPKG_INTERRUPT", "1")
    with pytest.raises(KeyboardInterrupt):
        import_whole("halfpkg")
    assert not any(name == "halfpkg" or name.startswith("halfpkg.") for name in sys.modules)
    monkeypatch.setenv("HALFPKG_INTERRUPT", "0")
    module = import_whole("halfpkg")
    assert module.helpers.value() == 42  # the helper sees the whole package, not the half one
    for name in [n for n in sys.modules if n == "halfpkg" or n.startswith("halfpkg.")]:
        del sys.modules[name]
