"""Cross-validation of fine-tuning: how much of a test score is luck of the split?

One 80/10/10 split gives one number. Another seed gives another: a test split of a few hundred
reviews moves F1 by a point or two, and the training data the model happened to get moves it too.
Stratified k-fold cross-validation trains k models, each on (k-1)/k of the data, and scores each on
the part it did not see; the mean is a steadier estimate and the standard deviation says how sure
we are.

Two rules make it honest:

* it runs on **train + validation only**. The test split stays locked away until the very end, so
  it can still say, once, how the model we ship does on reviews nobody looked at;
* each fold's held-out part **plays validation** for that fold (the ``Trainer`` evaluates on it,
  early stopping and the best-epoch choice read it), so nothing leaks from the test split.

The price is k trainings. ``CV_BUDGETS`` says how big a cross-validation each profile can afford.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from finetune_kit import data, metrics, runcache
from finetune_kit.config import Profile


@dataclass(frozen=True)
class CVBudget:
    """How much of the recipe a profile's cross-validation repeats k times."""

    pool_size: int | None  # reviews drawn (stratified) from train + validation; None = all of them
    num_epochs: float | None  # epochs per fold; None = the profile's own
    why: str


#: profile name -> what its cross-validation trains; the number of folds is ``profile.cv_folds``
CV_BUDGETS: dict[str, CVBudget] = {
    "smoke": CVBudget(64, None, "seconds for CI and grading (2 folds of 32 reviews); the scores mean nothing"),
    "offline": CVBudget(None, 1, "5 trainings must fit a laptop CPU in minutes, so each fold trains 1 epoch "
                                 "(the single split trained 3) on 4/5 of the train+validation reviews"),
    "azure": CVBudget(None, None, "the full recipe k times, on a GPU"),
}


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
            text += (f"\nThe single split trained once, {single.get('epochs_run', 0):g} epoch(s) on "
                     f"{single['split_sizes']['train']:,} reviews: {single.get('train_seconds', 0):.0f} s.")
        return text


def budget(profile: Profile) -> CVBudget:
    if profile.name not in CV_BUDGETS:
        raise ValueError(f"No cross-validation budget for profile {profile.name!r}: add it to CV_BUDGETS")
    return CV_BUDGETS[profile.name]


def cv_pool(profile: Profile, splits: data.Splits | None = None, *, seed: int = data.SEED) -> pd.DataFrame:
    """Train + validation of the profile's split: the reviews cross-validation may use (never test)."""
    splits = splits or data.load_splits(profile, seed=seed)
    pool = pd.concat([splits.train, splits.validation], ignore_index=True)
    leaked = set(pool["text"]) & set(splits.test["text"])
    if leaked:
        raise ValueError(f"{len(leaked)} test review(s) also in train/validation, e.g. {sorted(leaked)[0]!r}")
    return data.subsample(pool, budget(profile).pool_size, seed=seed)


def stratified_folds(labels: Any, k: int, *, seed: int = data.SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train indices, held-out indices) pairs; every example is held out exactly once, and each
    held-out part keeps the label balance of the whole."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    smallest = int(np.bincount(pd.factorize(labels)[0]).min()) if len(labels) else 0
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got k={k}")
    if smallest < k:
        raise ValueError(f"k={k} folds need at least {k} examples of every label; the rarest label has {smallest}")
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels))


#: the Trainer's progress reporters (console, tqdm, notebook widget): k of them would bury the results
PROGRESS_CALLBACKS = frozenset({"PrinterCallback", "ProgressCallback", "NotebookProgressCallback"})


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


def train_fold(profile: Profile, train_df: pd.DataFrame, held_df: pd.DataFrame, output_dir: Path, *,
               num_epochs: float, seed: int = data.SEED, tokenizer: Any = None, model: Any = None) -> np.ndarray:
    """Fine-tune on ``train_df`` with ``held_df`` as validation; return P(positive) for ``held_df``.

    The recipe is ``train.fine_tune``'s, from the same pieces (``training_arguments``,
    ``build_trainer``), without what a fold does not need: no test split, no MLflow run, no saved
    model. With one epoch there is no epoch to choose, so the per-epoch evaluation and checkpoints
    are skipped and the held-out score is untouched by any choice. ``model``, when given, is the
    untrained classifier to start from (it is copied, not changed): loading it once for all folds
    saves a load per fold.
    """
    from finetune_kit import models, train

    tokenizer = tokenizer or models.load_tokenizer(profile)
    model = copy.deepcopy(model) if model is not None else models.load_classifier(profile, seed=seed)
    train_ds = data.tokenize(train_df, tokenizer, profile.max_length)
    held_ds = data.tokenize(held_df, tokenizer, profile.max_length)
    select = num_epochs > 1
    overrides = {} if select else {"eval_strategy": "no", "save_strategy": "no", "load_best_model_at_end": False}
    args = train.training_arguments(profile, output_dir, seed=seed, report_to=(), num_train_epochs=num_epochs,
                                    steps_per_epoch=max(1, len(train_ds) // profile.batch_size), **overrides)
    trainer = train.build_trainer(model, tokenizer, train_ds, held_ds, args, patience=2 if select else None)
    for callback in list(trainer.callback_handler.callbacks):  # one line per fold instead (cross_validate)
        if type(callback).__name__ in PROGRESS_CALLBACKS:
            trainer.remove_callback(callback)
    try:
        trainer.train()
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)  # checkpoints: hundreds of MB per fold
    return train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist(), max_length=profile.max_length,
                               run_cache=False)  # the fold's scores are cached whole (``train_fold``)


def cross_validate(profile: Profile, pool: pd.DataFrame | None = None, *, k: int | None = None,
                   output_dir: Path | str | None = None, seed: int = data.SEED,
                   verbose: bool = True) -> CrossValidation:
    """Fine-tune k times (``train_fold``) and score each fold's held-out part with ``metrics.evaluate_scores``.

    ``pool`` defaults to ``cv_pool(profile)`` (train + validation, never test); ``k`` to
    ``profile.cv_folds``; epochs per fold to ``CV_BUDGETS``.
    """
    from finetune_kit import models
    from finetune_kit.config import artifact_dir

    pool = cv_pool(profile, seed=seed) if pool is None else pool.reset_index(drop=True)
    k = k or profile.cv_folds
    epochs = budget(profile).num_epochs or profile.num_epochs
    output_dir = Path(output_dir) if output_dir else artifact_dir(profile) / "cross-validation"
    tokenizer = start_model = None  # loaded by the first fold that trains (runcache may answer them all)
    rows = []
    start_all = time.perf_counter()
    for fold, (train_idx, held_idx) in enumerate(stratified_folds(pool["label"], k, seed=seed), start=1):
        start = time.perf_counter()
        fold_train = pool.iloc[train_idx].reset_index(drop=True)
        held = pool.iloc[held_idx].reset_index(drop=True)
        run_key = runcache.key("train_fold", profile=profile.summary(), epochs=epochs, seed=seed,
                               train=runcache.frame_digest(fold_train), held=runcache.frame_digest(held))
        cached = runcache.lookup(run_key)
        if cached is not None:
            scores = np.load(cached / "scores.npy")
            runcache.note(cached)
        else:
            with _quiet_progress_bars():
                if start_model is None:
                    tokenizer = models.load_tokenizer(profile)
                    start_model = models.load_classifier(profile, seed=seed)  # every fold starts from these
                scores = train_fold(profile, fold_train, held, output_dir / f"fold-{fold}", num_epochs=epochs,
                                    seed=seed, tokenizer=tokenizer, model=start_model)
            runcache.store(run_key, lambda entry, s=scores: np.save(entry / "scores.npy", s))
        result = metrics.evaluate_scores(held["label"].to_numpy(), scores)
        seconds = time.perf_counter() - start
        rows.append({"fold": fold, "n_train": len(train_idx), "n_heldout": len(held_idx),
                     "seconds": round(seconds, 1), **{m: result[m] for m in metrics.METRICS}})
        if verbose:
            print(f"fold {fold}/{k}: trained on {len(train_idx)}, scored {len(held_idx)} held out: "
                  f"accuracy {result['accuracy']:.3f}, F1 {result['f1']:.3f} ({seconds:.0f} s)", flush=True)
    return CrossValidation(folds=pd.DataFrame(rows), profile=profile.name, num_epochs=float(epochs),
                           seconds=time.perf_counter() - start_all)
