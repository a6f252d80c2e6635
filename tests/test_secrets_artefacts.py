"""Secrets kept out of artefacts the project writes: saved agents, snapshots, truncated text."""

import base64
import json

from smolnb import CodeAgent, tool
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from smolnb.redact import add_secret, redact

KEY = "sk-proj-Zq8T3vX9mK2pL5nR7wY4bC6d"


def slices(secret, n=8):
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


def test_a_saved_agent_keeps_no_key(tmp_path):
    agent = CodeAgent(model=TestModel(), model_params={"api_key": KEY, "temperature": 0})
    agent.save(tmp_path / "agent.json")
    text = (tmp_path / "agent.json").read_text()
    assert not any(s in text for s in slices(KEY))
    saved = json.loads(text)
    assert saved["model_params"]["temperature"] == 0
    assert "api_key" not in saved["model_params"]


def test_a_snapshot_stores_a_placeholder_for_a_variable_holding_a_secret(tmp_path):
    add_secret(KEY)
    store = RunStore(tmp_path / "runs.db")
    model = TestModel(
        [
            f"```python\ntoken = '{KEY}'\nheaders = {{'Authorization': 'Bearer ' + token}}\nn = 3\n```",
            "```python\nfinal_answer(n)\n```",
        ]
    )
    result = CodeAgent(model=model, store=store).run("use the token")
    assert result.output == 3
    raw = (tmp_path / "runs.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("runs.db-*"))
    decoded = b""
    for event in store.events(result.run_id):
        data = getattr(event, "data", None)
        if data:
            decoded += base64.b64decode(data)
        missing = getattr(event, "missing", None)
        if missing:
            assert "secret" in " ".join(missing.values())
    assert not any(s.encode() in raw + decoded for s in slices(KEY))


def test_text_is_redacted_before_it_is_cut(tmp_path):
    @tool
    def leak(n: int) -> str:
        """Return a long text with a key at the cut.

        Args:
            n: padding.
        """
        return "x" * n + KEY + "y" * 1000

    add_secret(KEY)
    model = TestModel(["```python\nprint(leak(490))\n```", "```python\nfinal_answer(1)\n```"])
    store = RunStore(tmp_path / "runs.db")
    agent = CodeAgent(model=model, tools=[leak], max_observation_chars=500, store=store)
    agent.run("leak")
    stored = (tmp_path / "runs.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("runs.db-*"))
    sent = json.dumps(model.calls, default=str)  # what a provider would have received
    leaked = [s for s in slices(KEY) if s.encode() in stored or s in sent]
    assert not leaked, leaked
    assert redact(KEY) == "[REDACTED]"


def test_a_key_given_only_as_api_key_is_a_known_secret():
    """A provider error that quotes the key (as some do) must not carry it into the result,
    the store or the logs: a key passed as `api_key=` is redacted from the moment it is given."""
    from smolnb.models import LiteLLMModel
    from smolnb.models.openai_api import OpenAIAPIModel

    first, second, third = "Kd93hQx7LmV2sPz4", "Tb58wRn3YcJ6qXe1", "Pw27mZk4NvB9dGs3"
    LiteLLMModel("openai/x", api_base="http://127.0.0.1:9/v1", api_key=first)
    OpenAIAPIModel("x", api_base="http://127.0.0.1:9/v1", api_key=second)
    CodeAgent(model=TestModel(), model_params={"api_key": third})
    for key in (first, second, third):
        assert redact(f"upstream rejected {key}") == "upstream rejected [REDACTED]"


def test_a_short_secret_inside_a_longer_key_does_not_leave_the_rest_showing():
    """Redacting a known secret that is the start of a longer key used to leave the rest of the
    longer key in the text (the key pattern no longer matched after the first replacement)."""
    add_secret("sk-short1")
    assert redact("key sk-short1-abcdefghijklmnopqrstuvwxyz done") == "key [REDACTED] done"
    add_secret("Qm7Lx2Vp9")
    assert redact("x Qm7Lx2Vp9 and Qm7Lx2Vp9Qm7Lx2Vp9 y") == "x [REDACTED] and [REDACTED] y"


def test_a_text_redacted_before_a_secret_is_known_is_redacted_again_after(monkeypatch):
    """Redaction remembers texts it has done; a secret added later (by add_secret, a pattern or
    the environment) still comes out of a text seen before."""
    from smolnb.redact import add_pattern, add_secret, redact

    text = "observation: token ZQ7xk2PLm9 and code AB-1234-CD in the output"
    assert redact(text) == text and redact(text) == text
    add_secret("ZQ7xk2PLm9")
    assert "ZQ7xk2PLm9" not in redact(text)
    add_pattern(r"AB-\d{4}-CD")
    assert "AB-1234-CD" not in redact(text)
    other = "the run printed pw-Vv83nQ0xLp here"
    assert redact(other) == other
    monkeypatch.setenv("LAB_SERVICE_PASSWORD", "pw-Vv83nQ0xLp")
    import smolnb.redact as r

    monkeypatch.setitem(r._cache, "checked", 0.0)  # the environment is read again at most once a second
    assert "pw-Vv83nQ0xLp" not in redact(other)
