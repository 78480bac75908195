"""Does cross-validation hold every review out once, keep the test split locked, and report mean ± std?"""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from finetune_kit import config, crossval, data, metrics

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
SMOKE = config.PROFILES["smoke"]


def test_every_profile_has_a_budget():
    assert set(crossval.CV_BUDGETS) == set(config.PROFILES)
    assert all(crossval.budget(p).why for p in config.PROFILES.values())
    assert config.PROFILES["offline"].cv_folds == 5 and SMOKE.cv_folds < 5


@pytest.mark.parametrize(("labels", "k"), [([0, 1] * 25, 5), ([1] * 90 + [0] * 10, 5), (list("aabbbcccc") * 3, 3)])
def test_folds_hold_out_every_example_once_and_keep_the_balance(labels, k):
    labels = np.asarray(labels)
    folds = crossval.stratified_folds(labels, k)
    assert len(folds) == k
    held = np.concatenate([h for _, h in folds])
    assert sorted(held.tolist()) == list(range(len(labels)))
    overall = pd.Series(labels).value_counts(normalize=True)
    for train_idx, held_idx in folds:
        assert set(train_idx).isdisjoint(held_idx) and len(train_idx) + len(held_idx) == len(labels)
        share = pd.Series(labels[held_idx]).value_counts(normalize=True).reindex(overall.index, fill_value=0)
        assert (abs(share - overall) <= 1 / len(held_idx) + 1e-9).all()


def test_folds_refuse_impossible_requests():
    with pytest.raises(ValueError, match="at least 2 folds"):
        crossval.stratified_folds([0, 1, 0, 1], 1)
    with pytest.raises(ValueError, match="rarest label has 2"):
        crossval.stratified_folds([0] * 10 + [1] * 2, 3)


def test_pool_is_train_plus_validation_never_test():
    splits = data.load_splits(SMOKE)
    pool = crossval.cv_pool(SMOKE, splits)
    assert set(pool["text"]) <= set(splits.train["text"]) | set(splits.validation["text"])
    assert set(pool["text"]).isdisjoint(splits.test["text"])
    assert len(pool) == crossval.budget(SMOKE).pool_size
    assert abs(pool["label"].mean() - 0.5) < 0.05


def test_pool_refuses_a_leaky_split():
    df = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]})
    leaky = data.Splits(train=df.iloc[:3], validation=df.iloc[3:], test=df.iloc[2:3])
    with pytest.raises(ValueError, match="1 test review"):
        crossval.cv_pool(SMOKE, leaky)


def test_summary_and_comparison(tmp_path):
    folds = pd.DataFrame({"fold": [1, 2, 3], "n_train": [80, 80, 80], "n_heldout": [40, 40, 40],
                          "seconds": [10.0, 11.0, 12.0], "accuracy": [0.80, 0.85, 0.90], "f1": [0.7, 0.7, 0.7]})
    cv = crossval.CrossValidation(folds, profile="smoke", num_epochs=1, seconds=33.0)
    summary = cv.summary()
    assert list(summary.index) == ["accuracy", "f1"]
    assert summary.loc["accuracy", "mean"] == pytest.approx(0.85)
    assert summary.loc["accuracy", "std"] == pytest.approx(0.05)  # ddof=1: between-fold spread
    table = cv.compare({"accuracy": 0.95, "f1": 0.75})
    assert table.loc["accuracy", ["worst fold", "best fold", "single split (test)"]].tolist() == \
        pytest.approx([0.80, 0.90, 0.95])
    assert table.loc["f1", "std"] == pytest.approx(0.0)
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs_run": 3, "split_sizes": {"train": 2648},
                                                       "train_seconds": 900}))
    text = cv.describe_cost(tmp_path)
    assert "3 trainings" in text and "33 s" in text and "2,648 reviews: 900 s" in text


@pytest.mark.slow
def test_cross_validate_trains_k_models_on_the_pool(tmp_path):
    """Two epochs: the path where each fold's held-out part picks the best epoch (one epoch runs in the notebook)."""
    profile = dataclasses.replace(SMOKE, num_epochs=2)
    pool = data.subsample(data.read_reviews(SMALL), 24)
    cv = crossval.cross_validate(profile, pool, k=2, output_dir=tmp_path / "cv", verbose=False)
    assert cv.k == 2 and cv.folds["n_heldout"].sum() == len(pool) and cv.num_epochs == 2
    assert (cv.folds["n_train"] == 12).all()
    for name in metrics.METRICS:
        assert cv.folds[name].between(0, 1).all(), name
    assert set(cv.summary().index) == set(metrics.METRICS)
    assert not any((tmp_path / "cv").glob("fold-*/*"))  # fold models and checkpoints are deleted
