import pytest

from smolnb import CodeAgent
from smolnb.cli import main
from smolnb.models import TestModel
from tests.helpers import py


def test_runs_list_show_delete_prune(capsys):
    ids = [CodeAgent(model=TestModel([py(f"final_answer({i})")], model_id=f"m{i % 2}")).run(f"task {i}").run_id for i in range(3)]
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert all(i in out for i in ids)
    assert main(["runs", "--model", "m1"]) == 0
    out = capsys.readouterr().out
    assert ids[1] in out and ids[0] not in out
    assert main(["runs", "show", ids[0]]) == 0
    assert "final_answer(0)" in capsys.readouterr().out
    assert main(["runs", "delete", ids[0]]) == 0
    assert main(["runs", "prune", "--keep", "1"]) == 0
    assert "deleted 1 runs" in capsys.readouterr().out
    assert main(["runs", "show", "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_run_command_with_a_registered_model(capsys):
    from smolnb.models import register_model

    register_model("cli-test", TestModel([py("final_answer(2 ** 10)")]))
    assert main(["run", "-m", "cli-test", "What is 2**10?"]) == 0
    assert capsys.readouterr().out.strip() == "1024"


def test_run_command_imports_take_spaces_after_commas(capsys):
    from smolnb.models import register_model

    register_model(
        "cli-test", TestModel([py("import csv, difflib\nfinal_answer(difflib.SequenceMatcher(None, 'ab', 'ab').ratio())")])
    )
    assert main(["run", "-m", "cli-test", "--imports", "csv, difflib", "Compare."]) == 0
    assert capsys.readouterr().out.strip() == "1.0"


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["run", "-m", "nonsense", "hi"]) == 2
    assert "unknown model 'nonsense'" in capsys.readouterr().err


def test_models_lists_local_models(capsys, monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", "http://127.0.0.1:8000/v1")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "local/qwen2.5-coder-0.5b" in out and "local/gemma-3-270m" in out
    assert "OpenAI-compatible services" in out and "vllm" in out


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as info:
        main(["runs", "show"])
    assert info.value.code == 2
