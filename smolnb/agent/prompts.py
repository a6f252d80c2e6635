"""The prompts. Short and concrete, so that small code models follow them."""

from __future__ import annotations

CODE_SYSTEM = """You solve tasks by writing Python code. The code runs in a persistent Python session.

Each reply: one short thought, then one ```python code block. Then stop.
- Use print() to see values; the printed output comes back to you.
- When you know the answer, call final_answer(answer) in the code.
- If the task is simple, compute the answer and call final_answer in the same block.
- Always answer with code, even for a yes/no or one-word answer.

{tools}{agents}
Import every module you use. You may import: {imports}.
Variables persist between code blocks. Do not define final_answer yourself."""

# Worked examples, sent as turns of the conversation before the task: a small model follows a
# reply it sees far better than one described (in the system prompt the 0.5B answered 4 of 35
# basics tasks, and 7 of 31 data tasks, in prose with no code). General patterns, no suite's task.
CODE_EXAMPLES = (
    (
        "Write the function below, then answer with it.\n```python\ndef clamp(x: float, low: float, high: float) -> float:\n"
        '    """x limited to the range from low to high.\n    >>> clamp(5, 0, 3)\n    3\n    """\n```',
        "Thought: I write the whole function, then answer with the function itself.\n```python\n"
        'def clamp(x: float, low: float, high: float) -> float:\n    """x limited to the range from low to high.\n'
        '    >>> clamp(5, 0, 3)\n    3\n    """\n    return max(low, min(x, high))\n\nfinal_answer(clamp)\n```',
    ),
    (
        "What is the sum of the squares of 1 to 10?",
        "Thought: I compute it and give the answer.\n```python\ntotal = sum(i * i for i in range(1, 11))\nfinal_answer(total)\n```",
    ),
    (
        "How many days are there from 2021-03-01 to 2021-04-15?",
        "Thought: I import what I need and subtract the dates.\n```python\nfrom datetime import date\n"
        "final_answer((date(2021, 4, 15) - date(2021, 3, 1)).days)\n```",
    ),
    (
        'How many words in "the cat sat" have exactly 3 letters?',
        'Thought: I count them.\n```python\nwords = "the cat sat".split()\nfinal_answer(sum(1 for w in words if len(w) == 3))\n```',
    ),
)

TOOLS_SECTION = """
These functions are already defined: call them directly in your code (never import them) and use what they return:
{items}
For example: `result = {example}` then `final_answer(result)`.
"""

AGENTS_SECTION = """
You can delegate to these helpers; call them in your code with a task string and they return a text answer:
{items}
To run several helpers at the same time: answers = parallel([(helper_a, "task"), (helper_b, "task")]).
"""

TOOL_CALLING_SYSTEM = """You solve tasks by calling tools. Call one or more tools; their results come back to you.
When you know the answer, call the final_answer tool with it. Do not answer in plain text."""

TASK = "Task: {task}"

CHALLENGE = """You answered {answer}, a constant: nothing the code ran computed or printed it.
Compute the answer with code from the task's data, print it, and answer with the computed value.
If {answer} is right, check it with code and answer again."""

PRINTED_NOTHING = "The code ran and printed nothing. print() the values you need, or call final_answer."

DEFINED = "The code ran and defined {names}."

DEFINED_SILENTLY = "The code ran, defined {names}, and printed nothing. print() the values you need, or call final_answer."

CHECKED_SILENTLY = """{ran} {count} passed, and nothing was printed.
If that checks the answer to the task, call final_answer with it."""

ASSERTS_PASSED = "Its {count} passed."

ONLY_DEFINED = """The code ran and defined {names}; nothing called {function} and nothing was printed.
Next: check it on an example whose result you know: `assert {function}(...) == expected`, then call final_answer."""

FUNCTION_ANSWERED = """You answered with the function {name} itself, but the task asks for a value.
Call {name} with the task's values and pass what it returns to final_answer."""

MISFIT = """You answered {answer} (type {kind}), but the task asks for {wanted}.
Read the task again, compute what it asks with code, print it, and answer with that value."""

RUT = """Your attempts so far failed:
{failures}
The same error came back. Write a new solution, different from those attempts, in one code block."""

REPEATED = """You sent the same code as step {step} again; it already ran (its result is above).
Do the next thing the task needs: call what you defined on an example and print() the result, or call final_answer."""

EXAMPLES_PASSED = "The examples given for {name} pass ({count})."

EXAMPLES_FAILED = """The examples given for {name}: {failed} of {count} fail:
{lines}
Fix {name} so that they pass."""

EXAMPLES_UNFINISHED = """The examples given for {names} did not finish: {error}
Fix it so that they run quickly and pass."""

EXAMPLE_FAILED = "- {call} returned {got}, expected {want}"

EXAMPLE_RAISED = "- {call} raised {got}, expected {want}"

NOT_ACCEPTED = "Your final_answer was not accepted: the function's own examples fail. Fix it, then call final_answer again."

SKIPPED = "The user did not run this code (they skipped it at approval). Do something else, or answer with what you have."

EDITED = "The user edited your code before it ran; this is what ran:\n```python\n{code}\n```"

NO_CODE = """Error: your reply had no ```python code block (or one with only comments), so nothing ran.
Reply with one short thought, then a ```python code block that computes the answer from the task's data and passes it to final_answer."""

SAME_CODE = "You sent the same code as in the previous step and got the same error. Change the code to fix the error."

IMPORT_HINT = "Hint: add `{statement}` at the top of your code."

DEFINE_HINT = "Hint: nothing is defined for you but the functions listed above. Write the data from the task into your code, e.g. `{name} = ...`."

DEFINE_FUNCTION_HINT = (
    "Hint: `{name}` is not a function you have: write it yourself in this code, `def {name}(...):` with its body, "
    "before the line that calls it."
)

NO_TOOL_CALL = "Error: your reply called no tool. Call a tool, or final_answer with your answer."

PLANNING = """Before you continue, take stock. Do not write code now.
## Facts
What you know so far, and what you still need to find out.
## Plan
A short numbered plan to finish the task."""

PLAN_MESSAGE = "My current facts and plan:\n{plan}"

FINAL = """You have used all your steps. Reply with one ```python code block that calls final_answer with your best answer from what you found."""

RESUMED = """This run was stopped and is now resumed in a new Python session.
Variables restored: {restored}.
Variables lost: {lost}. Re-create the lost ones if you need them, then continue the task."""

TOOLS_BEFORE_CRASH = """Before the run stopped, the code of the next step had already made these tool calls:
{calls}
They may have had effects; do not repeat them unless you must."""

TOOL_IMPORT_HINT = "Hint: {name} is a function that is already defined. Do not import it: call {name}(...) directly."

EXTRACT_FACTS = """A task was solved. Task: {task}
Answer: {answer}

List the lasting facts this establishes, as JSON: {{"facts": [{{"subject": "...", "relation": "ONE_WORD_RELATION", "object": "..."}}]}}.
Only facts stated in the task or the answer; {{"facts": []}} if there are none. Reply with the JSON only."""
