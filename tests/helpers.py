"""What many tests share: a scripted model's reply."""

from __future__ import annotations


def py(code: str, thought: str | None = "go.") -> str:
    """A model reply that runs `code`: a thought (none when None) and one Python block."""
    head = f"Thought: {thought}\n" if thought is not None else ""
    return f"{head}```python\n{code}\n```"


def _worked_examples() -> set[str]:
    from smolnb.agent import prompts

    return {text for pair in prompts.CODE_EXAMPLES for text in (prompts.TASK.format(task=pair[0]), pair[1])}


def run_messages(messages: list[dict]) -> list[dict]:
    """The messages of the run itself: without the system prompt and the worked examples sent before the task."""
    shown = _worked_examples()
    return [m for m in messages[1:] if m["content"] not in shown]


def replies(messages: list[dict]) -> int:
    """How many steps a conversation has done: the model's own replies in it."""
    return sum(1 for m in run_messages(messages) if m["role"] == "assistant")


def task_message(messages: list[dict]) -> str:
    """The content of the message that carries the task (what the run knows, then the task)."""
    return run_messages(messages)[0]["content"]
