"""What many tests share: a scripted model's reply."""

from __future__ import annotations


def py(code: str, thought: str | None = "go.") -> str:
    """A model reply that runs `code`: a thought (none when None) and one Python block."""
    head = f"Thought: {thought}\n" if thought is not None else ""
    return f"{head}```python\n{code}\n```"
