# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (finetune-kit)
#     language: python
#     name: finetune-kit
# ---

# %% [markdown]
# # Part 3a — Evaluating a fine-tuned model
#
# **Goal:** say how good the sentiment model you fine-tuned in Part 2 is, **how sure** we are of
# that, and **where it fails**. (Part 3b, `part3_deployment.ipynb`, then ships it.)
#
# **Steps:** (A) scores on the test split and the metrics behind them, (B) pictures,
# (C) choosing a threshold on validation, (D) cross-validation, (E) error analysis and a bias probe,
# (F) concept checks and a reflection.
#
# Run the cells from top to bottom. Cells that say `YOUR CODE HERE` or `YOUR ANSWER HERE` are yours;
# the cell after each one checks it and says what to fix.
#
# Under `smoke` (grading) the model has seen 32 reviews for one epoch: its scores sit near 0.5 and
# mean nothing, only the code is being checked. Run with `PROFILE = "offline"` to see real numbers
# (about 10 minutes on a 2-core laptop CPU, most of it cross-validation).

# %% tags=["parameters"]
PROFILE = None  # or "smoke", "offline", "azure"

# %%
import finetune_kit as fk

profile = fk.use_profile(PROFILE)

# %% [markdown]
# Your model from Part 2, and **its own** split: the model folder carries the train, validation and
# test reviews it was trained with, so the test reviews below are ones it has never seen.

# %%
from finetune_kit import analysis, crossval, data, metrics, plots, steps, train

model_dir = train.ensure_model(profile)  # the folder Part 2 saved (the grader uses its own copy)
model, tokenizer = train.load_trained(model_dir)
splits = data.load_saved_splits(model_dir)
print(f"model: {model_dir}\nsplit sizes: {splits.sizes()}")

# %% [markdown]
# ### A. The scores, once, on the test split
#
# The model gives each review a **score**, P(positive); we call it positive when the score is at
# least 0.5 (the **threshold**). We score validation too: section C needs it.
#
# The kit's `predict_proba` reads a long review (over 60 words) several times: whole, cut to
# `max_length` tokens as in training, and in pieces of about 60 words; the review's logits are the
# mean over these readings. On real IMDB reviews that scores about 2 points higher than reading each
# review once (`finetune_kit/sentiment/pieces.py` says how it was chosen). The endpoint you deploy in
# the next notebook scores the same way, so these numbers describe what you deploy. Part 2's
# `trainer.evaluate` reads each review once, so its test accuracy can differ a little from this one.

# %%
steps.need(globals(), "model", "tokenizer", "splits", step="the loading cell above")


def predict(texts):  # P(positive) for each text
    return train.predict_proba(model, tokenizer, list(texts), max_length=profile.max_length)


y_test, test_scores = splits.test["label"].to_numpy(), predict(splits.test["text"])
y_val, val_scores = splits.validation["label"].to_numpy(), predict(splits.validation["text"])

# %% [markdown]
# The standard metrics come from the Hugging Face **`evaluate`** library. `evaluate.load("f1")`
# downloads the metric's code from the Hub, which fails without internet, so the kit ships the same
# metric modules in `finetune_kit/metric_modules/` and loads them from there when the Hub is out of
# reach (the next cell says where each came from).
#
# | metric | question it answers |
# |---|---|
# | accuracy | what share of reviews did it get right? |
# | precision | when it says *positive*, how often is it right? |
# | recall | of the truly positive reviews, how many did it find? |
# | F1 | one number that is high only when precision **and** recall are: 2·P·R / (P + R) |
# | F1 macro | F1 of each class (positive, negative), averaged: the negative class counts as much |
# | ROC-AUC | how often a random positive review scores above a random negative one (threshold-free) |
# | average precision | the area under the precision-recall curve (threshold-free) |

# %%
steps.need(globals(), "test_scores", step="section A's scoring cell")
print(metrics.metric_sources()["f1"])
report = metrics.evaluate_scores(y_test, test_scores)
{name: round(value, 4) for name, value in report.items()}


# %% [markdown]
# **Your turn (1): the confusion matrix.** Every metric above except the threshold-free ones comes
# from four counts: true positives (TP), false positives (FP), true negatives (TN) and false
# negatives (FN). A shop that must catch nearly every **unhappy** customer cares about a number the
# table above does not show: the **recall of the negative class**, TN / (TN + FP), the share of
# truly negative reviews we call negative. Write `confusion_metrics(y_true, y_pred)` (its docstring
# says exactly what to return). Some denominators can be 0 (no positive predictions at all, say):
# decide explicitly that such a ratio is `0.0`.

# %% nbgrader={"grade": false, "grade_id": "p3_confusion_answer", "locked": false, "schema_version": 3, "solution": true} reference=["evaluation.confusion_metrics"]
def confusion_metrics(y_true, y_pred):
    """The confusion counts of 0/1 labels and the metrics computed from them, as a dict.

    Return a dict with exactly these keys:

    * ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``: Python ``int`` counts (positive = label 1);
    * ``"accuracy"``: share of correct predictions;
    * ``"precision"``, ``"recall"``, ``"f1"``: of the **positive** class;
    * ``"negative_recall"``: recall of the **negative** class, TN / (TN + FP): of the truly negative
      reviews, how many did we call negative?

    Each metric is a Python ``float``. A ratio whose denominator is 0 is ``0.0`` (say so explicitly:
    no ``ZeroDivisionError``, no ``nan``). ``y_true`` and ``y_pred`` are lists or NumPy arrays of 0/1.
    """
    ### BEGIN SOLUTION
    pairs = [(int(t), int(p)) for t, p in zip(y_true, y_pred, strict=True)]
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    fp = sum(1 for t, p in pairs if t == 0 and p == 1)
    tn = sum(1 for t, p in pairs if t == 0 and p == 0)
    fn = sum(1 for t, p in pairs if t == 1 and p == 0)

    def ratio(num, den):
        return float(num / den) if den else 0.0

    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "accuracy": ratio(tp + tn, len(pairs)),
            "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn),
            "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "negative_recall": ratio(tn, tn + fp)}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "p3_confusion_tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
_got = confusion_metrics([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0])
assert type(_got) is dict, f"return a dict, not {type(_got).__name__}"
_keys = {"tp", "fp", "tn", "fn", "accuracy", "precision", "recall", "f1", "negative_recall"}
assert set(_got) == _keys, f"the keys must be exactly {sorted(_keys)}; yours: {sorted(_got)}"
for _k in ("tp", "fp", "tn", "fn"):
    assert type(_got[_k]) is int, f"{_k} must be a Python int (use int(...)), not {type(_got[_k]).__name__}"
for _k in _keys - {"tp", "fp", "tn", "fn"}:
    assert type(_got[_k]) is float, f"{_k} must be a Python float, not {type(_got[_k]).__name__}"
assert (_got["tp"], _got["fp"], _got["tn"], _got["fn"]) == (2, 1, 2, 1), \
    f"counts: expected tp=2 fp=1 tn=2 fn=1, got tp={_got['tp']} fp={_got['fp']} tn={_got['tn']} fn={_got['fn']}"
assert abs(_got["negative_recall"] - 2 / 3) < 1e-9, "negative_recall is TN / (TN + FP): here 2 / 3"
_FORMULA = {"accuracy": "(TP + TN) / n", "precision": "TP / (TP + FP)", "recall": "TP / (TP + FN)",
            "f1": "2 TP / (2 TP + FP + FN)", "negative_recall": "TN / (TN + FP)"}
_uneven = confusion_metrics([1, 1, 1, 0, 0], [1, 0, 0, 1, 0])  # tp=1 fp=1 tn=1 fn=2: every metric differs
for _k, _v in {"accuracy": 2 / 5, "precision": 1 / 2, "recall": 1 / 3, "f1": 2 / 5, "negative_recall": 1 / 2}.items():
    assert abs(_uneven[_k] - _v) < 1e-9, \
        f"{_k} is {_FORMULA[_k]}: {_v:.3f} for labels 1,1,1,0,0 and predictions 1,0,0,1,0 (tp=1 fp=1 tn=1 fn=2); " \
        f"yours is {_uneven[_k]:.3f}"
_NONE = "with no positive labels and no positive predictions, precision, recall and F1 are 0.0 (not an error, not nan)"
try:
    _none = confusion_metrics([0, 0, 0], [0, 0, 0])
except ZeroDivisionError:
    raise AssertionError(f"{_NONE}: check a denominator before dividing by it") from None
assert _none["precision"] == 0.0 and _none["recall"] == 0.0 and _none["f1"] == 0.0, _NONE
import numpy as _np  # the notebook passes NumPy arrays below: the counts must still be Python ints

_arrays = confusion_metrics(_np.array([1, 1, 0, 0, 1, 0]), _np.array([1, 0, 0, 1, 1, 0]))
for _k in ("tp", "fp", "tn", "fn"):
    assert type(_arrays[_k]) is int, \
        f"with NumPy arrays, {_k} is {type(_arrays[_k]).__name__}: a Python int is needed (int(...))"
### BEGIN HIDDEN TESTS
import numpy as _np


def _expect(t, p):
    tp = sum(1 for a, b in zip(t, p) if a == 1 and b == 1)
    fp = sum(1 for a, b in zip(t, p) if a == 0 and b == 1)
    tn = sum(1 for a, b in zip(t, p) if a == 0 and b == 0)
    fn = sum(1 for a, b in zip(t, p) if a == 1 and b == 0)
    r = lambda n, d: n / d if d else 0.0  # noqa: E731
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "accuracy": r(tp + tn, len(t)), "precision": r(tp, tp + fp),
            "recall": r(tp, tp + fn), "f1": r(2 * tp, 2 * tp + fp + fn), "negative_recall": r(tn, tn + fp)}

_cases = [([1, 0, 1, 1, 0, 0, 1, 0], [1, 1, 0, 1, 0, 0, 0, 0]), ([1, 1, 1], [1, 1, 1]), ([0, 0], [1, 1]),
          ([1, 1, 0], [0, 0, 0]), ([0, 1], [0, 1]), ([1] * 7 + [0] * 13, [1, 0] * 10),
          ([0, 0, 0, 1], [0, 0, 0, 0]), ([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 0, 0, 1, 1])]
assert len(_cases) == 8
for _t, _p in _cases:
    for _ti, _pi in ((_t, _p), (_np.array(_t), _np.array(_p, dtype=_np.int64))):
        _g = confusion_metrics(_ti, _pi)
        _e = _expect(_t, _p)
        assert type(_g) is dict and set(_g) == set(_e), (_t, _p)
        assert all(type(_g[k]) is int and _g[k] == _e[k] for k in ("tp", "fp", "tn", "fn")), (_t, _p, _g)
        assert all(type(_g[k]) is float and abs(_g[k] - _e[k]) < 1e-12 for k in _e if k not in
                   ("tp", "fp", "tn", "fn")), (_t, _p, _g)
### END HIDDEN TESTS

# %% [markdown]
# Your counts on the test split, next to `evaluate`'s numbers:

# %%
steps.need(globals(), "test_scores", "confusion_metrics", step="section A")
mine = confusion_metrics(y_test, (test_scores >= 0.5).astype(int))
print(mine)
print(f"evaluate: precision {report['precision']:.4f}, recall {report['recall']:.4f}, F1 {report['f1']:.4f}")

# %% [markdown]
# **How sure are we?** The test split is one sample of reviews. Had we drawn another of the same
# size, the score would move. A **bootstrap** redraws the test split (with replacement) a thousand
# times and reports the range that holds 95 % of the results:

# %%
steps.need(globals(), "report", step="section A")
for name in ("accuracy", "f1"):
    low, high = metrics.bootstrap_interval(y_test, test_scores, name)
    print(f"{name:>8}: {report[name]:.3f}, 95% interval {low:.3f} to {high:.3f} ({len(y_test)} test reviews)")

# %% [markdown]
# With a few hundred test reviews the interval is several points wide: two models whose scores
# differ by less than that are not shown to differ.
#
# ### B. Pictures
#
# Six pictures of the same test scores:
#
# * **confusion matrix**: the four counts at threshold 0.5 — the off-diagonal cells are the mistakes;
# * **precision-recall curve** and **ROC curve**: every threshold at once; the dot is 0.5;
# * **reliability diagram** (calibration): does a score of 0.9 mean "positive 9 times in 10"?
#   Points on the diagonal are *calibrated*; fine-tuned models are often over-confident;
# * **score histogram**: the scores of truly negative and truly positive reviews; where they
#   overlap, no threshold can be right for both;
# * **choosing a threshold**: precision, recall and F1 as the threshold moves.

# %%
steps.need(globals(), "test_scores", step="section A")
plots.evaluation_dashboard(y_test, test_scores, title=f"Test split, {profile.name} profile");


# %% [markdown]
# ### C. Choosing a threshold — on validation, never on test
#
# 0.5 is a convention, not a law. Our shop wants to catch at least 90 % of the unhappy customers:
# a negative recall of 0.9. Choosing the threshold is a training decision, so it is made on the
# **validation** split; choosing it on test would be the leak Part 2 warned about, and the test
# score would no longer be an honest estimate.
#
# **Your turn (2).** Write `choose_threshold(y_true, scores, min_negative_recall=0.9, candidates=None)`
# as its docstring says.

# %% nbgrader={"grade": false, "grade_id": "p3_threshold_answer", "locked": false, "schema_version": 3, "solution": true} reference=["evaluation.choose_threshold"]
def choose_threshold(y_true, scores, min_negative_recall=0.9, candidates=None):
    """The lowest candidate threshold that still finds ``min_negative_recall`` of the negative reviews.

    A review is predicted positive when ``score >= threshold``, negative otherwise. Raising the
    threshold calls more reviews negative, so the recall of the negative class can only go up.
    Return the **lowest** threshold among ``candidates`` whose negative recall is at least
    ``min_negative_recall``: it catches enough unhappy customers while calling as few happy ones
    unhappy as possible. ``candidates`` defaults to ``0.01, 0.02, …, 0.99``.

    Return it as a Python ``float``. If no candidate reaches the target, raise ``ValueError`` with a
    message that says so. ``y_true`` holds 0/1 labels, ``scores`` P(positive) (lists or NumPy arrays).
    *Hint:* your ``confusion_metrics`` computes the negative recall.
    """
    ### BEGIN SOLUTION
    if candidates is None:
        candidates = [i / 100 for i in range(1, 100)]
    for threshold in sorted(float(c) for c in candidates):
        predicted = [1 if float(s) >= threshold else 0 for s in scores]
        if confusion_metrics(y_true, predicted)["negative_recall"] >= min_negative_recall:
            return threshold
    raise ValueError(f"no candidate threshold reaches a negative recall of {min_negative_recall}")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "p3_threshold_tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
# no score sits on a grid point: a grid built as 0.01 * i (0.35000000000000003) is as right as i / 100
_y, _s = [0, 0, 0, 1, 1, 0, 1, 1], [0.1, 0.345, 0.6, 0.55, 0.8, 0.3, 0.9, 0.2]
_t = choose_threshold(_y, _s, 0.75, candidates=[0.2, 0.4, 0.5, 0.7, 0.9])
assert type(_t) is float, f"return a Python float, not {type(_t).__name__}"
assert _t == 0.4, (f"with these candidates 0.4 is the lowest threshold calling at least 3 of the 4 negatives "
                   f"negative (score < threshold); you returned {_t}")
assert choose_threshold(_y, _s, 1.0, candidates=[0.2, 0.4, 0.5, 0.7, 0.9]) == 0.7, \
    "to catch every negative (recall 1.0) the threshold must be above the highest negative score, 0.6"
assert choose_threshold(_y, _s, 0.75, candidates=[0.9, 0.4, 0.7]) == 0.4, \
    "candidates may come in any order: return the lowest that works (sort them), here 0.4, not the first (0.9)"
assert choose_threshold([0, 0, 1], [0.5, 0.5, 0.5], 1.0, candidates=[0.5, 0.51]) == 0.51, \
    "a score equal to the threshold is positive (score >= threshold): at 0.5 the two negatives are missed"
try:
    choose_threshold([0, 1], [0.95, 0.2], 1.0, candidates=[0.5, 0.9])
except ValueError:
    pass
else:
    raise AssertionError("no candidate reaches the target here: raise ValueError")
_DEFAULT_GRID = "without candidates, try 0.01, 0.02, ..., 0.99: here 0.35 is the lowest that works"
try:
    _default = choose_threshold(_y, _s, 0.75)
except ValueError as _e:
    raise AssertionError(f"{_DEFAULT_GRID}; yours raised ValueError: {_e}") from None
assert type(_default) is float, f"return a Python float, not {type(_default).__name__}: float(threshold)"
assert abs(_default - 0.35) < 1e-9, f"{_DEFAULT_GRID}; you returned {_default}"
### BEGIN HIDDEN TESTS
import numpy as _np

# candidates out of order: the lowest that works is 0.35, not the first listed that works (0.9)
assert choose_threshold(_np.array(_y), _np.array(_s), 0.5, candidates=_np.array([0.9, 0.05, 0.35])) == 0.35
assert choose_threshold([0, 1], [0.3, 0.3], 1.0, candidates=[0.3, 0.31]) == 0.31  # score >= t is positive
assert abs(choose_threshold([1, 1, 0], [0.9, 0.8, 0.1], 1.0) - 0.11) < 1e-9
assert choose_threshold([0, 0, 0, 0, 1], [0.05, 0.15, 0.25, 0.35, 0.5], 0.5, candidates=[0.1, 0.2, 0.3]) == 0.2
### END HIDDEN TESTS

# %% [markdown]
# Use it the right way round: choose on validation, then measure **once** on test:

# %%
steps.need(globals(), "val_scores", "choose_threshold", "confusion_metrics", step="sections A and C")
chosen = choose_threshold(y_val, val_scores, 0.9)
at_chosen = confusion_metrics(y_test, (test_scores >= chosen).astype(int))
print(f"threshold {chosen:.2f}, chosen on validation for a negative recall of 0.9; on test: "
      f"negative recall {at_chosen['negative_recall']:.3f}, recall {at_chosen['recall']:.3f}, "
      f"precision {at_chosen['precision']:.3f}")


# %% [markdown]
# On test the negative recall lands near 0.9, not exactly on it: the threshold was fitted to other
# reviews. That gap is what you would see in production too.
#
# ### D. Cross-validation: is the test score luck?
#
# One split gives one number; another seed would give another. **Stratified k-fold
# cross-validation** cuts the data into k parts with the same share of positives, trains k models
# (each on k−1 parts) and scores each on the part it did not see. The **mean** is a steadier
# estimate than any single split; the **standard deviation** between folds says how much a single
# split could have misled us. Two rules keep it honest:
#
# * it uses **train + validation only**: the test split stays locked away for the final number;
# * each fold's held-out part is only **scored**. Whatever training *chooses* (the best epoch), it
#   chooses on an **inner validation** part carved from the fold's own training part. Picking the
#   epoch by the held-out score would report a number we optimised.
#
# **The cost:** k trainings instead of one. Under `offline` each fold trains 1 epoch instead of 3
# (`profile.cross_validation.why` says why); under `azure` every fold repeats the full recipe.
#
# **Your turn (3).** First the stratifying itself: write `stratified_split(labels, test_fraction, seed=0)`.

# %% nbgrader={"grade": false, "grade_id": "p3_split_answer", "locked": false, "schema_version": 3, "solution": true} reference=["evaluation.stratified_split"]
def stratified_split(labels, test_fraction, seed=0):
    """Split positions ``0 … len(labels)-1`` into ``(train_idx, test_idx)``, keeping each label's share.

    Return two **lists of ``int``** that together contain every position exactly once. For each label
    value, about ``test_fraction`` of its positions (rounded, so within one) go to ``test_idx``.
    Shuffle each label's positions with ``random.Random(seed)`` first, so the split is random but the
    same seed gives the same split. Labels can be any values (``0``/``1``, ``"pos"``/``"neg"``, …).
    """
    ### BEGIN SOLUTION
    import random

    rng = random.Random(seed)
    positions = {}
    for i, label in enumerate(labels):
        positions.setdefault(label, []).append(i)
    train_idx, test_idx = [], []
    for label in positions:
        group = positions[label]
        rng.shuffle(group)
        n_test = round(test_fraction * len(group))
        test_idx += group[:n_test]
        train_idx += group[n_test:]
    return sorted(train_idx), sorted(test_idx)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "p3_split_tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
_labels = [0, 1] * 20 + [1] * 20
_tr, _te = stratified_split(_labels, 0.25, seed=1)
assert type(_tr) is list and type(_te) is list, "return two lists"
assert all(type(i) is int for i in _tr + _te), "positions must be Python ints"
assert sorted(_tr + _te) == list(range(len(_labels))), "every position exactly once"
for _label in (0, 1):
    _share = sum(_labels[i] == _label for i in _te) / sum(y == _label for y in _labels)
    assert abs(_share - 0.25) < 0.06, f"label {_label}: {_share:.0%} of it went to test, not about 25%"
assert tuple(stratified_split(_labels, 0.25, seed=1)) == (_tr, _te), \
    "the same seed must give the same split: shuffle with random.Random(seed)"
assert stratified_split(_labels, 0.25, seed=2)[1] != _te, \
    "seed=2 gave the same test positions as seed=1: shuffle with random.Random(seed), the seed you are given"
for _seed in range(5):  # 4 of these 40 are label 0: a quarter of them is exactly 1, whatever the seed
    _few = stratified_split([1] * 36 + [0] * 4, 0.25, seed=_seed)[1]
    assert len(_few) == 10 and sum(_i >= 36 for _i in _few) == 1, \
        f"split each label on its own: 9 of the 36 label-1 positions and 1 of the 4 label-0 ones (36-39) go to " \
        f"test; with seed={_seed} yours sent {sorted(_few)}"
_words = ["pos", "neg", "mixed"] * 4
_trw, _tew = stratified_split(_words, 0.25, seed=1)
assert sorted(_trw + _tew) == list(range(12)) and sorted(_words[_i] for _i in _tew) == ["mixed", "neg", "pos"], \
    "labels can be any values (here 'pos', 'neg' and 'mixed', 4 of each): a quarter of each, one, goes to test"
try:
    _once = stratified_split([0] * 8 + [1], 0.25, seed=0)
except ValueError as _e:
    raise AssertionError(
        "a label seen only once (here one 1 among eight 0s) must not stop the split: shuffle and cut each label's "
        "positions yourself (scikit-learn's train_test_split(stratify=...) refuses a label with fewer than 2 "
        f"members): {_e}") from _e
assert sorted(_once[0] + _once[1]) == list(range(9)) and sum(_i < 8 for _i in _once[1]) == 2, \
    f"eight 0s and one 1 at 0.25: 2 of the 0s go to test (and the 1 wherever rounding puts it); yours: {_once}"
### BEGIN HIDDEN TESTS
from collections import Counter as _Counter


def _check_split(labels, fraction, seed):
    tr, te = stratified_split(labels, fraction, seed=seed)
    assert type(tr) is list and type(te) is list
    assert all(type(i) is int for i in tr + te)
    assert sorted(tr + te) == list(range(len(labels)))
    counts, in_test = _Counter(labels), _Counter(labels[i] for i in te)
    for lab, n in counts.items():
        assert abs(in_test[lab] - fraction * n) < 1 + 1e-9, (lab, in_test[lab], fraction * n)
    return te

_imbalanced = [1] * 180 + [0] * 20
_check_split(_imbalanced, 0.1, 0)
_three = ["pos", "neg", "pos", "mixed", "pos", "neg"] * 25 + ["mixed"] * 7
_check_split(_three, 0.3, 5)
_mixed = [(i * 7919) % 13 % 2 for i in range(300)]
_a = _check_split(_mixed, 0.2, 1)
_b = _check_split(_mixed, 0.2, 2)
assert _a == _check_split(_mixed, 0.2, 1), "the same seed must give the same split"
assert _a != _b, "different seeds should shuffle differently"
_ = _check_split([0, 1], 0.5, 3)
### END HIDDEN TESTS

# %% [markdown]
# The kit's `crossval.stratified_folds` does the same k times (with scikit-learn), and
# `crossval.inner_split` carves each fold's inner validation part.
#
# **Your turn (4): one fold's training.** `crossval.cross_validate` cuts the folds and scores them;
# the training in each fold is yours: Part 2's steps, in one function. It gets the fold's training
# part, its inner validation part, the held-out reviews **without their labels** (nothing may peek)
# and the profile whose recipe to follow, and returns a score per held-out review.

# %% nbgrader={"grade": false, "grade_id": "p3_train_fold_answer", "locked": false, "schema_version": 3, "solution": true} reference=["evaluation.train_fold"]
def train_fold(train_df, inner_val_df, held_df, profile):
    """Fine-tune a fresh pre-trained model for one fold; return P(positive) for each review of ``held_df``.

    The Part 2 recipe, in a few lines:

    1. start from the pre-trained encoder with a new head: ``models.load_classifier(profile)`` and
       ``models.load_tokenizer(profile)`` (``from finetune_kit import models``);
    2. tokenize ``train_df`` and ``inner_val_df`` (truncate to ``profile.max_length``, no padding):
       a plain list of dicts such as ``{"input_ids": …, "attention_mask": …, "labels": 1}`` works as a
       dataset for ``Trainer``;
    3. ``TrainingArguments`` with ``profile.num_epochs``, ``profile.learning_rate``,
       ``profile.batch_size``; evaluate and save every epoch and keep the **best epoch by the loss on
       ``inner_val_df``** (``load_best_model_at_end=True``); ``report_to="none"`` and
       ``disable_tqdm=True`` keep the output quiet. Part 2's speed settings, or a fold takes four to
       five times as long: ``train_sampling_strategy="group_by_length"``, ``bf16=profile.hardware.bf16``,
       ``fp16=profile.hardware.fp16`` and ``use_cpu=not torch.cuda.is_available()``. Use a temporary
       ``output_dir`` (``tempfile.TemporaryDirectory()``): checkpoints are big;
    4. a ``Trainer`` with ``DataCollatorWithPadding(tokenizer,
       pad_to_multiple_of=profile.hardware.pad_to_multiple_of)``, then ``trainer.train()``;
    5. return ``train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist(),
       max_length=profile.max_length)``: a NumPy array, one score per held-out review.

    ``held_df`` is what the fold is scored on, so nothing may look at it while training (it may even
    come without a ``label`` column).
    """
    ### BEGIN SOLUTION
    import tempfile

    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from finetune_kit import models, train

    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)

    def encode(df):
        encoded = tokenizer(df["text"].tolist(), truncation=True, max_length=profile.max_length)
        return [{"input_ids": ids, "attention_mask": mask, "labels": int(label)}
                for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], df["label"], strict=True)]

    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(output_dir=output_dir, num_train_epochs=profile.num_epochs,
                                 learning_rate=profile.learning_rate, per_device_train_batch_size=profile.batch_size,
                                 per_device_eval_batch_size=32, eval_strategy="epoch", save_strategy="epoch",
                                 load_best_model_at_end=True, metric_for_best_model="eval_loss",
                                 save_total_limit=1, report_to="none", disable_tqdm=True, seed=42,
                                 train_sampling_strategy="group_by_length", bf16=profile.hardware.bf16,
                                 fp16=profile.hardware.fp16, use_cpu=not torch.cuda.is_available())
        collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=profile.hardware.pad_to_multiple_of)
        trainer = Trainer(model=model, args=args, train_dataset=encode(train_df),
                          eval_dataset=encode(inner_val_df), data_collator=collator)
        trainer.train()
        return train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist(),
                                   max_length=profile.max_length)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "p3_train_fold_tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
import warnings as _warnings

import numpy as _np
import pandas as _pd
import transformers as _transformers
from transformers.utils import logging as _hf_logging

from finetune_kit import config as _config
from finetune_kit import data as _data

_reviews = _data.read_reviews()
_pos, _neg = _reviews[_reviews["label"] == 1], _reviews[_reviews["label"] == 0]
_fit = _pd.concat([_pos.iloc[:8], _neg.iloc[:8]]).reset_index(drop=True)  # tiny: one training step
_inner = _pd.concat([_pos.iloc[8:10], _neg.iloc[8:11]]).reset_index(drop=True)
_held = _pd.concat([_pos.iloc[11:13], _neg.iloc[11:13]])[["text"]].reset_index(drop=True)  # no labels
_copies = [_f.copy() for _f in (_fit, _inner, _held)]
_built = []  # for every Trainer train_fold builds: how often and on what it trains and evaluates
_init = _transformers.Trainer.__init__

def _spy(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    _built.append((getattr(self.args.eval_strategy, "value", self.args.eval_strategy),
                   self.args.load_best_model_at_end,
                   None if self.eval_dataset is None else len(self.eval_dataset),
                   None if self.train_dataset is None else len(self.train_dataset),
                   getattr(self.args.train_sampling_strategy, "value", self.args.train_sampling_strategy)))

_hf_logging.disable_progress_bar()
_transformers.Trainer.__init__ = _spy
try:
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _scores = train_fold(_fit, _inner, _held, _config.PROFILES["smoke"])
finally:
    _transformers.Trainer.__init__ = _init
assert isinstance(_scores, _np.ndarray), \
    f"return a NumPy array (train.predict_proba gives one), not {type(_scores).__name__}"
assert _scores.shape == (len(_held),), \
    f"one score per held-out review: expected shape {(len(_held),)}, got {_scores.shape}"
assert _np.issubdtype(_scores.dtype, _np.floating) and ((_scores >= 0) & (_scores <= 1)).all(), \
    "scores are probabilities P(positive), between 0 and 1"
assert _built, "build a transformers.Trainer (and call its train()) inside train_fold"
for _strategy, _best, _size, _train_size, _sampling in _built:
    assert _strategy == "epoch" and _best, \
        ("evaluate every epoch (eval_strategy=\"epoch\") and keep the best one (load_best_model_at_end=True); "
         f"yours: eval_strategy={_strategy!r}, load_best_model_at_end={_best!r}")
    assert _size == len(_inner), ("the Trainer must evaluate on inner_val_df (the inner validation part) and "
                                  f"nothing else: eval_dataset has {_size} rows, inner_val_df {len(_inner)}")
    assert _train_size == len(_fit), ("the Trainer must train on train_df alone (the inner validation part only "
                                      f"picks the epoch): train_dataset has {_train_size} rows, train_df {len(_fit)}")
    assert _sampling == "group_by_length", \
        ("batch reviews of similar length, as in Part 2: train_sampling_strategy=\"group_by_length\" (without it "
         f"each fold pads short reviews to long ones and takes four to five times as long); yours: {_sampling!r}")
for _name, _copy, _given in zip(("train_df", "inner_val_df", "held_df"), _copies, (_fit, _inner, _held)):
    assert _copy.equals(_given), (f"train_fold changed {_name}: work on a copy (df.copy()) or build new lists, "
                                  "so the caller's data stay as they were")
### BEGIN HIDDEN TESTS
assert float(_scores.max() - _scores.min()) > 0, "every held-out review got the same score"
### END HIDDEN TESTS

# %% [markdown]
# Now the real thing. Under `offline` this is the long cell: a line per fold as it goes.

# %%
steps.need(globals(), "train_fold", "splits", step="your train_fold above")
print(f"{profile.cv_folds} folds, because: {profile.cross_validation.why}")
pool = crossval.cv_pool(profile, splits)  # train + validation, never test
cv = crossval.cross_validate(profile, train_fold, pool)
print(cv.describe_cost(model_dir))

# %%
steps.need(globals(), "cv", "report", step="the cross-validation cell above")
plots.cross_validation(cv.folds, single=report)
cv.compare(report).round(3)


# %% [markdown]
# How to read it: each dot, and the worst and best fold in the table, is what **one** split would
# have told you. The spread between folds is how much luck sits in any single split: compare it with
# the bootstrap interval of section A. Under `offline` each fold trains 1 epoch instead of 3, so the
# folds' *level* sits below the single split's (×): that gap is the price of fewer epochs, not luck.
#
# ### E. Where does it fail?
#
# A single number hides *which* reviews go wrong. Start with the mistakes the model was surest of,
# and read them: some are the model's fault, some are hard (sarcasm, reviews that change their
# mind), and some may be labels you disagree with.
#
# **Your turn (5).** Write `most_confident_mistakes(texts, labels, scores, n=5)`.

# %% nbgrader={"grade": false, "grade_id": "p3_mistakes_answer", "locked": false, "schema_version": 3, "solution": true} reference=["evaluation.most_confident_mistakes"]
def most_confident_mistakes(texts, labels, scores, n=5):
    """The ``n`` mistakes the model was surest of, as a pandas DataFrame (threshold 0.5).

    A review is predicted positive (1) when its score, P(positive), is ``>= 0.5``. A *mistake* is a
    review whose prediction differs from its label. The model's *confidence* in its prediction is
    the score for a positive prediction and ``1 - score`` for a negative one.

    Return a DataFrame with the columns ``text``, ``label``, ``predicted``, ``score`` and
    ``confidence`` (in that order), one row per mistake, most confident first, at most ``n`` rows,
    with a fresh index ``0, 1, …`` (``reset_index(drop=True)``). Ties keep the input order.
    """
    ### BEGIN SOLUTION
    import pandas as pd

    frame = pd.DataFrame({"text": list(texts), "label": [int(y) for y in labels],
                          "score": [float(s) for s in scores]})
    frame["predicted"] = (frame["score"] >= 0.5).astype(int)
    frame["confidence"] = frame["score"].where(frame["predicted"] == 1, 1 - frame["score"])
    mistakes = frame[frame["predicted"] != frame["label"]]
    mistakes = mistakes.sort_values("confidence", ascending=False, kind="stable").head(n)
    return mistakes[["text", "label", "predicted", "score", "confidence"]].reset_index(drop=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "p3_mistakes_tests", "locked": true, "schema_version": 3, "solution": false, "points": 2}
import pandas as _pd

_texts = ["a", "b", "c", "d", "e", "f"]
_got = most_confident_mistakes(_texts, [1, 0, 1, 0, 1, 0], [0.9, 0.8, 0.1, 0.3, 0.45, 0.51], n=3)
assert isinstance(_got, _pd.DataFrame), f"return a pandas DataFrame, not {type(_got).__name__}"
assert list(_got.columns) == ["text", "label", "predicted", "score", "confidence"], \
    f"columns must be text, label, predicted, score, confidence (in that order); yours: {list(_got.columns)}"
assert _got["text"].tolist() == ["c", "b", "e"], \
    (f"the mistakes are b (confidence 0.8), c (0.9), e (0.55), f (0.51); the 3 surest, surest first, are "
     f"c, b, e; yours: {_got['text'].tolist()}")
assert _got.index.tolist() == [0, 1, 2], "give the result a fresh index 0, 1, 2 (reset_index(drop=True))"
assert abs(float(_got["confidence"].iloc[0]) - 0.9) < 1e-9, "confidence of a negative prediction is 1 - score"
_edge = most_confident_mistakes(["g", "h"], [0, 1], [0.5, 0.5], n=5)
assert _edge["text"].tolist() == ["g"], \
    ("a score of exactly 0.5 predicts positive (score >= 0.5): g (label 0) is a mistake and h (label 1) is right; "
     f"yours found {_edge['text'].tolist()}")
### BEGIN HIDDEN TESTS
_all = most_confident_mistakes(_texts, [1, 0, 1, 0, 1, 0], [0.9, 0.8, 0.1, 0.3, 0.45, 0.51], n=10)
assert _all["text"].tolist() == ["c", "b", "e", "f"], _all
assert _all["predicted"].tolist() == [0, 1, 0, 1] and _all["label"].tolist() == [1, 0, 1, 0]
assert most_confident_mistakes(["x", "y"], [1, 0], [0.7, 0.2], n=5).empty  # no mistakes
_tie = most_confident_mistakes(["p", "q", "r"], [0, 0, 1], [0.7, 0.7, 0.5], n=2)
assert _tie["text"].tolist() == ["p", "q"], _tie  # 0.5 is positive: r is right; ties keep the input order
### END HIDDEN TESTS

# %%
steps.need(globals(), "test_scores", "most_confident_mistakes", step="section A and your function above")
import pandas as pd

pd.set_option("display.max_colwidth", 200)
most_confident_mistakes(splits.test["text"], y_test, test_scores, n=5)

# %% [markdown]
# **Accuracy by slice**: by domain, review length, whether the review contains a negation ("not",
# "never", "didn't") and whether it contains a contrast word ("but", "however"). The whiskers are
# 95 % intervals: a slice of 20 reviews with one mistake is 95 % accurate, give or take ten points,
# so do not over-read small slices.

# %%
steps.need(globals(), "test_scores", "report", step="section A")
slices = analysis.slice_report(analysis.predictions_frame(splits.test, test_scores))
plots.slice_accuracy(slices, overall=report["accuracy"])
slices.round(3)

# %% [markdown]
# **A bias probe.** The sentiment of a review should not depend on *who* it is about. We put
# identity terms into the same short reviews ("my husband" / "my wife", "John" / "Aisha", "he" /
# "she", …) and swap gendered words inside real test reviews, then count how often the predicted
# label **flips** and how far the score moves. A flip on a borderline review is a warning sign worth
# investigating; many flips would be a reason not to ship.

# %%
steps.need(globals(), "predict", step="section A")
probe = analysis.bias_probe(predict, splits.test["text"])
plots.bias_probe(analysis.bias_summary(probe))
probe.sort_values("change", key=abs, ascending=False)[["text_a", "text_b", "score_a", "score_b"]].head(5).round(3)

# %% [markdown]
# A probe like this can show a problem; it cannot prove there is none. Twelve templates and eight
# name pairs are a start, not an audit.
#
# ### F. Concept checks
#
# The assignment asks these at the end of Part 3. Pick an answer (the picker writes it into the
# answer cell below it) or type it there yourself: `True` or `False`, without quotes.
#
# **Question 1.** Fine-tuning eliminates the need for evaluation metrics.

# %%
fk.widgets.choice("p3_tf1", {True: "True", False: "False"})

# %% nbgrader={"grade": false, "grade_id": "p3_tf1_answer", "locked": false, "schema_version": 3, "solution": true}
# p3_tf1 = True   or   p3_tf1 = False   (no quotes)
### BEGIN SOLUTION
p3_tf1 = False
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "p3_tf1_tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
try:
    p3_tf1
except NameError:
    raise AssertionError("p3_tf1 is not set: run the answer cell above, with the line the picker shows "
                         "(p3_tf1 = True or p3_tf1 = False) typed there if it was not written in for you") from None
assert type(p3_tf1) is bool, "p3_tf1 must be True or False, without quotes"
### BEGIN HIDDEN TESTS
assert p3_tf1 is False
### END HIDDEN TESTS

# %% [markdown]
# **Question 2.** Azure Machine Learning provides tools for real-time monitoring of deployed models.

# %%
fk.widgets.choice("p3_tf2", {True: "True", False: "False"})

# %% nbgrader={"grade": false, "grade_id": "p3_tf2_answer", "locked": false, "schema_version": 3, "solution": true}
# p3_tf2 = True   or   p3_tf2 = False   (no quotes)
### BEGIN SOLUTION
p3_tf2 = True
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "p3_tf2_tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
try:
    p3_tf2
except NameError:
    raise AssertionError("p3_tf2 is not set: run the answer cell above, with the line the picker shows "
                         "(p3_tf2 = True or p3_tf2 = False) typed there if it was not written in for you") from None
assert type(p3_tf2) is bool, "p3_tf2 must be True or False, without quotes"
### BEGIN HIDDEN TESTS
assert p3_tf2 is True
### END HIDDEN TESTS

# %% [markdown]
# *After you answer: what "monitoring" means in Azure ML.* Two different things share the word.
# A managed online endpoint sends its **metrics** (requests per minute, latency, HTTP errors, CPU and
# memory) to Azure Monitor and its **logs** to Log Analytics within a minute or two, and you can
# alert on them: that is **near real time**. **Model monitoring** (data drift, prediction drift,
# data quality) is **not** real time: it is a job that runs **on a schedule** (daily, say) and
# compares the requests the endpoint collected with reference data. The endpoint's health is watched
# live; whether its *inputs* drifted is checked later. Part 3b shows both.
#
# ### G. Reflection (150–200 words)
#
# Discuss why evaluating a fine-tuned model with metrics like **F1** and with **cross-validation**
# matters, and give concrete examples of what goes wrong when evaluation is skipped or done badly.
# Use what you saw above (numbers, slices, the probe). Write it as a Python string:
# `reflection_p3 = """your text"""`. An automatic check counts the words (150–200); your
# instructor grades the content.

# %% nbgrader={"grade": true, "grade_id": "p3_reflection_answer", "locked": false, "schema_version": 3, "solution": true, "points": 4}
### BEGIN SOLUTION
reflection_p3 = """Accuracy alone can flatter a model. If 90% of incoming reviews are positive, a
model that always answers "positive" scores 90% accuracy while finding none of the complaints: its
recall of the negative class is zero, which the confusion matrix shows at once. F1 matters because
it is high only when precision and recall both are. One test split is also only one sample: with a
few hundred test reviews, the bootstrap interval of accuracy spans several points, so a one-point
gain between two models is noise. Cross-validation retrains on k folds of train and validation,
giving a mean and a standard deviation, while the test split stays untouched until the end; each
fold picks its epoch on an inner validation part, never on the reviews it is scored on. Skipping
this causes real failures: tuning the threshold or the epoch on the test split reports a score we
optimised, not one we will see; in my run a single good number hid that short reviews were weaker
than average, and the bias probe flipped a borderline review when a name changed. Without slices
and probes, such problems reach customers first.
"""
# Rubric (4 points):
# 1 why F1 / precision / recall (or negative-class recall) over accuracy, with a concrete case;
# 1 what cross-validation adds (mean and spread over folds, test split kept for the end) and its cost;
# 1 at least two concrete pitfalls of skipped or poor evaluation (test-set tuning/leakage, noise of a
#   small test set, hidden weak slices, bias, miscalibration, drift after deployment);
# 1 grounded in this notebook's evidence (numbers, slices, the probe), not generic statements.
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "p3_reflection_length", "locked": true, "schema_version": 3, "solution": false, "points": 1}
assert type(reflection_p3) is str, 'write your reflection as reflection_p3 = """..."""'
_words = len(reflection_p3.split())
assert 150 <= _words <= 200, f"150 to 200 words please: yours has {_words}"
