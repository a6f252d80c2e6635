import pytest

from smolnb import Tool, tool
from smolnb.errors import ToolError, UserError
from smolnb.tools import ToolSet


@tool(version="1.1.0", requires=["numpy>=1.20"])
def scale(values: list[float], factor: float = 2.0) -> list:
    """Scale numbers by a factor.

    Args:
        values: The numbers to scale.
        factor: What to multiply by.

    Returns:
        The scaled numbers.
    """
    return [v * factor for v in values]


def test_tool_from_signature_and_docstring():
    assert scale.name == "scale"
    assert scale.description == "Scale numbers by a factor."
    assert scale.inputs["values"] == {"type": "array", "description": "The numbers to scale."}
    assert scale.inputs["factor"]["type"] == "number" and scale.inputs["factor"]["default"] == 2.0
    assert scale.output_type == "array"
    assert scale.version == "1.1.0" and scale.requires == ("numpy>=1.20",)
    assert scale.signature() == "scale(values: array, factor?: number) -> array"
    assert scale([1, 2]) == [2, 4]


def test_json_schema():
    schema = scale.to_json_schema()["function"]
    assert schema["name"] == "scale"
    assert schema["parameters"]["required"] == ["values"]


def test_inputs_are_validated_before_the_call():
    with pytest.raises(ToolError, match="must be array"):
        scale("1,2")
    with pytest.raises(ToolError, match="unexpected argument 'scale'"):
        scale([1], scale=3)
    with pytest.raises(ToolError, match="missing the argument 'values'"):
        scale()
    with pytest.raises(ToolError, match="must be number, got bool"):
        scale([1], True)


def test_stateful_tool_subclass():
    class Counter(Tool):
        name = "count"
        description = "Count calls."
        inputs = {"step": {"type": "integer", "description": "How much."}}
        output_type = "integer"

        def __init__(self):
            self.n = 0

        def forward(self, step):
            self.n += step
            return self.n

    counter = Counter()
    tools = ToolSet([counter])
    assert tools["count"](2) == 2 and tools["count"](step=3) == 5


def test_bad_definitions_are_user_errors():
    def undocumented(x: int) -> int:
        return x

    with pytest.raises(UserError, match="needs a description"):
        tool(undocumented)
    with pytest.raises(UserError, match="semver"):
        tool(version="one")(scale.fn)


def test_toolset_add_remove_and_suggestions():
    tools = ToolSet([scale])
    rev = tools.revision
    with pytest.raises(UserError, match="Did you mean 'scale'"):
        tools.remove("scael")
    tools.remove("scale")
    assert "scale" not in tools and tools.revision > rev
    with pytest.raises(UserError, match="reserved"):

        @tool
        def final_answer(x: str) -> str:
            """Nope.

            Args:
                x: x.
            """
            return x

        tools.add(final_answer)
