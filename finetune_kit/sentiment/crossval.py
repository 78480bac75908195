"""Cross-validation of fine-tuning: how much of a test score is luck of the split?

One 80/10/10 split gives one number. Another seed gives another: a test split of a few hundred
reviews moves F1 by a point or two, and the training data the model happened to get moves it too.
Stratified k-fold cross-validation trains k models, each on (k-1)/k of the data, and scores each on
the part it did not see; the mean is a steadier estimate and the standard deviation says how sure
we are.

Two rules make it honest:

* it runs on **train + validation only**. The test split stays locked away until the very end, so
  it can still say, once, how the model we ship does on reviews nobody looked at;
* each fold's held-out part is only **scored**, once: whatever training chooses (the best epoch,
  early stopping) it chooses on an *inner* validation part carved from the fold's training part
  (``inner_split``). Choosing the epoch on the held-out part would report a score we optimised.

The fold's training itself is the caller's ``train_fold`` (in the course, the student writes it in
Part 3 from the Part 2 steps): this module cuts the folds, runs them and reports. The price is k
trainings. ``profile.cross_validation`` says how big a cross-validation each profile can afford.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finetune_kit.course.config import Profile
from finetune_kit.sentiment import data, metrics

#: share of a fold's training part set aside as its inner validation part (``inner_split``)
INNER_FRACTION = 0.2

@dataclass
class CrossValidation:
    """Per-fold scores of a k-fold cross-validation and what it cost."""

    folds: pd.DataFrame  # one row per fold: fold, n_train, n_heldout, seconds, then every metric
    profile: str
    num_epochs: float
    seconds: float

    @property
    def k(self) -> int:
        return len(self.folds)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation (between folds, ddof=1) of every metric."""
        columns = [m for m in metrics.METRICS if m in self.folds.columns]
        values = self.folds[columns]
        return pd.DataFrame({"mean": values.mean(), "std": values.std(ddof=1)}).rename_axis("metric")

    def compare(self, single: dict[str, float]) -> pd.DataFrame:
        """The CV mean ± std and the worst and best fold, next to the single split's test scores.

        Each fold is what one split would have told us, so min..max is the range a single split
        could have reported with this recipe.
        """
        columns = [m for m in metrics.METRICS if m in self.folds.columns]
        table = self.summary()
        table["worst fold"] = self.folds[columns].min()
        table["best fold"] = self.folds[columns].max()
        table["single split (test)"] = [single.get(m, np.nan) for m in table.index]
        return table


    def describe_cost(self, model_dir: Path | str | None = None) -> str:
        """The bill, in words: k trainings, and (from its ``metrics.json``) the single split's one."""
        n_train = int(self.folds["n_train"].iloc[0])
        text = (f"Cross-validation: {self.k} trainings of {self.num_epochs:g} epoch(s) on about {n_train:,} reviews "
                f"took {self.seconds:.0f} s in all ({self.seconds / self.k:.0f} s per fold).")
        record = Path(model_dir) / "metrics.json" if model_dir else None
        if record is not None and record.exists():
            single = json.loads(record.read_text())
            sizes = single.get("split_sizes") or {}
            if "train_seconds" in single and "train" in sizes:
                text += (f"\nThe single split trained once, {single.get('epochs_run', 0):g} epoch(s) on "
                         f"{sizes['train']:,} reviews: {single['train_seconds']:.0f} s.")
        return text


def cv_pool(profile: Profile, splits: data.Splits | None = None, *, seed: int = data.SEED) -> pd.DataFrame:
    """Train + validation of the profile's split: the reviews cross-validation may use (never test)."""
    splits = splits or data.load_splits(profile, seed=seed)
    pool = pd.concat([splits.train, splits.validation], ignore_index=True)
    leaked = set(pool["text"]) & set(splits.test["text"])
    if leaked:
        raise ValueError(f"{len(leaked)} test review(s) also in train/validation, e.g. {sorted(leaked)[0]!r}")
    return data.subsample(pool, profile.cross_validation.pool_size, seed=seed)


def stratified_folds(labels: Any, k: int, *, seed: int = data.SEED,
                     groups: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train indices, held-out indices) pairs; every example is held out exactly once, and each
    held-out part keeps the label balance of the whole. With ``groups`` (the data's ``group`` column:
    reviews that share sentences) a group is never on both sides of a fold, as in Part 2's split."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    smallest = int(np.bincount(pd.factorize(labels)[0]).min()) if len(labels) else 0
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got k={k}")
    if smallest < k:
        raise ValueError(f"k={k} folds need at least {k} examples of every label; the rarest label has {smallest}")
    if groups is None:
        return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels))
    if len(set(groups)) < k:
        raise ValueError(f"k={k} folds of whole groups need at least {k} groups; the data has {len(set(groups))}")
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels, np.asarray(groups)))


def inner_split(fold_train: pd.DataFrame, fraction: float = INNER_FRACTION, *,
                seed: int = data.SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fold's training part cut (stratified) into what the model trains on and an inner validation part.

    The inner part is what a fold may *look at* while training: the loss that picks the best epoch,
    early stopping. The fold's held-out part is only scored, once, at the end.
    """
    from sklearn.model_selection import train_test_split

    fold_train = fold_train.reset_index(drop=True)
    n_inner = max(2, round(fraction * len(fold_train)))
    train_idx, inner_idx = train_test_split(np.arange(len(fold_train)), test_size=n_inner, random_state=seed,
                                            stratify=fold_train["label"])
    return (fold_train.iloc[np.sort(train_idx)].reset_index(drop=True),
            fold_train.iloc[np.sort(inner_idx)].reset_index(drop=True))


def fold_profile(profile: Profile) -> Profile:
    """The profile a fold trains with: the profile's recipe with ``profile.cross_validation``'s epochs."""
    epochs = profile.cross_validation.num_epochs
    return profile if epochs is None else dataclasses.replace(profile, num_epochs=epochs)


#: ``train_fold(train_df, inner_val_df, held_df, profile) -> scores``: one fold's fine-tuning, written by the
#: caller (the notebook's student, the instructor's reference), returning P(positive) for each held-out review.
TrainFold = Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame, Profile], Any]


def cross_validate(profile: Profile, train_fold: TrainFold, pool: pd.DataFrame, *, k: int | None = None,
                   seed: int = data.SEED, inner_fraction: float = INNER_FRACTION,
                   verbose: bool = True) -> CrossValidation:
    """Run ``train_fold`` on each of k stratified folds of ``pool`` and score its held-out part.

    ``pool`` is train + validation (``cv_pool``), never test. In each fold, ``inner_split`` carves an
    inner validation part out of the fold's training part: ``train_fold`` trains on the rest and may
    choose its best epoch on the inner part; it gets the held-out reviews **without labels** and returns
    their scores, which ``metrics.evaluate_scores`` then compares with the labels. ``k`` defaults to
    ``profile.cv_folds``; the fold's profile (``fold_profile``) carries the epochs of ``profile.cross_validation``.
    """
    pool = pool.reset_index(drop=True)
    k = k or profile.cv_folds
    recipe = fold_profile(profile)
    rows = []
    start_all = time.perf_counter()
    groups = pool[data.GROUP] if data.GROUP in pool.columns else None
    folds = stratified_folds(pool["label"], k, seed=seed, groups=groups)
    for fold, (train_idx, held_idx) in enumerate(folds, start=1):
        start = time.perf_counter()
        fit, inner_val = inner_split(pool.iloc[train_idx], inner_fraction, seed=seed)
        held = pool.iloc[held_idx].reset_index(drop=True)
        with _quiet_progress_bars():
            scores = np.asarray(train_fold(fit, inner_val, held[["text"]].copy(), recipe), dtype=float).reshape(-1)
        if len(scores) != len(held):
            raise ValueError(f"fold {fold}: train_fold returned {len(scores)} scores for {len(held)} held-out reviews")
        result = metrics.evaluate_scores(held["label"].to_numpy(), scores)
        seconds = time.perf_counter() - start
        rows.append({"fold": fold, "n_train": len(fit), "n_inner_val": len(inner_val), "n_heldout": len(held),
                     "seconds": round(seconds, 1), **{m: result[m] for m in metrics.METRICS}})
        if verbose:
            print(f"fold {fold}/{k}: trained on {len(fit)}, chose on {len(inner_val)}, scored {len(held)} held out: "
                  f"accuracy {result['accuracy']:.3f}, F1 {result['f1']:.3f} ({seconds:.0f} s)", flush=True)
    return CrossValidation(folds=pd.DataFrame(rows), profile=profile.name, num_epochs=float(recipe.num_epochs),
                           seconds=time.perf_counter() - start_all)


@contextlib.contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """No tqdm bars from model loading or tokenizing while the folds run; restored afterwards."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets_on, transformers_on = datasets.is_progress_bar_enabled(), hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if datasets_on:
            datasets.enable_progress_bars()
        if transformers_on:
            hf_logging.enable_progress_bar()
