"""LiteLLMModel through litellm's real HTTP path, against a scripted server on 127.0.0.1."""

import json

import pytest

from smolnb import CodeAgent, ToolCallingAgent, tool
from smolnb.errors import ModelError, TransientModelError
from smolnb.models import LiteLLMModel, get_model
from tests.openai_server import ScriptedOpenAIServer, completion


@pytest.fixture
def server(monkeypatch):
    with ScriptedOpenAIServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        yield srv


def test_code_agent_over_http(server):
    server.replies.extend([
        "Thought: compute.\n```python\nx = sum(range(5))\nprint(x)\n```",
        "```python\nfinal_answer(x)\n```",
    ])
    result = CodeAgent(model="openai/scripted-coder").run("What is 0+1+2+3+4?")
    assert result.output == 10
    assert result.status == "success"
    assert len(server.requests) == 2
    first = server.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["body"]["model"] == "scripted-coder"
    assert first["headers"]["authorization"] == "Bearer sk-test-not-a-real-key"
    assert first["body"]["messages"][0]["role"] == "system"
    assert all(isinstance(m["content"], str) for m in first["body"]["messages"])
    assert "Observation:\n10" in server.requests[1]["body"]["messages"][-1]["content"]
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0


def test_transient_errors_are_retried_honouring_retry_after(server):
    server.replies.extend([
        (429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after": "0.2"}),
        (503, {"error": {"message": "overloaded"}}),
        "```python\nfinal_answer('ok')\n```",
    ])
    model = LiteLLMModel("openai/scripted", backoff=0.01)
    result = CodeAgent(model=model).run("t")
    assert result.output == "ok"
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server):
    server.replies.append((400, {"error": {"message": "bad request: unknown field"}}))
    model = LiteLLMModel("openai/scripted", backoff=0.01)
    with pytest.raises(ModelError, match="unknown field") as info:
        model.generate([{"role": "user", "content": "hi"}])
    assert not isinstance(info.value, TransientModelError)
    assert len(server.requests) == 1


def test_gives_up_after_max_retries(server):
    server.default = (500, {"error": {"message": "boom"}})
    model = LiteLLMModel("openai/scripted", backoff=0.01, max_retries=2)
    with pytest.raises(TransientModelError, match="gave up after 3 attempts"):
        model.generate([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 3


def test_content_parts_are_flattened(server):
    server.replies.append("hello")
    model = get_model("openai/scripted")
    model.generate([{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]}])
    assert server.requests[0]["body"]["messages"][0]["content"] == "part one\npart two"


def test_tool_calling_agent_over_http(server):
    @tool
    def weather(city: str) -> str:
        """Weather in a city.

        Args:
            city: The city.
        """
        return f"sunny in {city}"

    server.replies.extend([
        completion("", tool_calls=[{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo"})}}]),
        completion("", tool_calls=[{"id": "c2", "type": "function", "function": {"name": "final_answer", "arguments": json.dumps({"answer": "sunny"})}}]),
    ])
    result = ToolCallingAgent(model="openai/scripted", tools=[weather]).run("Weather in Oslo?")
    assert result.output == "sunny"
    sent_tools = server.requests[0]["body"]["tools"]
    assert {t["function"]["name"] for t in sent_tools} == {"weather", "final_answer"}
    assert not any(k.startswith("_") for k in server.requests[0]["body"])
    tool_message = server.requests[1]["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "sunny in Oslo"
