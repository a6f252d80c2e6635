"""Approve before run: each code block waits for a decision (run, edit, skip), recorded in the trace."""

from smolnb import CodeAgent
from smolnb.events import Step
from smolnb.models import TestModel
from smolnb.persistence import RunStore
from tests.helpers import py


def test_each_block_waits_for_run_edit_or_skip_and_the_trace_records_it(tmp_path):
    asked = []
    decisions = iter(["run", "edit", "skip", "run"])

    def approve(step, code):
        asked.append((step, code))
        choice = next(decisions)
        if choice == "run":
            return code
        if choice == "edit":
            return code.replace("rm_everything()", "x = 2")
        return None

    model = TestModel([py("x = 1"), py("rm_everything()"), py("x = x * 100"), py("final_answer(x)")])
    store = RunStore(tmp_path / "runs.db")
    result = CodeAgent(model=model, approve=approve, store=store).run("t")
    assert result.output == 2  # the edit ran; the skipped block did not
    assert [s for s, _ in asked] == [1, 2, 3, 4]
    steps = [e for e in store.events(result.run_id) if isinstance(e, Step)]
    assert [s.approval for s in steps] == ["approved", "edited", "skipped", "approved"]
    edited = steps[1]
    assert edited.code == "x = 2" and edited.proposed_code == "rm_everything()"
    assert "did not run" in steps[2].observation and steps[2].stdout == ""
    told = model.calls[2]["messages"][-1]["content"]
    assert "edited your code" in told  # the model learns its code was changed, and to what


def test_without_approve_nothing_waits():
    result = CodeAgent(model=TestModel([py("final_answer(3)")])).run("t")
    assert result.steps[0].approval is None and result.output == 3
