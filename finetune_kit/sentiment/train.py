"""Training infrastructure for the sentiment case study: results, tracking, model cards, the shared model.

The recipe itself (tokenize, collate, arguments, trainer, metrics, the whole ``fine_tune``) is what
students write in Part 2; the instructor's copy lives in ``autograde/reference/sentiment.py``
(``finetune_kit.course.reference``), outside the package. Here: what a run produced (``TrainResult``), MLflow
set-up, the files written beside a model (``write_outputs``: ``metrics.json``, a model card, the
training curves), ``ensure_model`` (the model Part 3 evaluates), ``load_trained`` and ``predict_proba``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit.course import memo, reference
from finetune_kit.course.config import Profile, describe_data, describe_model
from finetune_kit.sentiment import data, metrics, pieces

#: Where Part 2 saves the student's model, under ``config.artifact_dir(profile)``.
MODEL_FOLDER = "sentiment-model"
#: Tokens kept per text when scoring: the most a BERT-style encoder reads (its position embeddings stop there).
MAX_TOKENS = 512


@dataclass
class TrainResult:
    """What a fine-tuning run produced; ``metrics`` are on the test split, measured once."""

    output_dir: Path
    metrics: dict[str, float]
    validation_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    train_samples_per_second: float = 0.0
    pretrained: bool = True


def mlflow_setup(output_dir: Path, report_to: tuple[str, ...], *, profile: Profile,
                 pretrained: bool = True) -> list[str]:
    """``TrainingArguments.report_to`` for ``report_to``; for MLflow, where and under which names to track.

    Azure ML jobs set ``MLFLOW_TRACKING_URI``; elsewhere runs go to a local SQLite store beside the
    output folder (MLflow 3 refuses new ``./mlruns`` file stores): browse it with
    ``mlflow ui --backend-store-uri sqlite:///…/mlflow.db``.
    """
    if "mlflow" not in report_to:
        return [name for name in report_to if name != "none"]
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(output_dir).resolve().parent / 'mlflow.db'}"
    os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", "finetune-kit-sentiment")
    os.environ.setdefault("MLFLOW_RUN_NAME", f"{profile.name}-{'pretrained' if pretrained else 'scratch'}")
    return list(report_to)


@contextlib.contextmanager
def tracking(report_to: list[str]) -> Iterator[None]:
    """One MLflow run around training *and* the test evaluation (the ``Trainer`` alone would end its run
    when training ends and open a second one for the test metrics). Only the first process of a
    distributed run tracks; without MLflow in ``report_to`` nothing happens."""
    if "mlflow" not in report_to or int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    import mlflow

    with mlflow.start_run(run_name=os.environ.get("MLFLOW_RUN_NAME")):
        yield


def record_run(trainer: Any, profile: Profile, splits: data.Splits, output_dir: Path | str,
               test_metrics: dict[str, float], *, train_seconds: float, pretrained: bool = True) -> TrainResult:
    """Describe a finished ``Trainer`` run and write its record beside the saved model (``write_outputs``).

    ``test_metrics`` is the one ``trainer.evaluate(test_ds, metric_key_prefix="test")``; the validation
    metrics are those of the epoch the trainer kept (the best one on validation).
    """
    history = [dict(entry) for entry in trainer.state.log_history]
    evals = [entry for entry in history if "eval_loss" in entry]
    key = f"eval_{trainer.args.metric_for_best_model}"
    kept = next((e for e in evals if e.get(key) == trainer.state.best_metric), evals[-1] if evals else {})
    summary = next((e for e in reversed(history) if "train_samples_per_second" in e), {})
    result = TrainResult(
        output_dir=Path(output_dir),
        metrics={**{k: float(test_metrics[f"test_{k}"]) for k in metrics.LABEL_METRICS
                    if f"test_{k}" in test_metrics},
                 "n": len(splits.test)},
        validation_metrics={k.removeprefix("eval_"): float(v) for k, v in kept.items()
                            if k.removeprefix("eval_") in (*metrics.LABEL_METRICS, "loss")},
        history=history, train_seconds=train_seconds,
        train_samples_per_second=float(summary.get("train_samples_per_second", 0.0)), pretrained=pretrained)
    write_outputs(result, profile, splits, trainer)
    return result


def write_outputs(result: TrainResult, profile: Profile, splits: data.Splits, trainer: Any) -> None:
    """``metrics.json``, ``history.json``, a model card (``README.md``) and the training curves, beside the model."""
    record = {
        "profile": profile.name,
        "model": profile.model,
        "pretrained": result.pretrained,
        "split_sizes": splits.sizes(),
        "test": result.metrics,
        "validation": result.validation_metrics,
        "best_checkpoint_selected_on": f"validation {trainer.args.metric_for_best_model}",
        "epochs_run": float(trainer.state.epoch or 0),
        "world_size": int(trainer.args.world_size),
        "train_seconds": round(result.train_seconds, 1),
        "train_samples_per_second": result.train_samples_per_second,
    }
    (result.output_dir / "metrics.json").write_text(json.dumps(record, indent=2))
    (result.output_dir / "history.json").write_text(json.dumps(result.history, indent=2))
    (result.output_dir / "README.md").write_text(model_card(record, profile))
    from finetune_kit.course import plots

    label = "pre-trained" if result.pretrained else "from scratch"
    plots.save(plots.training_curves({label: result.history}), result.output_dir / "training_curves.png")


def model_card(record: dict, profile: Profile) -> str:
    test = record["test"]
    base = describe_model(profile) + ("" if record["pretrained"] else " — architecture only, trained from scratch")
    rows = "\n".join(f"| {k} | {v:.4f} |" for k, v in test.items() if k != "n")
    return f"""---
language: en
license: mit
library_name: transformers
pipeline_tag: text-classification
tags: [sentiment-analysis, finetune-kit]
---

# Sentiment classifier fine-tuned with the finetune-kit course ({profile.name} profile)

- **Base model:** {base}
- **Data:** {describe_data(profile)}; split 80/10/10 (stratified, seeded): {record['split_sizes']}
  (the splits themselves are in `splits/`)
- **Labels:** 0 = negative, 1 = positive
- **Training:** Hugging Face `Trainer`, {record['epochs_run']:g} epoch(s), learning rate {profile.learning_rate},
  batch {profile.batch_size}, max length {profile.max_length}, dynamic padding, early stopping; best epoch
  chosen on {record['best_checkpoint_selected_on']}.

## Results on the held-out test split ({test.get('n', 0)} reviews, evaluated once)

| metric | value |
|---|---|
{rows}

## Limits

Trained on short English reviews written for a course; check it on your own data before use.
Binary labels only (no neutral class).
"""


# --- the model Part 3 evaluates -------------------------------------------------------------------


def is_model_folder(folder: Path) -> bool:
    """A saved classifier with the splits it was trained on (what Part 2's last step writes)."""
    return (folder / "config.json").is_file() and (folder / "splits").is_dir()


def model_dir(profile: Profile, output_dir: Path | str | None = None) -> Path:
    """Where ``ensure_model`` keeps the profile's model: ``output_dir``, else the folder Part 2 saves to."""
    from finetune_kit.course.config import artifact_dir

    return Path(output_dir) if output_dir else artifact_dir(profile) / MODEL_FOLDER


@memo.reusable("ensure_model")
def ensure_model(profile: Profile, output_dir: Path | str | None = None) -> Path:
    """The profile's fine-tuned model folder (standard Hugging Face files + ``splits/``), for Part 3.

    In this order: (1) the folder Part 2 saved (``config.artifact_dir(profile) / "sentiment-model"``);
    (2) in the instructor's repository, a model trained now with the reference recipe; (3) otherwise an
    error that says to run Part 2 first. (The grader trains it once for the class: ``course.memo``.)
    """
    output_dir = model_dir(profile, output_dir)
    if not is_model_folder(output_dir):
        if not reference.available():
            raise FileNotFoundError(f"no trained model in {output_dir}: run Part 2 first: its last step saves "
                                    f"your model to {output_dir}")
        reference.load("sentiment").fine_tune(profile, data.load_splits(profile), output_dir)
    return output_dir


@memo.reusable("predict_proba")
def predict_proba(model: Any, tokenizer: Any, texts: list[str], *, batch_size: int = 32,
                  max_length: int | None = None) -> np.ndarray:
    """P(positive) for each text.

    A review longer than ``pieces.PIECE_WORDS`` words is read whole and in pieces, and its logits averaged
    (``finetune_kit.sentiment.pieces`` says why); the ONNX classifier the endpoint serves does the same.
    ``max_length`` defaults to the length the model was trained with (``trained_max_length``).
    """
    texts = list(texts)
    views, owners = pieces.expand(texts)
    logits = view_logits(model, tokenizer, views, batch_size=batch_size, max_length=max_length)
    return metrics.softmax(pieces.combine(logits, owners, len(texts)))[:, 1].astype(np.float32)


def view_logits(model: Any, tokenizer: Any, texts: list[str], *, batch_size: int = 32,
                max_length: int | None = None) -> np.ndarray:
    """The logits of each text read once, cut to ``max_length`` tokens; batched with per-batch padding."""
    import torch

    max_length = max_length or trained_max_length(tokenizer)
    model.eval()

    def logits_of(batch: list[str]) -> np.ndarray:
        encoded = tokenizer(batch, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return model(**encoded).logits.float().numpy()

    with torch.no_grad():
        return pieces.batched(texts, logits_of, model.config.num_labels, batch_size=batch_size)


def usable_length(model_max_length: Any) -> int | None:
    """A tokenizer's ``model_max_length`` as a length to cut at, or None where it names none (transformers
    writes a huge placeholder, 1e30, for "no limit") or more than the encoder reads."""
    if isinstance(model_max_length, int | float) and 0 < model_max_length <= MAX_TOKENS:
        return int(model_max_length)
    return None


def trained_max_length(tokenizer: Any) -> int:
    """The tokens per text a saved model was trained on: its tokenizer's ``model_max_length``, which
    ``models.load_tokenizer`` sets from the profile (a model saved before then says 512, the encoder's limit)."""
    return usable_length(getattr(tokenizer, "model_max_length", None)) or MAX_TOKENS


def load_trained(model_dir: Path | str) -> tuple[Any, Any]:
    """A trained model directory back as (model, tokenizer)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no config.json); train one first")
    return AutoModelForSequenceClassification.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
