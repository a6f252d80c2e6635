"""The test suite's own guards: no unasked real model."""

import pytest

from smolnb import CodeAgent
from smolnb.models import LiteLLMModel, OpenAIAPIModel, get_model
from tests.helpers import py
from tests.openai_server import ScriptedOpenAIServer


def test_a_remote_model_a_test_did_not_ask_for_is_refused_and_named(real_model_guard):
    result = CodeAgent(model=LiteLLMModel("openai/gpt-4o-mini", api_key="sk-test"), store=None).run("What is 2 + 2?")
    assert result.status == "error" and "without asking for it" in result.error
    with pytest.raises(Exception, match="remote model 'openai-api/svc/m'"):
        OpenAIAPIModel("m", api_base="http://203.0.113.9/v1", model_id="openai-api/svc/m", max_retries=0).generate([])
    assert len(real_model_guard.violations) == 2
    real_model_guard.violations.clear()  # seen; the guard would fail this test otherwise


def test_the_local_model_needs_its_marker(real_model_guard):
    model = get_model("local/qwen2.5-coder-0.5b")
    with pytest.raises(Exception, match="real local model"):
        model.generate([{"role": "user", "content": "hi"}])
    assert real_model_guard.violations
    real_model_guard.violations.clear()


def test_a_scripted_server_on_loopback_is_no_real_model(real_model_guard):
    with ScriptedOpenAIServer() as server:
        server.replies.append(py("final_answer(4)"))
        model = OpenAIAPIModel("scripted", api_base=server.base_url, max_retries=0)
        assert CodeAgent(model=model, store=None).run("2 + 2?").output == 4
    assert real_model_guard.violations == []


# Two tests in this order: the first changes the world, the second finds it as it was.


def test_world_1_a_test_registers_configures_and_traces():
    from smolnb import tracing
    from smolnb.models import TestModel, register_model
    from smolnb.scheduling import scheduler
    from smolnb.tools import tool
    from smolnb.tools.registry import registry

    @tool(version="1.0.0")
    def leaked_tool(x: int) -> int:
        """A tool that must not outlive its test.

        Args:
            x: a number.
        """
        return x

    register_model("leaked-model", TestModel())
    scheduler.configure("leaked-*", concurrency=1)
    registry.register(leaked_tool)
    tracing.hooks.append(print)
    assert "leaked_tool" in registry.names()


def test_world_2_the_next_test_finds_it_as_it_was():
    from smolnb import tracing
    from smolnb.errors import UserError
    from smolnb.models import get_model
    from smolnb.scheduling import scheduler
    from smolnb.tools.registry import registry

    with pytest.raises(UserError):
        get_model("leaked-model")
    assert scheduler.limits_for("leaked-x").concurrency != 1
    assert "leaked_tool" not in registry.names()
    assert print not in tracing.hooks
