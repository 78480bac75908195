"""The grader's run cache: the kit's own runs (the model Part 3 evaluates, its scores, the solutions' Trainer
runs) are computed once, before the class, and reach the sandboxed kernels without changing a grade."""

import json

import nbformat
import pytest
from grading_corpus import CLASS, EXPECTED
from grading_corpus import TRAINING_LIMITS as LIMITS
from grading_corpus import isolated_or_skip as _isolated_or_skip

from finetune_kit.grading import runner


@pytest.mark.slow
def test_the_run_cache_reaches_sandboxed_kernels_and_changes_no_grade(tmp_path):
    """Part 3 evaluates the instructor's model: graded with the solutions' runs cached, a kernel of another
    uid reads them (read-only); without the shared cache it gets a private copy of the model alone and
    scores for itself. Both earn the same."""
    _isolated_or_skip()
    assignment, name = "part3_evaluate_deploy", "part3_evaluation.ipynb"
    (tmp_path / "class" / "perfect").mkdir(parents=True)
    (tmp_path / "class" / "perfect" / name).write_bytes((CLASS / "perfect" / name).read_bytes())
    scores = {}
    for cached in (True, False):
        out = tmp_path / f"graded-{cached}"
        if cached:  # a class of one starts no warm-up of its own: this is a late submission after the class
            runner.warm_run_cache(out, [assignment], "smoke", threads=runner.kernel_threads(1))
        runner.grade_class(tmp_path / "class", out, runner.Options(jobs=1, limits=LIMITS, run_cache=cached,
                                                                    assignments=[assignment]))
        record = json.loads((out / "results" / "perfect.json").read_text())["assignments"][assignment]
        nb = nbformat.read(out / "autograded" / "perfect" / assignment / name, 4)
        text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        cells = {k: v[0] for k, v in record["cells"].items() if k.startswith("part3_evaluation/") and v[2]}
        scores[cached] = (record["status"], cells)
        assert "reused the grader's cached run ensure_model-" in text  # the instructor's model, either way
        assert ("reused the grader's cached run predict_proba-" in text) == cached
        # the test's Trainer run and both folds' (the warm-up trains on the threads graded kernels get)
        assert text.count("reused the grader's cached run trainer_train-") == (3 if cached else 0)
        errors = [(o.ename, o.evalue) for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if o.output_type == "error"]
        assert not errors, errors  # every cell of a perfect submission runs, not only its graded ones
    assert scores[True] == scores[False], scores
    want = EXPECTED["students"]["perfect"]["cells"][assignment]
    assert scores[True][1] == {k: v for k, v in want.items() if k.startswith("part3_evaluation/")}


@pytest.mark.slow
def test_the_warm_up_caches_the_kits_own_runs(tmp_path):
    """Part 2's and Part 3's solutions are warmed: the model Part 3 evaluates is trained once for both its
    notebooks, its scores and export are in the cache, and so are the solutions' own Trainer runs
    (Part 2's two, Part 3's folds) for students whose runs match them."""
    from finetune_kit.grading import runcache

    runner.warm_run_cache(tmp_path, ["part2_finetuning", "part3_evaluate_deploy"], "smoke")
    cache = tmp_path / runner.RUN_CACHE
    marks = sorted(p.name.rsplit("-", 1)[0] for p in cache.glob(".warmed-*"))
    assert marks == [".warmed-part2_finetuning", ".warmed-part3_evaluate_deploy"], marks
    kinds = sorted(p.name.split("-")[0] for p in cache.iterdir() if (p / runcache.DONE).exists())
    assert kinds.count("ensure_model") == 1 and {"predict_proba", "export_onnx"} <= set(kinds), kinds
    assert kinds.count("trainer_train") >= 4, kinds  # Part 2: fine-tuned and from scratch; Part 3: 2 folds
    assert not (tmp_path / ".warm-up").exists()


@pytest.mark.slow
def test_a_class_of_one_trains_only_part3s_model_first(tmp_path):
    """One submission: no whole-solution warm-up first, only the model Part 3 evaluates (the instructor's,
    which student kernels cannot train) is trained before grading, by one solution notebook; every part
    earns the usual marks."""
    _isolated_or_skip()
    from finetune_kit.grading import runcache

    (tmp_path / "class" / "perfect").mkdir(parents=True)
    for name in ("part2_finetuning.ipynb", "part3_evaluation.ipynb"):
        (tmp_path / "class" / "perfect" / name).write_bytes((CLASS / "perfect" / name).read_bytes())
    out = tmp_path / "graded"
    runner.grade_class(tmp_path / "class", out, runner.Options(
        jobs=1, limits=LIMITS, assignments=["part2_finetuning", "part3_evaluate_deploy"]))
    made = sorted(p.name.split("-")[0] for p in (out / runner.RUN_CACHE).iterdir() if (p / runcache.DONE).exists())
    # one model, not one per notebook; no Trainer run of the solutions besides the one inside it
    assert made.count("ensure_model") == 1 and made.count("trainer_train") <= 1 and len(set(made)) <= 2, made
    assert not list((out / runner.RUN_CACHE).glob(".warmed-*"))  # a partial warm-up marks nothing as warmed
    record = json.loads((out / "results" / "perfect.json").read_text())["assignments"]
    for assignment in ("part2_finetuning", "part3_evaluate_deploy"):
        absent = ("part3_deployment/",)  # not handed in here
        got = {k: v[0] for k, v in record[assignment]["cells"].items() if v[2] and not k.startswith(absent)}
        want = {k: v for k, v in EXPECTED["students"]["perfect"]["cells"][assignment].items()
                if not k.startswith(absent)}
        assert got == want, (assignment, record[assignment]["events"])
