"""Fine-tuning with the Hugging Face ``Trainer``, one function for the notebook, the CLI and Azure.

Steps, in the order ``fine_tune`` runs them: load tokenizer and model → tokenize → training
arguments → trainer (dynamic padding, early stopping, MLflow) → train (best epoch chosen on the
*validation* split) → evaluate once on the *test* split → save a standard model directory with a
model card and ``metrics.json``.

What changed since the original recipe (transformers 5): ``evaluation_strategy`` is now
``eval_strategy``, ``tokenizer=`` is now ``processing_class=``, and ``report_to`` defaults to
``"none"``, so MLflow tracking is requested explicitly.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit import data, metrics, models, runcache
from finetune_kit.config import Profile, describe_data, describe_model

#: Metric that picks the best epoch (on validation) and drives early stopping.
SELECTION_METRIC = "f1"


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


def _mlflow_setup(output_dir: Path, report_to: tuple[str, ...]) -> list[str]:
    """Track to Azure ML when it set MLFLOW_TRACKING_URI (jobs do), else to a local SQLite store.

    MLflow 3 refuses new ``./mlruns`` file stores, so the local default is ``mlflow.db`` beside the
    output directory; browse it with ``mlflow ui --backend-store-uri sqlite:///…/mlflow.db``.
    """
    if "mlflow" not in report_to:
        return list(report_to) or ["none"]
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{output_dir.resolve().parent / 'mlflow.db'}"
    os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", "finetune-kit-sentiment")
    return list(report_to)


def training_arguments(profile: Profile, output_dir: Path, *, seed: int = data.SEED,
                       report_to: tuple[str, ...] = ("mlflow",), steps_per_epoch: int = 1,
                       **overrides: Any) -> Any:
    """Today's ``TrainingArguments`` for the profile (see the module docstring for what changed)."""
    from transformers import TrainingArguments

    quiet = profile.name == "smoke"
    settings = dict(
        output_dir=str(output_dir / "checkpoints"),
        eval_strategy="epoch",  # was evaluation_strategy= (removed in transformers 5)
        save_strategy="epoch",
        load_best_model_at_end=True,  # the best epoch on *validation*, never on test
        metric_for_best_model=SELECTION_METRIC,
        greater_is_better=True,
        save_total_limit=2,
        learning_rate=profile.learning_rate,
        per_device_train_batch_size=profile.batch_size,
        per_device_eval_batch_size=64,
        num_train_epochs=profile.num_epochs,
        weight_decay=0.01,
        warmup_steps=max(1, steps_per_epoch // 10),
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding
        logging_strategy="steps",
        logging_steps=max(1, steps_per_epoch // 5),
        report_to=_mlflow_setup(output_dir, report_to),
        disable_tqdm=quiet,
        log_level="error" if quiet else "warning",
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every parameter takes part in the forward pass
        use_cpu=not _has_gpu(),
    )
    settings.update(overrides)
    return TrainingArguments(**settings)


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    result = metrics.classification_metrics(labels, np.argmax(logits, axis=-1))
    result.pop("n")
    return result


def build_trainer(model: Any, tokenizer: Any, train_ds: Any, eval_ds: Any, args: Any, *,
                  patience: int | None = 2) -> Any:
    """A ``Trainer`` with dynamic padding, validation-based early stopping and our metrics."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    return Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,  # the validation split: the test split never steers training
        processing_class=tokenizer,  # was tokenizer= (removed in transformers 5)
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=patience)] if patience else [],
    )


def default_tracking(profile: Profile) -> tuple[str, ...]:
    """MLflow everywhere except smoke runs, where creating a tracking database costs more than the run."""
    return () if profile.name == "smoke" else ("mlflow",)


def fine_tune(profile: Profile, splits: data.Splits, output_dir: Path | str, *, pretrained: bool = True,
              seed: int = data.SEED, report_to: tuple[str, ...] | None = None, evaluate_test: bool = True,
              patience: int | None = 2, **overrides: Any) -> TrainResult:
    """Fine-tune the profile's model (or, with ``pretrained=False``, the same architecture from scratch)."""
    report_to = default_tracking(profile) if report_to is None else tuple(report_to)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run_key = _run_key(profile, splits, pretrained=pretrained, seed=seed, evaluate_test=evaluate_test,
                       patience=patience, **overrides)
    cached = runcache.lookup(run_key)
    if cached is not None:
        return _reuse(cached, output_dir)
    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile, pretrained=pretrained, seed=seed)
    train_ds = data.tokenize(splits.train, tokenizer, profile.max_length)
    val_ds = data.tokenize(splits.validation, tokenizer, profile.max_length)

    steps_per_epoch = max(1, len(train_ds) // profile.batch_size)
    args = training_arguments(profile, output_dir, seed=seed, report_to=report_to,
                              steps_per_epoch=steps_per_epoch, **overrides)
    trainer = build_trainer(model, tokenizer, train_ds, val_ds, args, patience=patience)
    if args.disable_tqdm:  # smoke runs: no progress bars, and no per-step log lines either
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    if "mlflow" in report_to:
        os.environ.setdefault("MLFLOW_RUN_NAME", f"{profile.name}-{'pretrained' if pretrained else 'scratch'}")

    start = time.perf_counter()
    train_output = trainer.train()
    train_seconds = time.perf_counter() - start

    validation = _strip_prefix(trainer.evaluate(val_ds), "eval_")
    test: dict[str, float] = {}
    if evaluate_test:  # once, after model selection is over
        test_ds = data.tokenize(splits.test, tokenizer, profile.max_length)
        prediction = trainer.predict(test_ds, metric_key_prefix="test")
        test = metrics.classification_metrics(prediction.label_ids, np.argmax(prediction.predictions, axis=-1))

    result = TrainResult(
        output_dir=output_dir, metrics=test, validation_metrics=validation,
        history=[dict(entry) for entry in trainer.state.log_history], train_seconds=train_seconds,
        train_samples_per_second=float(train_output.metrics.get("train_samples_per_second", 0.0)),
        pretrained=pretrained,
    )
    if trainer.is_world_process_zero():
        trainer.save_model(str(output_dir))  # weights, config and tokenizer: from_pretrained(output_dir)
        _write_outputs(result, profile, splits, trainer, run_key)
        shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
        runcache.store(run_key, lambda entry: _keep(result, entry))
    return result


def _run_key(profile: Profile, splits: data.Splits, *, pretrained: bool = True, seed: int = data.SEED,
             evaluate_test: bool = True, patience: int | None = 2, **overrides: Any) -> str:
    """Everything a fine-tuned model depends on besides the kit's code (tracking does not change it)."""
    return runcache.key("fine_tune", profile=profile.summary(), pretrained=pretrained, seed=seed,
                        evaluate_test=evaluate_test, patience=patience, overrides=overrides,
                        data=[runcache.frame_digest(df) for df in (splits.train, splits.validation, splits.test)])


def _keep(result: TrainResult, entry: Path) -> None:
    shutil.copytree(result.output_dir, entry / "model")
    record = {k: v for k, v in vars(result).items() if k != "output_dir"}
    (entry / "result.json").write_text(json.dumps(record))


def _reuse(entry: Path, output_dir: Path) -> TrainResult:
    """A run the grader already did (``runcache``): its model directory, copied where this run's goes."""
    shutil.copytree(entry / "model", output_dir, dirs_exist_ok=True)
    runcache.note(entry)
    return TrainResult(output_dir=output_dir, **json.loads((entry / "result.json").read_text()))


def _strip_prefix(values: dict[str, float], prefix: str) -> dict[str, float]:
    return {k.removeprefix(prefix): float(v) for k, v in values.items() if isinstance(v, (int, float))}


def _write_outputs(result: TrainResult, profile: Profile, splits: data.Splits, trainer: Any, run_key: str) -> None:
    record = {
        "profile": profile.name,
        "run_key": run_key,  # what ensure_model checks before reusing this folder
        "model": profile.model,
        "pretrained": result.pretrained,
        "split_sizes": splits.sizes(),
        "test": result.metrics,
        "validation": result.validation_metrics,
        "best_checkpoint_selected_on": f"validation {SELECTION_METRIC}",
        "epochs_run": float(trainer.state.epoch or 0),
        "world_size": int(trainer.args.world_size),
        "train_seconds": round(result.train_seconds, 1),
        "train_samples_per_second": result.train_samples_per_second,
    }
    (result.output_dir / "metrics.json").write_text(json.dumps(record, indent=2))
    (result.output_dir / "history.json").write_text(json.dumps(result.history, indent=2))
    (result.output_dir / "README.md").write_text(model_card(record, profile))
    from finetune_kit import plots

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
- **Data:** {describe_data(profile)}; split 80/10/10 (stratified, seed {data.SEED}): {record['split_sizes']}
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


def ensure_model(profile: Profile, output_dir: Path | str | None = None) -> Path:
    """The profile's fine-tuned model directory, training it first if it is not there yet.

    Part 3 evaluates and deploys the model Part 2 trained; run on its own, it trains one. A folder is
    reused only when its ``metrics.json`` carries the key of this very run (profile, data, settings,
    kit version): a model trained on other data or by another version of the kit is trained again.
    """
    from finetune_kit.config import artifact_dir

    output_dir = Path(output_dir) if output_dir else artifact_dir(profile) / "sentiment-model"
    splits = data.load_splits(profile)
    record = output_dir / "metrics.json"
    try:
        if json.loads(record.read_text()).get("run_key") == _run_key(profile, splits):
            return output_dir  # Part 2's run: same profile, data, settings and kit
    except (OSError, ValueError):
        pass
    fine_tune(profile, splits, output_dir)
    return output_dir


def predict_proba(model: Any, tokenizer: Any, texts: list[str], *, batch_size: int = 32,
                  max_length: int = 256, run_cache: bool = True) -> np.ndarray:
    """P(positive) for each text, batched with per-batch padding (longest first, then restored).

    Under the grader (``runcache``) the scores of the very same weights, tokenizer and texts are
    read back instead of recomputed: every student's Part 3 scores the same cached model on the same
    test split. ``run_cache=False`` is for callers whose whole result is cached already.
    """
    import torch

    texts = list(texts)
    run_key = _predictions_key(model, tokenizer, texts, batch_size, max_length) if run_cache else None
    cached = runcache.lookup(run_key)
    if cached is not None:
        runcache.note(cached)
        return np.load(cached / "scores.npy")
    model.eval()
    order = np.argsort([-len(t) for t in texts])
    scores = np.empty(len(texts), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in idx], truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt")
            logits = model(**batch).logits.float().numpy()
            scores[idx] = metrics.softmax(logits)[:, 1]
    runcache.store(run_key, lambda entry: np.save(entry / "scores.npy", scores))
    return scores


def _predictions_key(model: Any, tokenizer: Any, texts: list[str], batch_size: int, max_length: int) -> str | None:
    """Everything the scores depend on: architecture, weights, the tokenizer's full definition, the texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not runcache.active() or backend is None:  # a slow tokenizer has no single definition to hash
        return None
    config = {k: v for k, v in model.config.to_dict().items() if k not in ("_name_or_path", "transformers_version")}
    definition = json.loads(backend.to_str())
    for state in ("truncation", "padding"):  # left behind by the previous call; each call sets its own
        definition.pop(state, None)
    tokenizer_parts = [type(tokenizer).__name__, definition, tokenizer.padding_side, tokenizer.truncation_side,
                       tokenizer.pad_token_id]
    return runcache.key("predict_proba", model=type(model).__name__, config=config,
                        weights=runcache.weights_digest(model), tokenizer=runcache.rows_digest(tokenizer_parts),
                        texts=runcache.rows_digest(texts), batch_size=batch_size, max_length=max_length)


def load_trained(model_dir: Path | str) -> tuple[Any, Any]:
    """A trained model directory back as (model, tokenizer)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no config.json); train one first")
    return AutoModelForSequenceClassification.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
