"""Both HTTP model paths, litellm's (`openai/...`) and smolnb's own OpenAI-compatible client
(`openai-api/openai/...`), over real HTTP against a scripted server on 127.0.0.1."""

import asyncio
import gc
import json
import socket
import threading
import time
import warnings

import pytest

from smolnb import CodeAgent, ToolCallingAgent, tool
from smolnb.errors import ModelError, TransientModelError, UserError
from smolnb.models import LiteLLMModel, OpenAIAPIModel, get_model
from tests.openai_server import ScriptedOpenAIServer, completion


@pytest.fixture
def server(monkeypatch):
    with ScriptedOpenAIServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
        yield srv


@pytest.fixture(params=["litellm", "openai-api"])
def path(request):
    """Which client: a model string and a constructor for each."""
    return request.param


def name(path, model):
    return f"openai/{model}" if path == "litellm" else f"openai-api/openai/{model}"


def make(path, model, **options):
    return LiteLLMModel(f"openai/{model}", **options) if path == "litellm" else get_model(f"openai-api/openai/{model}", **options)


def test_code_agent_over_http(server, path):
    server.replies.extend(
        [
            "Thought: compute.\n```python\nx = sum(range(5))\nprint(x)\n```",
            "```python\nfinal_answer(x)\n```",
        ]
    )
    result = CodeAgent(model=name(path, "scripted-coder")).run("What is 0+1+2+3+4?")
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


def test_transient_errors_are_retried_honouring_retry_after(server, path):
    server.replies.extend(
        [
            (429, {"error": {"message": "slow down", "type": "rate_limit"}}, {"retry-after": "0.2"}),
            (503, {"error": {"message": "overloaded"}}),
            "```python\nfinal_answer('ok')\n```",
        ]
    )
    model = make(path, "scripted", backoff=0.01)
    started = time.perf_counter()
    result = CodeAgent(model=model).run("t")
    assert time.perf_counter() - started >= 0.2  # waited as the server asked
    assert result.output == "ok"
    assert len(server.requests) == 3


def test_client_errors_are_not_retried(server, path):
    server.replies.append((400, {"error": {"message": "bad request: unknown field"}}))
    model = make(path, "scripted", backoff=0.01)
    with pytest.raises(ModelError, match="unknown field") as info:
        model.generate([{"role": "user", "content": "hi"}])
    assert not isinstance(info.value, TransientModelError)
    assert len(server.requests) == 1


def test_gives_up_after_max_retries(server, path):
    server.default = (500, {"error": {"message": "boom"}})
    model = make(path, "scripted", backoff=0.01, max_retries=2)
    with pytest.raises(TransientModelError, match="gave up after 3 attempts"):
        model.generate([{"role": "user", "content": "hi"}])
    assert len(server.requests) == 3


def test_content_parts_are_flattened(server, path):
    server.replies.append("hello")
    model = get_model(name(path, "scripted"))
    model.generate([{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]}])
    assert server.requests[0]["body"]["messages"][0]["content"] == "part one\npart two"


def test_tool_calling_agent_over_http(server, path):
    @tool
    def weather(city: str) -> str:
        """Weather in a city.

        Args:
            city: The city.
        """
        return f"sunny in {city}"

    server.replies.extend(
        [
            completion(
                "",
                tool_calls=[
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo"})}}
                ],
            ),
            completion(
                "",
                tool_calls=[
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "final_answer", "arguments": json.dumps({"answer": "sunny"})},
                    }
                ],
            ),
        ]
    )
    result = ToolCallingAgent(model=name(path, "scripted"), tools=[weather]).run("Weather in Oslo?")
    assert result.output == "sunny"
    sent_tools = server.requests[0]["body"]["tools"]
    assert {t["function"]["name"] for t in sent_tools} == {"weather", "final_answer"}
    assert not any(k.startswith("_") for k in server.requests[0]["body"])
    tool_message = server.requests[1]["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "sunny in Oslo"


# -- smolnb's own OpenAI-compatible client ------------------------------------------------------


def test_openai_api_names_its_service_variables(monkeypatch):
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)
    with pytest.raises(UserError, match="set VLLM_BASE_URL"):
        get_model("openai-api/vllm/Qwen/Qwen2.5-Coder-7B")
    monkeypatch.setenv("VLLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("VLLM_API_KEY", "sk-vllm")
    model = get_model("openai-api/vllm/Qwen/Qwen2.5-Coder-7B")
    assert (model.model, model.model_id, model.api_base) == (
        "Qwen/Qwen2.5-Coder-7B",
        "openai-api/vllm/Qwen/Qwen2.5-Coder-7B",
        "http://127.0.0.1:9/v1",
    )
    with pytest.raises(UserError, match="openai-api/<service>/<model>"):
        get_model("openai-api/only-a-service")
    with pytest.raises(UserError, match="http"):
        OpenAIAPIModel("m", api_base="127.0.0.1:8000")


def test_openai_api_sends_params_and_key_per_call(server):
    server.replies.extend(["one", "two"])
    model = OpenAIAPIModel("m", api_base=server.base_url, api_key="sk-model-key", temperature=0.5)
    model.generate([{"role": "user", "content": "hi"}], stop=["Observation:"], max_tokens=7)
    model.generate([{"role": "user", "content": "hi"}], api_key="sk-call-key", temperature=0.0)
    first, second = (r["body"] for r in server.requests)
    assert first == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
        "max_tokens": 7,
        "stop": ["Observation:"],
    }
    assert second["temperature"] == 0.0 and "api_key" not in second
    assert server.requests[0]["headers"]["authorization"] == "Bearer sk-model-key"
    assert server.requests[1]["headers"]["authorization"] == "Bearer sk-call-key"


def test_openai_api_unauthorized_names_the_key(server):
    server.replies.append((401, {"error": {"message": "invalid api key"}}))
    with pytest.raises(ModelError, match="401: invalid api key.*API key") as info:
        OpenAIAPIModel("m", api_base=server.base_url).generate([{"role": "user", "content": "hi"}])
    assert not isinstance(info.value, TransientModelError)


def test_openai_api_malformed_reply_is_a_clear_error(server):
    server.replies.extend([{"id": "x", "object": "chat.completion", "choices": []}] * 2)
    with pytest.raises(ModelError, match="not an OpenAI chat completion"):
        OpenAIAPIModel("m", api_base=server.base_url, max_retries=0).generate([{"role": "user", "content": "hi"}])
    result = CodeAgent(model=OpenAIAPIModel("m", api_base=server.base_url, max_retries=0)).run("t")
    assert result.status == "error" and "not an OpenAI chat completion" in result.error


def test_openai_api_down_server_is_transient_and_named():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAIAPIModel("m", api_base=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)
    with pytest.raises(
        TransientModelError, match=f"cannot reach http://127.0.0.1:{port}/v1/chat/completions.*server running.*gave up after 2"
    ):
        model.generate([{"role": "user", "content": "hi"}])


def test_openai_api_timeout(server):
    server.latency = 1.0
    server.default = "late"
    model = OpenAIAPIModel("m", api_base=server.base_url, timeout=0.2, max_retries=0)
    # the reply comes after 1 s: a client that waited for it would return "late", not raise
    with pytest.raises(TransientModelError, match="within 0.2 s"):
        model.generate([{"role": "user", "content": "hi"}])


def test_openai_api_reuses_connections_and_closes_them_with_the_loop(server):
    """A loop's calls share one session; it closes when the loop shuts down (asyncio.run, or the
    loops smolnb makes for sync calls), so nothing is left open or warned about."""
    from smolnb.models import openai_api

    server.default = "ok"
    model = OpenAIAPIModel("m", api_base=server.base_url)

    async def calls():
        replies = await asyncio.gather(*(model.agenerate([{"role": "user", "content": "hi"}]) for _ in range(8)))
        return [r.content for r in replies], await openai_api._session()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replies, session = asyncio.run(calls())
        assert replies == ["ok"] * 8
        assert session.closed
        for _ in range(3):  # sync calls from threads: each on a loop smolnb makes and closes
            out = []
            thread = threading.Thread(
                target=lambda out=out: out.append(model.generate([{"role": "user", "content": "hi"}]).content)
            )
            thread.start()
            thread.join()
            assert out == ["ok"]
        gc.collect()
    assert all(not s.closed for s, _ in openai_api._sessions.values())  # closed ones are forgotten
    assert len(openai_api._sessions) <= 1  # at most the main thread's kept loop
