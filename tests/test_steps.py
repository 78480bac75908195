"""Do notebooks run past a failed step, and is the instructor's reference kept out of the package?"""

import pytest

from finetune_kit.course import reference, steps


def test_need_passes_when_every_result_is_there():
    steps.need({"splits": object(), "tokenizer": object()}, "splits", "tokenizer", step="step 3")


def test_need_names_the_missing_results_and_the_step_in_one_line():
    with pytest.raises(steps.StepSkipped) as err:
        steps.need({"splits": None}, "splits", "tokenizer", step="step 3 (split)")
    assert "splits, tokenizer" in str(err.value) and "step 3 (split)" in str(err.value)
    assert err.value._render_traceback_() == [f"StepSkipped: {err.value}"]  # what IPython shows


def test_reference_loads_from_the_instructor_folder_only(tmp_path, monkeypatch):
    assert reference.available()
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    with pytest.raises(reference.ReferenceMissing, match="hand-out"):
        reference.load("no_such_part")


def test_no_reference_answer_is_importable_from_the_package():
    """An exercise's answer lives in autograde/reference only: no kit module offers a function of its name."""
    import importlib
    import inspect
    import pkgutil

    import finetune_kit

    offered = {}
    for info in pkgutil.walk_packages(finetune_kit.__path__, "finetune_kit."):
        if info.name.startswith(("finetune_kit.grading", "finetune_kit.commands", "finetune_kit.__main__")):
            continue  # the grader and the CLI are not what a student imports
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if callable(value) and not name.startswith("_") and getattr(value, "__module__", "") == info.name:
                offered.setdefault(name, info.name)
    answers = {}
    for path in sorted(reference.REFERENCE_DIR.glob("[!_]*.py")):
        module = reference.load(path.stem)
        answers.update({name: path.name for name, value in vars(module).items()
                        if inspect.isfunction(value) and value.__module__ == module.__name__
                        and not name.startswith("_")})
    clashes = {name: (answers[name], offered[name]) for name in answers.keys() & offered.keys()}
    assert not clashes, f"answers importable from the package: {clashes}"
