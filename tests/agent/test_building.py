"""One construction path for the front ends (`%%agent`, `smolnb run`)."""

from smolnb.agent.building import build_agent, open_memory
from smolnb.errors import BackendError
from smolnb.models import TestModel, register_model
from tests.helpers import py


def test_empty_settings_mean_the_defaults_and_imports_are_typed_names():
    register_model(
        "building", TestModel([py("import csv, difflib\nfinal_answer(difflib.get_close_matches('appel', ['apple'])[0])")])
    )
    agent = build_agent(model="building", max_steps=None, imports=["csv, difflib", ""], store=None)
    assert agent.max_steps == 10 and agent.model.model_id == "building"
    assert {"csv", "difflib"} <= agent.policy.authorized
    assert agent.run("Correct 'appel'.").output == "apple"
    assert build_agent(model="building", max_steps=3, store=None).max_steps == 3


def test_a_memory_that_cannot_open_is_reported_and_the_run_goes_on():
    said: list[str] = []

    def broken():
        raise BackendError("graph server at bolt://127.0.0.1:1 is down")

    assert open_memory(broken, report=said.append, hint=" (--no-memory stops this)") is None
    assert said == [
        "smolnb: long-term memory is unavailable, this run goes on without it: "
        "graph server at bolt://127.0.0.1:1 is down (--no-memory stops this)"
    ]
    sentinel = object()
    assert open_memory(lambda: sentinel, report=said.append) is sentinel and len(said) == 1
