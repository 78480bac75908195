"""Does cross-validation hold every review out once, keep the test split locked, and report mean ± std?"""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from finetune_kit.course import config
from finetune_kit.sentiment import crossval, data, metrics

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
SMOKE = config.PROFILES["smoke"]


def test_every_profile_has_a_budget():
    assert all(p.cross_validation.why for p in config.PROFILES.values())
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


def test_grouped_folds_never_put_a_group_on_both_sides():
    labels = np.asarray([0, 1] * 30)
    groups = np.arange(60) // 6  # 10 groups of 6 rows, each balanced
    folds = crossval.stratified_folds(labels, 5, groups=groups)
    assert sorted(np.concatenate([h for _, h in folds]).tolist()) == list(range(60))
    for train_idx, held_idx in folds:
        assert set(groups[train_idx]).isdisjoint(groups[held_idx])
    with pytest.raises(ValueError, match="at least 5 groups; the data has 3"):
        crossval.stratified_folds(labels, 5, groups=np.arange(60) // 20)


def test_pool_is_train_plus_validation_never_test():
    splits = data.load_splits(SMOKE)
    pool = crossval.cv_pool(SMOKE, splits)
    assert set(pool["text"]) <= set(splits.train["text"]) | set(splits.validation["text"])
    assert set(pool["text"]).isdisjoint(splits.test["text"])
    assert len(pool) == SMOKE.cross_validation.pool_size
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


def test_inner_split_is_carved_from_the_fold_and_stratified():
    fold = pd.DataFrame({"text": [f"t{i}" for i in range(40)], "label": [0, 1] * 20})
    fit, inner = crossval.inner_split(fold, 0.25)
    assert len(inner) == 10 and len(fit) == 30
    assert set(fit["text"]).isdisjoint(inner["text"]) and set(fit["text"]) | set(inner["text"]) == set(fold["text"])
    assert inner["label"].sum() == 5  # half positive, like the fold


def test_fold_profile_carries_the_budget_epochs():
    assert crossval.fold_profile(config.PROFILES["offline"]).num_epochs == 1
    assert crossval.fold_profile(config.PROFILES["azure"]) == config.PROFILES["azure"]


def test_cross_validate_gives_train_fold_no_held_out_labels():
    """Each fold trains on its fit part, may choose on its inner part, and sees the held-out texts only."""
    pool = data.subsample(data.read_reviews(SMALL), 24)
    calls = []

    def train_fold(fit, inner_val, held, profile):
        calls.append((fit, inner_val, held, profile))
        assert "label" not in held.columns
        return np.full(len(held), 0.75)

    cv = crossval.cross_validate(SMOKE, train_fold, pool, k=2, verbose=False)
    assert cv.k == 2 and cv.folds["n_heldout"].sum() == len(pool) and len(calls) == 2
    for fit, inner_val, held, profile in calls:
        assert set(fit["text"]).isdisjoint(inner_val["text"]) and set(fit["text"]).isdisjoint(held["text"])
        assert set(inner_val["text"]).isdisjoint(held["text"]) and len(fit) + len(inner_val) + len(held) == 24
        assert profile.num_epochs == crossval.fold_profile(SMOKE).num_epochs
    assert (cv.folds["recall"] == 1.0).all()  # every score 0.75: every review called positive
    for name in metrics.METRICS:
        assert cv.folds[name].between(0, 1).all(), name


def test_cross_validate_refuses_the_wrong_number_of_scores():
    pool = data.subsample(data.read_reviews(SMALL), 24)
    with pytest.raises(ValueError, match="returned 3 scores for 12 held-out reviews"):
        crossval.cross_validate(SMOKE, lambda fit, inner, held, profile: [0.5] * 3, pool, k=2, verbose=False)


@pytest.mark.slow
def test_cross_validate_with_the_reference_fold_training():
    """Two epochs, so each fold really chooses its best epoch (on the inner part)."""
    from finetune_kit.course import reference

    profile = dataclasses.replace(SMOKE, num_epochs=2)
    pool = data.subsample(data.read_reviews(SMALL), 24)
    cv = crossval.cross_validate(profile, reference.load("evaluation").train_fold, pool, k=2, verbose=False)
    assert cv.k == 2 and cv.folds["n_heldout"].sum() == len(pool) and cv.num_epochs == 2
    assert (cv.folds["n_train"] + cv.folds["n_inner_val"] == 12).all()
    for name in metrics.METRICS:
        assert cv.folds[name].between(0, 1).all(), name
