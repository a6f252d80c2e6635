"""The tool registry: loading, versions, pins, breaking changes, dependencies, MCP."""

import sys
import textwrap
from pathlib import Path

import pytest

from smolnb import CodeAgent, Tool, tool
from smolnb.errors import ToolError, UserError
from smolnb.models import TestModel
from smolnb.tools import ToolRegistry, ToolResolutionError, ToolSet, registry
from tests.helpers import py


def make(name="geocode", version="1.0.0", **extra):
    def geocode(city: str) -> str:
        """Find a city.

        Args:
            city: The city.
        """
        return f"{city}@{version}"

    geocode.__name__ = name
    return tool(version=version, **extra)(geocode)


def test_versions_and_pins():
    reg = ToolRegistry()
    for version in ("1.0.0", "1.2.0", "1.3.1", "2.0.0"):
        reg.register(make(version=version))
    assert reg.versions("geocode") == ["1.0.0", "1.2.0", "1.3.1", "2.0.0"]
    assert reg.get("geocode").version == "2.0.0"
    assert reg.get("geocode>=1.2,<2").version == "1.3.1"
    assert reg.get("geocode==1.0.0")("Oslo") == "Oslo@1.0.0"
    with pytest.raises(UserError, match="no version of 'geocode' matches '>=3'.*registered: 1.0.0, 1.2.0, 1.3.1, 2.0.0"):
        reg.get("geocode>=3")
    with pytest.raises(UserError, match="Did you mean 'geocode'"):
        reg.get("geocod")


def test_breaking_change_needs_a_major_bump():
    reg = ToolRegistry()
    reg.register(make(version="1.0.0"))

    @tool(version="1.1.0")
    def geocode(town: str, country: str) -> dict:
        """Find a town.

        Args:
            town: The town.
            country: The country.
        """
        return {}

    with pytest.raises(UserError) as info:
        reg.register(geocode)
    message = str(info.value)
    assert "input 'city' was removed or renamed" in message
    assert "new required input 'country'" in message and "output changed type string -> object" in message
    assert "Bump the version to 2.0.0" in message
    geocode.version = "2.0.0"
    assert reg.register(geocode).version == "2.0.0"  # a major bump may break

    @tool(version="2.1.0")
    def geocode(town: str, country: str, zoom: int = 3) -> dict:
        """Find a town.

        Args:
            town: The town.
            country: The country.
            zoom: Detail.
        """
        return {}

    assert reg.register(geocode).version == "2.1.0"


def test_load_from_module_path_file_and_folder(tmp_path, monkeypatch):
    package = tmp_path / "mytools"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "text.py").write_text(
        textwrap.dedent('''
        from smolnb import tool

        @tool(version="1.0.0")
        def reverse(text: str) -> str:
            """Reverse a text.

            Args:
                text: The text.
            """
            return text[::-1]

        @tool
        def upper(text: str) -> str:
            """Upper-case a text.

            Args:
                text: The text.
            """
            return text.upper()
    ''')
    )
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "one.py").write_text(
        (package / "text.py").read_text().replace("reverse", "backwards").replace("def upper", "def shout")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = ToolRegistry()
    [reverse] = reg.load("mytools.text:reverse")
    assert reverse("abc") == "cba" and reverse.source == "mytools.text:reverse"
    assert sorted(t.name for t in reg.load("mytools.text")) == ["reverse", "upper"]
    assert sorted(t.name for t in reg.load(str(folder))) == ["backwards", "shout"]
    assert reg.get("backwards").source == str(folder / "one.py")
    assert [t.name for t in reg.load(str(folder / "one.py"))] == ["backwards", "shout"]
    with pytest.raises(UserError, match="cannot load tools from 'nope.mod:x'"):
        reg.load("nope.mod:x")


def test_load_from_entry_points(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "eptools.py").write_text(
        textwrap.dedent('''
        from smolnb import tool

        @tool(version="3.1.0")
        def greet(name: str) -> str:
            """Greet someone.

            Args:
                name: Who.
            """
            return "hello " + name
    ''')
    )
    dist = site / "eptools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: eptools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[smolnb.tools]\ngreet = eptools:greet\n")
    monkeypatch.syspath_prepend(str(site))
    reg = ToolRegistry()
    [greet] = reg.load("entrypoints")
    assert greet("ada") == "hello ada" and greet.version == "3.1.0"
    assert greet.source == "entry point greet (eptools:greet)"


def test_resolution_orders_dependencies_and_lists_every_problem():
    reg = ToolRegistry()
    reg.register(make("geocode", "1.4.0"))
    route = make("route", "1.0.0", uses=["geocode>=1.2,<2"])
    reg.register(route)
    trip = make(
        "trip", "1.0.0", uses=["route>=1", "weather>=1"], requires=["packaging>=20", "no-such-package-xyz>=1", "pytest<1"]
    )
    reg.register(trip)
    assert [t.name for t in reg.resolve(["route"])] == ["geocode", "route"]
    with pytest.raises(ToolResolutionError) as info:
        reg.resolve(["trip"])
    message = str(info.value)
    assert "no tool named 'weather' is registered" in message
    assert "trip needs the package no-such-package-xyz>=1, which is not installed" in message
    assert "trip needs pytest<1, but pytest" in message
    assert "pip install 'no-such-package-xyz>=1' 'pytest<1'" in message


def test_cycles_are_named():
    reg = ToolRegistry()
    reg.register(make("a", "1.0.0", uses=["b"]))
    reg.register(make("b", "1.0.0", uses=["c"]))
    reg.register(make("c", "1.0.0", uses=["a"]))
    with pytest.raises(ToolResolutionError, match="tool dependency cycle: a -> b -> c -> a"):
        reg.resolve(["a"])


def test_agent_fails_fast_before_any_model_call():
    model = TestModel([py("final_answer(1)")])
    needy = make("needy", "1.0.0", requires=["no-such-package-xyz"], uses=["ghost>=1"])
    with pytest.raises(ToolResolutionError, match="ghost") as info:
        CodeAgent(model=model, tools=[needy]).run("t")
    assert "no-such-package-xyz" in str(info.value)
    assert model.calls == []


def test_declared_packages_become_authorized_imports():
    uses_packaging = make("ver", "1.0.0", requires=["packaging>=20"])
    model = TestModel([py("import packaging.version\nfinal_answer(str(packaging.version.Version('1.2')))")])
    assert CodeAgent(model=model, tools=[uses_packaging]).run("t").output == "1.2"
    refused = TestModel([py("import packaging"), py("final_answer(0)")])
    result = CodeAgent(model=refused).run("t")
    assert result.steps[0].error_kind == "policy"


def test_pins_in_an_agent_and_versions_recorded_in_the_run():
    registry.register(make("pinned", "1.0.0"))
    registry.register(make("pinned", "1.5.0"))
    registry.register(make("pinned", "2.0.0"))
    try:
        model = TestModel([py("final_answer(pinned('Rome'))")])
        result = CodeAgent(model=model, tools=["pinned>=1.2,<2"]).run("t")
        assert result.output == "Rome@1.5.0"
        assert result.events[0].tools == {"pinned": "1.5.0"}
        assert "pinned(city: string) -> string" in model.calls[0]["messages"][0]["content"]
    finally:
        registry.unregister("pinned")


def test_missing_dependency_tool_is_added_from_the_registry():
    registry.register(make("base_geo", "1.0.0"))
    try:
        tools = ToolSet([make("router", "1.0.0", uses=["base_geo>=1"])])
        assert [t.name for t in tools.resolve()] == ["base_geo", "router"]
        assert "base_geo" in tools
    finally:
        registry.unregister("base_geo")


MCP_SERVER = str(Path(__file__).with_name("mcp_server.py"))


def test_mcp_tools_over_stdio_are_called_by_the_agent():
    pytest.importorskip("mcp")
    tools = ToolRegistry().load(f"mcp:{sys.executable} {MCP_SERVER}")
    names = {t.name: t for t in tools}
    assert set(names) == {"add_numbers", "shout", "explode"}
    assert names["shout"].signature() == "shout(text: string, times?: integer) -> any"
    assert names["add_numbers"].source.startswith("mcp:")
    model = TestModel(
        [py("print(shout('hey', times=2))\ntotal = add_numbers(a=20, b=22)"), py("explode()"), py("final_answer(total)")]
    )
    result = CodeAgent(model=model, tools=tools).run("t")
    assert result.steps[0].stdout == "HEY HEY\n"
    assert "MCP tool 'explode' failed" in result.steps[1].observation
    assert result.output == 42
    with pytest.raises(ToolError, match="missing the argument 'b'"):
        names["add_numbers"](1)


def test_tool_subclass_keeps_its_source():
    class Clock(Tool):
        name = "clock"
        description = "Tell the time."
        inputs = {}
        output_type = "string"

        def forward(self):
            return "noon"

    reg = ToolRegistry()
    assert reg.register(Clock(), source="lab").source == "lab"


def test_builtin_tools_are_registered_and_work_offline(tmp_path):
    assert {"final_answer", "current_datetime", "read_text"} <= set(registry.names())
    assert registry.get("read_text").source == "builtin"
    note = tmp_path / "note.txt"
    note.write_text("x" * 50)
    assert registry.get("read_text")(str(note), max_chars=10).startswith("xxxxxxxxxx\n[... 40 more")
    assert registry.get("current_datetime")()[:2] == "20"
    model = TestModel([py(f"final_answer(read_text({str(note)!r}, max_chars=5))")])
    assert CodeAgent(model=model, tools=["read_text>=1"]).run("t").output.startswith("xxxxx")


def test_a_failing_mcp_tool_leaves_the_cell_clean(capfd, monkeypatch, tmp_path):
    """The MCP server's own log and tracebacks went to this process's stderr (a notebook cell:
    130 lines of rich output when one tool failed); they go to its log file, named in the error."""
    pytest.importorskip("mcp")
    monkeypatch.setenv("SMOLNB_HOME", str(tmp_path))
    tools = {t.name: t for t in ToolRegistry().load(f"mcp:{sys.executable} {MCP_SERVER}")}
    with pytest.raises(ToolError, match=r"MCP tool 'explode' failed: .*server log: .*mcp-mcp_server.log"):
        tools["explode"]()
    assert tools["add_numbers"](a=1, b=2) == 3
    err = capfd.readouterr().err
    assert "Traceback" not in err and "kaboom" not in err, err[-2000:]
    [log] = (tmp_path / "logs").glob("mcp-*.log")
    assert "kaboom" in log.read_text()
