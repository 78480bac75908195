"""Does the grader's run cache give back exactly the run it stored, and only that run?"""

import dataclasses
import shutil

import numpy as np
import pytest

from conftest import ROOT
from finetune_kit.course import config, memo, reference
from finetune_kit.grading import cached_steps, runcache, trainer_runs
from finetune_kit.sentiment import data, models, train

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
PROFILE = config.PROFILES["smoke"]
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, scope="module")
def steps_cache():
    """The grader's step cache, as a graded kernel has it (each test points it at its own folder)."""
    memo.install(cached_steps.RunCacheSteps())
    yield
    cached_steps.uninstall()


def _no_training(*args, **kwargs):
    raise AssertionError("trained although the cache holds this run")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Part 3's model as the grader's warm-up makes it: trained by the reference recipe, cache writable."""
    cache = tmp_path_factory.mktemp("run-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(runcache.CACHE_ENV, str(cache))
        mp.setenv(runcache.WRITE_ENV, "1")
        model_dir = train.ensure_model(PROFILE, tmp_path_factory.mktemp("grader") / "sentiment-model")
    return cache, model_dir


def _student_kernel(monkeypatch, cache):
    """What a sandboxed kernel has: the cache read-only, no reference answers, no way to train."""
    monkeypatch.setenv(runcache.CACHE_ENV, str(cache))
    monkeypatch.delenv(runcache.WRITE_ENV, raising=False)
    monkeypatch.setattr(reference, "available", lambda: False)
    monkeypatch.setattr(models, "load_classifier", _no_training)


def test_the_grader_stores_complete_runs(stored):
    cache, _ = stored
    entries = sorted(p.name.split("-")[0] for p in cache.iterdir() if (p / "complete").exists())
    assert entries == ["ensure_model"]
    assert not [p for p in cache.iterdir() if p.name.startswith(".") and p.name != runcache.LOCKS], \
        "no half-written entries left"
    private = [p for p in cache.rglob("*") if p.stat().st_mode & 0o004 == 0]
    assert not private, f"sandboxed kernels (other uids) could not read {private[:3]}"


def test_a_student_kernel_gets_the_same_model_without_training(stored, tmp_path, monkeypatch, capsys):
    cache, model_dir = stored
    _student_kernel(monkeypatch, cache)
    again = train.ensure_model(PROFILE, tmp_path / "student-model")
    assert again == tmp_path / "student-model"
    assert (again / "metrics.json").read_text() == (model_dir / "metrics.json").read_text()
    assert data.load_saved_splits(again).test.equals(data.load_saved_splits(model_dir).test)
    model, tokenizer = train.load_trained(again)  # a real model folder, not a marker
    assert 0 <= float(train.predict_proba(model, tokenizer, ["great"])[0]) <= 1
    assert "reused the grader's cached run ensure_model-" in capsys.readouterr().out


def test_other_data_or_settings_miss_the_cache(stored, tmp_path, monkeypatch):
    cache, _ = stored
    _student_kernel(monkeypatch, cache)
    other_profile = dataclasses.replace(PROFILE, num_epochs=2)
    with pytest.raises(FileNotFoundError, match="run Part 2 first"):  # a miss, and nothing to train with
        train.ensure_model(other_profile, tmp_path / "a")
    monkeypatch.setattr(data, "REVIEWS_CSV", SMALL)  # another data file
    with pytest.raises(FileNotFoundError, match="run Part 2 first"):
        train.ensure_model(PROFILE, tmp_path / "b")


def test_a_kernel_cannot_write_and_nothing_is_cached_without_the_grader(stored, tmp_path, monkeypatch):
    cache, _ = stored
    monkeypatch.setenv(runcache.CACHE_ENV, str(cache))
    monkeypatch.delenv(runcache.WRITE_ENV, raising=False)
    before = sorted(p.name for p in cache.iterdir())
    assert runcache.store("ensure_model-forged", lambda entry: (entry / "x").write_text("x")) is None
    assert sorted(p.name for p in cache.iterdir()) == before
    monkeypatch.delenv(runcache.CACHE_ENV)
    assert runcache.lookup(before[0]) is None and not runcache.writable()


def test_keys_change_with_the_data_and_the_kit(monkeypatch):
    splits = data.load_splits(PROFILE, SMALL)
    a = runcache.key("k", data=runcache.frame_digest(splits.train))
    assert a == runcache.key("k", data=runcache.frame_digest(splits.train.copy()))
    assert a != runcache.key("k", data=runcache.frame_digest(splits.train.iloc[::-1]))
    monkeypatch.setattr(runcache, "kit_digest", lambda: "another version of the kit")
    assert a != runcache.key("k", data=runcache.frame_digest(splits.train))


def test_without_the_grader_part3_uses_the_model_part2_saved(stored, tmp_path, monkeypatch):
    """The hand-out's path: Part 2's folder (model + its splits) as it is; no folder, no reference: an error."""
    _, model_dir = stored
    monkeypatch.delenv(runcache.CACHE_ENV, raising=False)
    monkeypatch.setattr(reference, "available", lambda: False)
    monkeypatch.setattr(models, "load_classifier", _no_training)
    saved = tmp_path / "sentiment-model"
    shutil.copytree(model_dir, saved)
    assert train.ensure_model(PROFILE, saved) == saved
    shutil.rmtree(saved / "splits")  # not a folder Part 2 finished: Part 3 cannot know its test split
    with pytest.raises(FileNotFoundError, match="run Part 2 first"):
        train.ensure_model(PROFILE, saved)


def test_a_changed_reference_empties_the_cache_before_the_warm_up(tmp_path, monkeypatch):
    from finetune_kit.grading import runner

    cache = tmp_path / runner.RUN_CACHE
    (cache / "ensure_model-old").mkdir(parents=True)
    (cache / ".reference").write_text("the digest of another reference")
    runner.warm_run_cache(tmp_path, [], "smoke")
    assert not (cache / "ensure_model-old").exists()
    assert (cache / ".reference").read_text() == runcache.reference_digest() != ""
    (cache / "ensure_model-new").mkdir()
    runner.warm_run_cache(tmp_path, [], "smoke")  # same reference: kept
    assert (cache / "ensure_model-new").exists()


def test_an_export_of_the_same_model_bytes_is_reused_and_only_that(fresh_model_dir, tmp_path, monkeypatch, capsys):
    import shutil

    from finetune_kit.deploy import export

    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    texts = ["good", "bad service", "it broke after a week"]  # calibration: small, fixed
    first = export.export_onnx(fresh_model_dir, tmp_path / "grader", max_length=32, calibration=texts)
    monkeypatch.delenv(runcache.WRITE_ENV)
    student_model = shutil.copytree(fresh_model_dir, tmp_path / "student-model")
    monkeypatch.setattr(export, "_export_torch", _no_training)
    again = export.export_onnx(student_model, tmp_path / "student", max_length=32, calibration=texts)
    assert "reused the grader's cached run export_onnx-" in capsys.readouterr().out
    for name in (export.FP32, export.INT8):
        assert (again.output_dir / name).read_bytes() == (first.output_dir / name).read_bytes()
    assert again.manifest["source_model"] == str(student_model.resolve())  # this student's folder, not the grader's
    assert not (again.output_dir / runcache.DONE).exists()
    with pytest.raises(AssertionError, match="trained although"):  # other bytes: exported for real
        (student_model / "config.json").write_text((student_model / "config.json").read_text() + " ")
        export.export_onnx(student_model, tmp_path / "other", max_length=32, calibration=texts)
    with pytest.raises(AssertionError, match="trained although"):  # other calibration texts, too
        export.export_onnx(fresh_model_dir, tmp_path / "other", max_length=32, calibration=texts[:2])


def _lead_labels(sentences, summary, k):  # any labeller will do: the run is keyed by the rows it labels
    return [int(i < k) for i in range(len(sentences))]


def test_the_extractor_run_is_reused_only_for_the_same_labels(tmp_path, monkeypatch, capsys):
    """No entry of its own: the summariser's training is a Trainer run (``trainer_runs``)."""
    import torch

    from finetune_kit.tasks import summarization

    settings = summarization.extractive_settings(PROFILE)
    docs = summarization.legal_splits(summarization.load_legal_corpus(), settings)
    train_docs, eval_docs = docs["train"][:4], docs["validation"][:2]
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    trainer_runs.install()
    model, tokenizer = summarization.load_extractor(settings)
    summarization.train_extractor(model, tokenizer, train_docs, settings, tmp_path / "a", eval_docs=eval_docs,
                                  labeler=_lead_labels)
    monkeypatch.delenv(runcache.WRITE_ENV)
    capsys.readouterr()
    again, _ = summarization.load_extractor(settings)
    trainer = summarization.train_extractor(again, tokenizer, train_docs, settings, tmp_path / "b", eval_docs=eval_docs,
                                            labeler=_lead_labels)
    assert "reused the grader's cached run trainer_train-" in capsys.readouterr().out
    for (name, mine), theirs in zip(again.state_dict().items(), model.state_dict().values(), strict=True):
        assert torch.equal(mine, theirs), name
    assert trainer.state.log_history, "the run's history comes back with its weights"
    summarization.train_extractor(summarization.load_extractor(settings)[0], tokenizer, train_docs, settings,
                                  tmp_path / "c", eval_docs=eval_docs,
                                  labeler=lambda sentences, summary, k: [1] * len(sentences))
    assert "reused the grader's cached run" not in capsys.readouterr().out, "other labels: trained for real"


def test_scores_are_reused_only_for_the_same_weights_tokenizer_and_texts(fresh_model_dir, tmp_path, monkeypatch,
                                                                          capsys):
    import shutil

    import torch

    texts = ["good", "bad service", "it broke after a week", "love it, would buy again"]
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    grader = train.load_trained(fresh_model_dir)
    first = train.predict_proba(*grader, texts, max_length=32)
    later = train.predict_proba(*grader, texts[:2], max_length=16)  # the tokenizer was used before this one
    monkeypatch.delenv(runcache.WRITE_ENV)
    model, tokenizer = train.load_trained(shutil.copytree(fresh_model_dir, tmp_path / "student"))  # same bytes
    monkeypatch.setattr(model, "forward", _no_training)
    assert np.array_equal(train.predict_proba(model, tokenizer, texts[:2], max_length=16), later)  # in any order
    again = train.predict_proba(model, tokenizer, texts, max_length=32)
    assert "reused the grader's cached run predict_proba-" in capsys.readouterr().out
    assert np.array_equal(again, first)
    for other_texts, max_length in ((texts[:3], 32), (texts, 8)):  # other texts or truncation: scored for real
        with pytest.raises(AssertionError, match="trained although"):
            train.predict_proba(model, tokenizer, other_texts, max_length=max_length)
    tokenizer.padding_side = "left"
    with pytest.raises(AssertionError, match="trained although"):  # another tokenizer setting
        train.predict_proba(model, tokenizer, texts, max_length=32)
    tokenizer.padding_side = "right"
    with torch.no_grad():
        model.classifier.bias.add_(1.0)  # weights changed in place
    with pytest.raises(AssertionError, match="trained although"):
        train.predict_proba(model, tokenizer, texts, max_length=32)


_SECOND_WRITER = """
import sys
from pathlib import Path
from finetune_kit.course import memo
from finetune_kit.grading import cached_steps, runcache, trainer_runs
asking, key = Path(sys.argv[1]), sys.argv[2]
asking.write_text("")
entry = runcache.lookup(key)  # the first writer is still computing: this waits for its store
print("reused" if entry is not None and (entry / "result.txt").read_text() == "first" else "missed")
"""


def test_a_second_writer_waits_for_the_run_another_writer_is_computing(tmp_path, monkeypatch):
    import subprocess
    import sys
    import time

    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    run_key = runcache.key("demo", n=1)
    assert runcache.lookup(run_key) is None  # a miss: this process now computes the run
    assert runcache.lookup(run_key) is None, "asking again in the same process must not wait on itself"
    second = subprocess.Popen([sys.executable, "-c", _SECOND_WRITER, str(tmp_path / "asking"), run_key],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    while not (tmp_path / "asking").exists() and second.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)  # without the claim its lookup would have missed by now
    runcache.store(run_key, lambda entry: (entry / "result.txt").write_text("first"))
    out, _ = second.communicate(timeout=60)
    assert out.strip() == "reused"
    assert runcache.lookup(runcache.key("demo", n=2)) is None  # another run: claimed, never stored
    runcache._release(runcache.key("demo", n=2))


def test_the_warm_up_runs_each_solution_only_up_to_its_last_cached_call(tmp_path):
    import nbformat

    from finetune_kit.grading import runner

    source = ROOT / "solutions" / "part3_evaluate_deploy" / "part3_evaluation.ipynb"
    full = nbformat.read(source, as_version=4)
    trimmed = nbformat.read(runner._up_to_last_cached_call(source, tmp_path / "t.ipynb"), as_version=4)
    code = [c.source for c in trimmed.cells if c.cell_type == "code"]
    assert 0 < len(trimmed.cells) < len(full.cells)
    assert [c.source for c in trimmed.cells] == [c.source for c in full.cells[:len(trimmed.cells)]]
    at = runner.cached_call_cells(full.cells, runcache.CACHED_CALLS)
    assert at[-1] == len(trimmed.cells) - 1, "ends with the last cell that makes a cached call: none is cut off"
    assert any(f"{name}(" in code[-1] for name in runcache.CACHED_CALLS) or "predict" in code[-1]
    assert "bias_probe(predict" in "".join(code), "a cell that hands the cached predict() on is kept"


def test_a_warm_up_kernel_is_shut_down_when_its_notebook_is_done(tmp_path):
    """nbclient leaves alone the kernels of a manager it was handed, so the warm-up must stop its own:
    an idle warm-up kernel holds about 1 GB for as long as the grader runs."""
    import os

    import nbformat
    import psutil

    from finetune_kit.grading import runner

    def kernels() -> set[int]:
        alive = set()
        for proc in psutil.Process().children(recursive=True):
            try:
                if proc.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(proc.cmdline()):
                    alive.add(proc.pid)
            except psutil.NoSuchProcess:  # it ended while we looked
                pass
        return alive

    notebook = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), notebook)
    before = kernels()
    assert runner._warm_one(tmp_path / "out", "tiny", notebook, dict(os.environ), calls=()) is None
    assert kernels() <= before, "the warm-up left its kernel running"
