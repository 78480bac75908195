"""Do the kit's metrics give scikit-learn's numbers, through `evaluate`, offline and online alike?"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as sk

from conftest import ROOT
from finetune_kit.sentiment import metric_modules, metrics


def _fixtures():
    """(name, y_true, scores): balanced, imbalanced, tied scores, a model that says positive for all."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 120)
    yield "balanced", y, np.clip(0.35 * y + 0.65 * rng.random(120), 0, 1)
    y = (rng.random(200) < 0.1).astype(int)
    yield "imbalanced", y, np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    y = rng.integers(0, 2, 60)
    yield "ties", y, np.round(rng.random(60), 1)
    y = rng.integers(0, 2, 40)
    yield "all positive", y, 0.5 + 0.5 * rng.random(40)


FIXTURES = list(_fixtures())
IDS = [f[0] for f in FIXTURES]


@pytest.fixture(autouse=True)
def _fresh_hub_state():
    for problems in metrics._hub_problems.values():
        problems.clear()
    yield
    for problems in metrics._hub_problems.values():
        problems.clear()


@pytest.mark.parametrize(("name", "y", "scores"), FIXTURES, ids=IDS)
def test_shipped_modules_match_sklearn_directly(name, y, scores):
    import evaluate

    pred = (scores >= 0.5).astype(int)
    load = lambda module: evaluate.load(str(metric_modules.path(module)), keep_in_memory=True)  # noqa: E731
    assert load("accuracy").compute(references=y, predictions=pred)["accuracy"] == sk.accuracy_score(y, pred)
    for module, fn in (("precision", sk.precision_score), ("recall", sk.recall_score)):
        for average in ("binary", "macro"):
            got = load(module).compute(references=y, predictions=pred, average=average, zero_division=0)[module]
            assert type(got) is float and got == pytest.approx(fn(y, pred, average=average, zero_division=0))
    for average in ("binary", "macro", "weighted"):
        got = load("f1").compute(references=y, predictions=pred, average=average)["f1"]
        assert got == pytest.approx(sk.f1_score(y, pred, average=average, zero_division=0))
    per_class = load("f1").compute(references=y, predictions=pred, average=None)["f1"]
    assert np.allclose(per_class, sk.f1_score(y, pred, average=None, zero_division=0))
    assert load("roc_auc").compute(references=y, prediction_scores=scores)["roc_auc"] == \
        pytest.approx(sk.roc_auc_score(y, scores))
    assert load("average_precision").compute(references=y, prediction_scores=scores)["average_precision"] == \
        pytest.approx(sk.average_precision_score(y, scores))


@pytest.mark.parametrize(("name", "y", "scores"), FIXTURES, ids=IDS)
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_evaluate_scores_equals_sklearn(name, y, scores, threshold):
    got = metrics.evaluate_scores(y, scores, threshold=threshold, offline=True)
    want = metrics.sklearn_metrics(y, scores, threshold=threshold)
    assert list(got) == [*metrics.METRICS, "threshold", "n"]
    assert got == pytest.approx(want, abs=1e-12)
    pred = (scores >= threshold).astype(int)
    assert got["f1_macro"] == pytest.approx(sk.f1_score(y, pred, average="macro"))  # independent of the kit
    assert got["n"] == len(y) and all(type(v) is float for k, v in got.items() if k != "n")


def test_offline_picks_the_kits_modules(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for spec in metrics.METRICS.values():
        location = Path(metrics.metric_location(spec.module))
        assert location.parent == metric_modules.HERE and (location / f"{spec.module}.py").is_file()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "true")
    assert metrics.hub_offline()
    assert Path(metrics.metric_location("f1")).parent == metric_modules.HERE
    assert "kit:" in metrics.metric_sources()["f1"]


def test_online_picks_the_hub_where_it_publishes_the_metric(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_EVALUATE_OFFLINE", raising=False)
    assert not metrics.hub_offline()
    for module in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert metrics.metric_location(module) == module
    assert Path(metrics.metric_location("average_precision")).parent == metric_modules.HERE  # not on the Hub
    assert metrics.metric_location("f1", offline=True) != "f1"
    assert metrics.metric_sources()["roc_auc"] == "Hub: evaluate-metric/roc_auc"


def test_unreachable_hub_falls_back_to_the_kit_once(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_EVALUATE_OFFLINE", raising=False)
    tried = []
    real_load = metrics._load.__wrapped__

    def fake_load(location):
        tried.append(location)
        if location == "accuracy":
            raise ConnectionError("no route to huggingface.co")
        return real_load(location)

    monkeypatch.setattr(metrics, "_load", fake_load)
    module = metrics.load_metric("accuracy")
    assert module.compute(references=[0, 1], predictions=[0, 0])["accuracy"] == 0.5
    assert tried[0] == "accuracy" and Path(tried[1]).name == "accuracy"
    assert metrics.hub_offline() and metrics.metric_location("f1") != "f1"  # no second timeout
    assert "accuracy" in metrics._hub_problems["unreachable"]


def test_a_hub_module_that_fails_to_compute_is_replaced(monkeypatch):
    """The Hub's f1 script calls ``score.size`` on the float scikit-learn >= 1.6 returns."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_EVALUATE_OFFLINE", raising=False)
    real_load = metrics._load.__wrapped__

    class BrokenHubF1:
        def compute(self, **inputs):
            raise AttributeError("'float' object has no attribute 'size'")

    monkeypatch.setattr(metrics, "_load", lambda loc: BrokenHubF1() if loc == "f1" else real_load(
        loc if Path(loc).is_absolute() else str(metric_modules.path(loc))))
    y, scores = FIXTURES[0][1], FIXTURES[0][2]
    result = metrics.evaluate_scores(y, scores)
    assert result == pytest.approx(metrics.sklearn_metrics(y, scores), abs=1e-12)
    assert "f1" in metrics._hub_problems["broken"] and metrics.metric_sources()["f1"].startswith("kit:")
    assert metrics.metric_sources()["accuracy"].startswith("Hub:")  # the others still come from the Hub


def test_a_broken_kit_module_is_not_hidden(monkeypatch):
    def fake_load(location):
        raise FileNotFoundError(location)

    monkeypatch.setattr(metrics, "_load", fake_load)
    with pytest.raises(FileNotFoundError):
        metrics.load_metric("f1", offline=True)


def test_unknown_module_is_named():
    with pytest.raises(ValueError, match="No metric module 'bleu'.*accuracy"):
        metric_modules.path("bleu")
    assert set(metric_modules.available()) == {spec.module for spec in metrics.METRICS.values()}


@pytest.mark.skipif(os.environ.get("FINETUNE_KIT_TEST_HUB") != "1",
                    reason="needs the Hugging Face Hub: set FINETUNE_KIT_TEST_HUB=1 where it is reachable")
def test_hub_modules_give_the_same_numbers():
    """Where the Hub is reachable: the same fixtures through the Hub's modules, in a process that may go online."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_EVALUATE_OFFLINE")}
    script = ("import json, numpy as np; from finetune_kit import metrics; rng = np.random.default_rng(3); "
              "y = rng.integers(0, 2, 120); s = np.clip(0.35 * y + 0.65 * rng.random(120), 0, 1); "
              "print(json.dumps([metrics.evaluate_scores(y, s, offline=False), metrics.metric_sources(), "
              "metrics.sklearn_metrics(y, s)]))")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=600)
    got, sources, want = json.loads(out.stdout.strip().splitlines()[-1])
    assert sources["accuracy"].startswith("Hub:")
    assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize(("y", "scores", "message"), [
    ([0, 1, 1], [0.2, 0.8], "same length"),
    ([0, 2], [0.2, 0.8], "labels must be 0 or 1"),
    ([0, 1], [0.2, 1.8], "between 0 and 1"),
    ([0, 1], [0.2, float("nan")], "no NaN"),
    ([], [], "no examples"),
])
def test_bad_inputs_are_refused_clearly(y, scores, message):
    with pytest.raises(ValueError, match=message):
        metrics.evaluate_scores(y, scores, offline=True)


def test_one_class_reports_nan_for_ranking_metrics():
    result = metrics.evaluate_scores([1, 1, 1], [0.9, 0.4, 0.7], offline=True)
    assert np.isnan(result["roc_auc"]) and np.isnan(result["average_precision"])
    assert result["recall"] == pytest.approx(2 / 3)


def test_confusion_counts_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    tn, fp, fn, tp = sk.confusion_matrix(y, p).ravel()
    assert metrics._confusion_counts(y, p) == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


@pytest.mark.parametrize(("name", "y", "scores"), FIXTURES, ids=IDS)
def test_threshold_sweep_matches_sklearn_at_every_threshold(name, y, scores):
    sweep = metrics.threshold_sweep(y, scores, thresholds=[0.1, 0.35, 0.5, 0.9])
    for _, row in sweep.iterrows():
        pred = (scores >= row["threshold"]).astype(int)
        assert row["precision"] == pytest.approx(sk.precision_score(y, pred, zero_division=0))
        assert row["recall"] == pytest.approx(sk.recall_score(y, pred, zero_division=0))
        assert row["f1"] == pytest.approx(sk.f1_score(y, pred, zero_division=0))
        assert row["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))


def test_best_f1_threshold_is_the_argmax():
    y = np.array([0, 0, 1, 1, 1, 0])
    scores = np.array([0.1, 0.3, 0.35, 0.8, 0.9, 0.7])
    best = metrics.best_f1_threshold(y, scores)
    assert 0.3 < best <= 0.35  # everything from 0.35 up: all positives, one false positive
    f1_best = sk.f1_score(y, scores >= best)
    assert all(sk.f1_score(y, scores >= t, zero_division=0) <= f1_best + 1e-12 for t in np.arange(0.01, 1, 0.01))


def test_calibration_of_a_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(1)
    scores = rng.random(20000)
    calibrated = (rng.random(20000) < scores).astype(int)
    assert metrics.expected_calibration_error(calibrated, scores) < 0.02
    overconfident = np.array([1, 0] * 50)
    assert metrics.expected_calibration_error(overconfident, np.full(100, 0.9)) == pytest.approx(0.4)
    table = metrics.calibration_table(overconfident, np.full(100, 0.9))
    assert len(table) == 1 and table["count"].iloc[0] == 100  # empty bins are left out


def test_bootstrap_interval_is_honest():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    scores = np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)
    point = metrics.sklearn_metrics(y, scores)
    for name in ("accuracy", "f1", "roc_auc", "average_precision"):
        low, high = metrics.bootstrap_interval(y, scores, name, n_resamples=300)
        assert low < point[name] < high, name
    small = metrics.bootstrap_interval(y[:60], scores[:60], "accuracy", n_resamples=300)
    large = metrics.bootstrap_interval(y, scores, "accuracy", n_resamples=300)
    assert small[1] - small[0] > large[1] - large[0]  # fewer reviews, less sure
    assert metrics.bootstrap_interval(y, scores, seed=5) == metrics.bootstrap_interval(y, scores, seed=5)
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        metrics.bootstrap_interval(y, scores, "bleu")
