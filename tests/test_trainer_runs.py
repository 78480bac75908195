"""Does grading reuse a student's Trainer run only when every input matches one the warm-up made, and exactly?"""

import random

import numpy as np
import pytest
import torch
import transformers

from conftest import ROOT
from finetune_kit.course import config, reference
from finetune_kit.grading import runcache, trainer_runs
from finetune_kit.sentiment import data, models

PROFILE = config.PROFILES["smoke"]
SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
pytestmark = pytest.mark.slow
ref = reference.load("sentiment")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "run-cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    trainer_runs.install()
    yield tmp_path / "run-cache"
    trainer_runs.uninstall()


@pytest.fixture(scope="module")
def rows():
    frame = data.read_reviews(SMALL)
    return pytest.importorskip("pandas").concat([frame[frame.label == 1].head(8), frame[frame.label == 0].head(8)])


def _trainer(rows, output_dir, *, learning_rate=None, compute_metrics=None):
    """The student's Part 2 trainer (the reference answers) on 16 reviews: one step."""
    tokenizer = models.load_tokenizer(PROFILE)
    ds = ref.to_dataset(rows, tokenizer, PROFILE.max_length)
    args = ref.make_training_args(PROFILE, output_dir)
    if learning_rate is not None:
        args.learning_rate = learning_rate
    trainer = ref.build_trainer(models.load_classifier(PROFILE), tokenizer, ds, ds, args)
    if compute_metrics is not None:
        trainer.compute_metrics = compute_metrics
    return trainer


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def _student(monkeypatch):
    monkeypatch.delenv(runcache.WRITE_ENV)  # a kernel reads the cache, never writes it


def _trains(monkeypatch):
    """Count real training loops (through the callback handler: a patched Trainer is never reused)."""
    calls = []
    real = transformers.trainer_callback.CallbackHandler.on_train_begin

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(transformers.trainer_callback.CallbackHandler, "on_train_begin", counting)
    return calls


def test_an_identical_run_comes_back_exactly(cache, rows, tmp_path, monkeypatch, capsys):
    first = _trainer(rows, tmp_path / "grader")
    out = first.train()
    after = (torch.rand(3), np.random.rand(), random.random())
    assert any(p.name.startswith("trainer_train-") for p in cache.iterdir())

    _student(monkeypatch)
    trained = _trains(monkeypatch)
    second = _trainer(rows, tmp_path / "student")
    again = second.train()
    drawn = (torch.rand(3), np.random.rand(), random.random())
    assert trained == [], "trained although the cache holds this very run"
    assert "reused the grader's cached run trainer_train-" in capsys.readouterr().out
    assert again == out
    assert all(torch.equal(v, _weights(first)[k]) for k, v in _weights(second).items())
    assert second.state.log_history == first.state.log_history
    assert second.state.best_model_checkpoint.startswith(str(tmp_path / "student"))
    assert torch.equal(drawn[0], after[0]) and drawn[1:] == after[1:], "the random generators as training left them"

    def scores(trainer):
        return {k: v for k, v in trainer.evaluate().items() if "runtime" not in k and "per_second" not in k}

    assert scores(second) == scores(first)


def test_different_inputs_train_for_real(cache, rows, tmp_path, monkeypatch):
    _trainer(rows, tmp_path / "grader").train()
    _student(monkeypatch)
    trained = _trains(monkeypatch)
    _trainer(rows, tmp_path / "lr", learning_rate=1e-3).train()
    _trainer(rows.iloc[1:], tmp_path / "rows").train()
    assert len(trained) == 2


def test_a_compute_metrics_that_answers_otherwise_trains(cache, rows, tmp_path, monkeypatch):
    _trainer(rows, tmp_path / "grader").train()
    _student(monkeypatch)
    trained = _trains(monkeypatch)

    def generous(eval_pred):
        return {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0}

    student = _trainer(rows, tmp_path / "student", compute_metrics=generous)
    student.train()
    assert trained == [1], "the cached run chose its best epoch with other metrics: it is not this run"
    assert student.state.log_history[0 if "eval_f1" in student.state.log_history[0] else 1]["eval_f1"] == 1.0


@pytest.mark.parametrize("tamper", ["evaluate patched", "instance method", "subclass", "custom collator"])
def test_what_the_key_cannot_describe_is_not_cached(cache, rows, tmp_path, monkeypatch, tamper):
    trainer = _trainer(rows, tmp_path / "t")
    if tamper == "evaluate patched":
        monkeypatch.setattr(transformers.Trainer, "evaluate", lambda self, *a, **k: {})
    elif tamper == "instance method":
        trainer.compute_loss = lambda *a, **k: 0
    elif tamper == "subclass":
        trainer.__class__ = type("Mine", (transformers.Trainer,), {})
    else:
        trainer.data_collator = lambda features: features
    with pytest.raises(trainer_runs.NotCacheable):
        trainer_runs.run_key(trainer, (), {})


def test_a_wrapped_init_is_fine(cache, rows, tmp_path, monkeypatch):
    """Part 3's train_fold test watches what the Trainer is built with; the run is still reusable."""
    seen = []
    real = transformers.Trainer.__init__

    def watching(self, *args, **kwargs):
        real(self, *args, **kwargs)
        seen.append(len(self.eval_dataset))

    monkeypatch.setattr(transformers.Trainer, "__init__", watching)
    key = trainer_runs.run_key(_trainer(rows, tmp_path / "t"), (), {})
    assert key.startswith("trainer_train-") and seen == [16]
