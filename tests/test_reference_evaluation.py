"""Are the reference answers of Part 3's evaluation notebook right (they generate its solution cells)?"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from finetune_kit.course import config, reference
from finetune_kit.sentiment import data

ref = reference.load("evaluation")


@pytest.mark.parametrize("seed", range(5))
def test_confusion_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    got = ref.confusion_metrics(y, p)
    tn, fp, fn, tp = sk.confusion_matrix(y, p, labels=[0, 1]).ravel()
    assert (got["tp"], got["fp"], got["tn"], got["fn"]) == (tp, fp, tn, fn)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, p))
    assert got["precision"] == pytest.approx(sk.precision_score(y, p, zero_division=0))
    assert got["recall"] == pytest.approx(sk.recall_score(y, p, zero_division=0))
    assert got["f1"] == pytest.approx(sk.f1_score(y, p, zero_division=0))
    assert got["negative_recall"] == pytest.approx(sk.recall_score(y, p, pos_label=0, zero_division=0))
    assert all(type(got[k]) is int for k in ("tp", "fp", "tn", "fn"))
    assert all(type(v) is float for k, v in got.items() if k not in ("tp", "fp", "tn", "fn"))


def test_confusion_metrics_zero_divisions_are_zero():
    assert ref.confusion_metrics([0, 0], [0, 0]) == {"tp": 0, "fp": 0, "tn": 2, "fn": 0, "accuracy": 1.0,
                                                     "precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                     "negative_recall": 1.0}
    assert ref.confusion_metrics([], [])["accuracy"] == 0.0
    with pytest.raises(ValueError):
        ref.confusion_metrics([0, 1], [0])


def test_choose_threshold_is_the_lowest_reaching_the_target():
    y, s = [0, 0, 0, 1, 1, 0, 1, 1], [0.1, 0.35, 0.6, 0.55, 0.8, 0.3, 0.9, 0.2]
    assert ref.choose_threshold(y, s, 0.75, candidates=[0.2, 0.4, 0.5, 0.7, 0.9]) == 0.4
    assert ref.choose_threshold(y, s, 0.75) == pytest.approx(0.36)
    assert ref.choose_threshold(y, s, 1.0) == pytest.approx(0.61)
    assert type(ref.choose_threshold(np.array(y), np.array(s), 0.5, candidates=np.array([0.9, 0.5]))) is float
    with pytest.raises(ValueError, match="no candidate"):
        ref.choose_threshold([0, 1], [0.95, 0.2], 1.0, candidates=[0.5, 0.9])


def test_most_confident_mistakes_surest_first():
    got = ref.most_confident_mistakes(list("abcdef"), [1, 0, 1, 0, 1, 0], [0.9, 0.8, 0.1, 0.3, 0.45, 0.51], n=3)
    assert list(got.columns) == ["text", "label", "predicted", "score", "confidence"]
    assert got["text"].tolist() == ["c", "b", "e"] and got.index.tolist() == [0, 1, 2]
    assert got["confidence"].tolist() == pytest.approx([0.9, 0.8, 0.55])
    assert ref.most_confident_mistakes(["x"], [1], [0.9]).empty


@pytest.mark.parametrize(("labels", "fraction"), [([0, 1] * 30 + [1] * 10, 0.25), (list("aabbbcccc") * 5, 0.3)])
def test_stratified_split_keeps_each_label_share(labels, fraction):
    train_idx, test_idx = ref.stratified_split(labels, fraction, seed=3)
    assert sorted(train_idx + test_idx) == list(range(len(labels)))
    for label in set(labels):
        n = labels.count(label)
        assert abs(sum(labels[i] == label for i in test_idx) - fraction * n) <= 1
    assert ref.stratified_split(labels, fraction, seed=3) == (train_idx, test_idx)


@pytest.mark.slow
def test_train_fold_evaluates_on_the_inner_part_and_scores_unlabelled_reviews():
    import transformers

    reviews = data.read_reviews()
    pos, neg = reviews[reviews["label"] == 1], reviews[reviews["label"] == 0]
    fit = pd.concat([pos.iloc[:8], neg.iloc[:8]])
    inner = pd.concat([pos.iloc[8:10], neg.iloc[8:11]])
    held = pd.concat([pos.iloc[11:13], neg.iloc[11:13]])[["text"]]
    sizes, evaluate = [], transformers.Trainer.evaluate

    def spy(self, eval_dataset=None, *args, **kwargs):
        sizes.append(len(eval_dataset if eval_dataset is not None else self.eval_dataset))
        return evaluate(self, eval_dataset, *args, **kwargs)

    transformers.Trainer.evaluate = spy
    try:
        scores = ref.train_fold(fit, inner, held, dataclasses.replace(config.PROFILES["smoke"], num_epochs=2))
    finally:
        transformers.Trainer.evaluate = evaluate
    assert sizes == [5, 5]  # once per epoch, on the inner part only
    assert isinstance(scores, np.ndarray) and scores.shape == (4,) and ((scores > 0) & (scores < 1)).all()
