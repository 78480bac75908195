"""Classification metrics used during training and evaluation.

``classification_metrics`` (scikit-learn) is what the ``Trainer`` reports every epoch. Part 3's full
report, ``evaluate_scores``, goes through the Hugging Face ``evaluate`` library, the way the course
teaches it: from the Hub where the Hub is reachable, and from the ``evaluate`` modules the kit ships
in ``finetune_kit/sentiment/metric_modules`` otherwise (``metric_location`` makes that choice). Both compute
with scikit-learn, so the numbers are the same; ``sklearn_metrics`` is the reference tests compare with.
Thresholds, calibration and a bootstrap interval (how sure we are of a test score) follow.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (label 1)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "n": int(len(y_true)),
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --- the evaluate library, online and offline -----------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    """One reported number: which ``evaluate`` module computes it, from what, with which arguments."""

    module: str  # folder name under finetune_kit/sentiment/metric_modules, and the Hub's name where it has one
    needs: str  # "labels" (thresholded predictions) or "scores" (P(positive))
    kwargs: tuple[tuple[str, object], ...] = ()


#: reported name -> how to compute it. Order is the order reports list them in.
METRICS: dict[str, MetricSpec] = {
    "accuracy": MetricSpec("accuracy", "labels"),
    "precision": MetricSpec("precision", "labels", (("zero_division", 0),)),
    "recall": MetricSpec("recall", "labels", (("zero_division", 0),)),
    "f1": MetricSpec("f1", "labels"),
    "f1_macro": MetricSpec("f1", "labels", (("average", "macro"),)),
    "roc_auc": MetricSpec("roc_auc", "scores"),
    "average_precision": MetricSpec("average_precision", "scores"),
}
#: modules the Hub publishes as canonical ``evaluate-metric/<name>``; average precision has none there.
HUB_MODULES = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})
_TRUE = ("1", "true", "yes", "on")


#: What went wrong with the Hub in this process. "unreachable": a download failed, so every later
#: load goes straight to the kit's modules (one network timeout, not one per metric). "broken":
#: modules the Hub served but that failed to compute — the Hub's precision, recall and f1 scripts
#: call ``score.size`` on the plain float scikit-learn >= 1.6 returns (huggingface/evaluate#658).
_hub_problems: dict[str, dict[str, str]] = {"unreachable": {}, "broken": {}}


def hub_offline() -> bool:
    """True when this process must not, or cannot, reach the Hugging Face Hub.

    Must not: ``HF_HUB_OFFLINE`` or ``HF_EVALUATE_OFFLINE`` is set (every profile but azure sets the
    first). Cannot: an earlier ``load_metric`` in this process failed to download from the Hub.
    """
    forbidden = any(os.environ.get(name, "").strip().lower() in _TRUE
                    for name in ("HF_HUB_OFFLINE", "HF_EVALUATE_OFFLINE"))
    return forbidden or bool(_hub_problems["unreachable"])


def metric_location(module: str, *, offline: bool | None = None) -> str:
    """What to pass to ``evaluate.load`` for ``module``: the Hub's name online, the kit's folder offline.

    The one place that decides. ``offline=None`` asks ``hub_offline``. A module the Hub does not
    publish (``average_precision``), or whose Hub version failed in this process, comes from the kit.
    """
    from finetune_kit.sentiment import metric_modules

    offline = hub_offline() if offline is None else offline
    if not offline and module in HUB_MODULES and module not in _hub_problems["broken"]:
        return module
    return str(metric_modules.path(module))


@functools.cache
def _load(location: str) -> Any:
    import evaluate

    # keep_in_memory: no Arrow cache files or lock files beside a student's notebook.
    return evaluate.load(location, keep_in_memory=True)


def load_metric(module: str, *, offline: bool | None = None) -> Any:
    """The ``evaluate`` module for ``module`` (see ``metric_location`` for where it comes from).

    If the Hub was allowed but could not be reached, the kit's module is loaded instead and the Hub
    is not tried again in this process.
    """
    location = metric_location(module, offline=offline)
    try:
        return _load(location)
    except (ConnectionError, FileNotFoundError, OSError) as err:
        if location != module:  # the kit's own module failed: a real error, not a network one
            raise
        _hub_problems["unreachable"][module] = str(err)
        return _load(metric_location(module, offline=True))


def compute_metric(module: str, *, offline: bool | None = None, **inputs: Any) -> dict[str, Any]:
    """``load_metric(module).compute(**inputs)``, replacing a Hub module that fails by the kit's own.

    Inputs are checked before they get here, so a Hub module that raises is broken, not misused;
    the kit's module computes the same number with scikit-learn (and raises if the inputs are bad).
    """
    location = metric_location(module, offline=offline)
    try:
        return load_metric(module, offline=offline).compute(**inputs)
    except Exception as err:  # noqa: BLE001 - any failure of third-party code fetched from the Hub
        if location != module:
            raise
        _hub_problems["broken"][module] = f"{type(err).__name__}: {err}"
        return load_metric(module, offline=True).compute(**inputs)


def metric_sources(*, offline: bool | None = None) -> dict[str, str]:
    """Where each reported metric is loaded from right now: 'Hub: <name>' or the kit's folder."""
    sources = {}
    for name, spec in METRICS.items():
        location = metric_location(spec.module, offline=offline)
        if location == spec.module:
            sources[name] = f"Hub: evaluate-metric/{location}"
        else:
            sources[name] = f"kit: finetune_kit/sentiment/metric_modules/{spec.module}"
    return sources


def _check_binary(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=float)
    if y_true.ndim != 1 or y_true.shape != scores.shape:
        raise ValueError(f"y_true and scores must be 1-D and the same length, got {y_true.shape} and {scores.shape}")
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1, found {sorted(set(y_true.tolist()) - {0, 1})[:5]}")
    if np.isnan(scores).any() or (scores < 0).any() or (scores > 1).any():
        raise ValueError("scores must be probabilities between 0 and 1 (P(positive)), with no NaN")
    return y_true.astype(int), scores


def evaluate_scores(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5,
                    offline: bool | None = None) -> dict[str, float]:
    """Every metric in ``METRICS`` through the ``evaluate`` library, plus ``n`` and the ``threshold``.

    ``scores`` are P(positive); labels are predicted as ``scores >= threshold``. ROC-AUC and average
    precision need both classes present; with one class they are reported as NaN, not an error.
    """
    y_true, scores = _check_binary(y_true, scores)
    y_pred = (scores >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    result: dict[str, float] = {}
    for name, spec in METRICS.items():
        if spec.needs == "scores" and not both_classes:
            result[name] = float("nan")
            continue
        inputs = {"predictions": y_pred} if spec.needs == "labels" else {"prediction_scores": scores}
        with warnings.catch_warnings():  # an undefined F1 (no positives at all) is 0, said once here
            warnings.simplefilter("ignore")
            out = compute_metric(spec.module, offline=offline, references=y_true, **inputs, **dict(spec.kwargs))
        result[name] = float(out[spec.module])
    return {**result, "threshold": float(threshold), "n": int(len(y_true))}


def sklearn_metrics(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5) -> dict[str, float]:
    """The same numbers as ``evaluate_scores``, straight from scikit-learn: the reference to check against."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y_true, scores = _check_binary(y_true, scores)
    y_pred = (scores >= threshold).astype(int)
    both = len(np.unique(y_true)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = {
            "accuracy": accuracy_score(y_true, y_pred),
            "precision": precision_score(y_true, y_pred, zero_division=0),
            "recall": recall_score(y_true, y_pred, zero_division=0),
            "f1": f1_score(y_true, y_pred),
            "f1_macro": f1_score(y_true, y_pred, average="macro"),
            "roc_auc": roc_auc_score(y_true, scores) if both else float("nan"),
            "average_precision": average_precision_score(y_true, scores) if both else float("nan"),
        }
    return {**{k: float(v) for k, v in result.items()}, "threshold": float(threshold), "n": int(len(y_true))}


# --- thresholds, calibration, uncertainty ---------------------------------------------------------


def _confusion_counts(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, int]:
    """tp, fp, fn, tn of the positive class (label 1)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    return {"tp": int(((y_true == 1) & (y_pred == 1)).sum()), "fp": int(((y_true == 0) & (y_pred == 1)).sum()),
            "fn": int(((y_true == 1) & (y_pred == 0)).sum()), "tn": int(((y_true == 0) & (y_pred == 0)).sum())}


def threshold_sweep(y_true: Sequence[int], scores: Sequence[float], thresholds: Sequence[float] | None = None) -> Any:
    """Precision, recall, F1 and accuracy if we predicted positive for ``score >= threshold``, per threshold.

    Returns a DataFrame (one row per threshold; 0.01 to 0.99 in steps of 0.01 by default).
    """
    import pandas as pd

    y_true, scores = _check_binary(y_true, scores)
    thresholds = np.round(np.arange(0.01, 1.0, 0.01), 2) if thresholds is None else np.asarray(thresholds, float)
    pred = scores[None, :] >= thresholds[:, None]  # one row of predictions per threshold
    tp = (pred & (y_true == 1)).sum(axis=1)
    fp = (pred & (y_true == 0)).sum(axis=1)
    fn = (~pred & (y_true == 1)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    accuracy = (pred == (y_true == 1)).mean(axis=1)
    return pd.DataFrame({"threshold": thresholds, "precision": precision, "recall": recall, "f1": f1,
                         "accuracy": accuracy})


def best_f1_threshold(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """The threshold (on the 0.01 grid) with the highest F1; the lowest such threshold on ties.

    Choose it on the *validation* split, then apply it to test: choosing on test is the leak Part 2 showed.
    """
    sweep = threshold_sweep(y_true, scores)
    return float(sweep.loc[sweep["f1"].idxmax(), "threshold"])


def calibration_table(y_true: Sequence[int], scores: Sequence[float], *, n_bins: int = 10) -> Any:
    """Scores grouped in ``n_bins`` equal-width bins: mean score vs the share truly positive, per bin.

    A calibrated model's 0.8 means "positive four times in five": in every bin ``mean_score`` and
    ``positive_rate`` are close. Empty bins are left out.
    """
    import pandas as pd

    y_true, scores = _check_binary(y_true, scores)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            rows.append({"bin_low": edges[b], "bin_high": edges[b + 1], "count": int(mask.sum()),
                         "mean_score": float(scores[mask].mean()), "positive_rate": float(y_true[mask].mean())})
    return pd.DataFrame(rows)


def expected_calibration_error(y_true: Sequence[int], scores: Sequence[float], *, n_bins: int = 10) -> float:
    """ECE: the gap |mean score - share positive| averaged over bins, weighted by how many fall in each."""
    table = calibration_table(y_true, scores, n_bins=n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["mean_score"] - table["positive_rate"]).abs()).sum())


def _counts_metric(name: str, t: np.ndarray, p: np.ndarray) -> float:
    tp = int(((t == 1) & (p == 1)).sum())
    num_den = {"accuracy": (int((t == p).sum()), len(t)), "precision": (tp, int((p == 1).sum())),
               "recall": (tp, int((t == 1).sum())), "f1": (2 * tp, int((t == 1).sum() + (p == 1).sum()))}[name]
    return num_den[0] / num_den[1] if num_den[1] else 0.0


#: Metrics of predicted labels (what a ``Trainer``'s ``compute_metrics`` reports); the others need scores.
LABEL_METRICS = ("accuracy", "precision", "recall", "f1")
_SCORE_METRICS = ("roc_auc", "average_precision")


def bootstrap_interval(y_true: Sequence[int], scores: Sequence[float], metric: str = "f1", *,
                       threshold: float = 0.5, n_resamples: int = 1000, confidence: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for ``metric``: how far the number could move had we drawn another
    test set of the same size from the same kind of reviews.

    It measures test-set luck only, for this one trained model; cross-validation also measures the
    luck of the training data. Resamples missing a class are skipped for ROC-AUC and average precision.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_true, scores = _check_binary(y_true, scores)
    if metric not in LABEL_METRICS + _SCORE_METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(LABEL_METRICS + _SCORE_METRICS)}")
    by_scores = {"roc_auc": roc_auc_score, "average_precision": average_precision_score}
    rng = np.random.default_rng(seed)
    y_pred = (scores >= threshold).astype(int)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(y_true), len(y_true))
        t = y_true[idx]
        if metric in LABEL_METRICS:
            values.append(_counts_metric(metric, t, y_pred[idx]))
        elif 0 < t.sum() < len(t):
            values.append(float(by_scores[metric](t, scores[idx])))
    if not values:
        raise ValueError(f"{metric} needs both classes in the data")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)
