"""While grading, a student's ``Trainer.train()`` whose every input matches a run the grader made is reused.

Grading runs every student's own ``Trainer`` (Part 2's fine-tuning and its from-scratch twin, Part 3's
folds), and on two cores that is most of a class's grading time. Most students who get a step right
hand the ``Trainer`` exactly what the instructor's solution hands it: the same start weights, settings,
rows, collator and seed. The grader's warm-up runs the solutions once with the run cache writable
(``finetune_kit.grading.runcache``), and this hook stores each run there: final weights, ``TrainerState``,
``TrainOutput``, the random generators' state afterwards, and every evaluation the run made (its
predictions and what ``compute_metrics`` answered). A student kernel (read-only) whose ``train()`` has
the same key gets those back instead of training.

The key is everything training depends on besides the code of ``compute_metrics``: the kit's and the
libraries' versions, the model's class, config, weights and which of them train, every
``TrainingArguments`` field but the paths, the exact rows of both datasets, the collator and tokenizer,
the callbacks and their settings, the random generators' state and the thread count. The student's
``compute_metrics`` is checked by running it on each recorded evaluation: only a function that answers
exactly what the solution's did reuses the run (it also chose the best epoch). Anything the key cannot
describe exactly trains for real: a ``Trainer`` subclass or a patched ``Trainer`` method (a test that
spies on ``evaluate``; a wrapped ``__init__`` is fine), a custom optimizer, loss, model or collator,
hooks, tensors it cannot read, a resumed run.

Installed only where ``FINETUNE_KIT_RUN_CACHE`` is set (the grader's kernels and warm-up); students,
CI and the demo always train.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit.grading import runcache


class NotCacheable(Exception):
    """This run has an input the key cannot describe exactly: train for real."""


_ORIGINAL: dict[str, Any] = {}
_SNAPSHOT: dict[str, Any] = {}


def install() -> None:
    """Wrap ``transformers.Trainer.train`` (once); a no-op without a run cache."""
    if not runcache.active() or _ORIGINAL:
        return
    from transformers import Trainer

    _ORIGINAL["train"] = original = Trainer.train

    @functools.wraps(original)
    def train(self, *args: Any, **kwargs: Any) -> Any:
        return train_reusing(self, original, *args, **kwargs)

    Trainer.train = train
    _SNAPSHOT.update(vars(Trainer))


# -- the key --------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """``value`` as JSON-able plain data, exactly, or ``NotCacheable``."""
    import torch

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    raise NotCacheable(f"a {type(value).__name__}")


def _dataset_digest(dataset: Any) -> str | None:
    import datasets

    if dataset is None:
        return None
    if isinstance(dataset, datasets.Dataset):
        fmt = dataset.format
        if fmt.get("format_kwargs", {}).get("transform") is not None:
            raise NotCacheable("a dataset with an on-the-fly transform")
        rows = dataset.with_format(None).to_list()
        extra = {"type": fmt.get("type"), "columns": fmt.get("columns"), "all": fmt.get("output_all_columns")}
    elif isinstance(dataset, list):
        rows, extra = dataset, {"type": "list"}
    else:
        raise NotCacheable(f"a {type(dataset).__name__} dataset")
    text = json.dumps({"rows": _plain(rows), "format": extra}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _tokenizer_digest(tokenizer: Any) -> str | None:
    if tokenizer is None:
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not type(tokenizer).__module__.startswith("transformers."):
        raise NotCacheable("a tokenizer without one definition to hash")
    parts = [type(tokenizer).__name__, backend.to_str(), tokenizer.padding_side, tokenizer.truncation_side,
             tokenizer.model_max_length, tokenizer.pad_token, tokenizer.model_input_names]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _collator_key(collator: Any) -> Any:
    from transformers import DataCollatorWithPadding, default_data_collator

    if collator is default_data_collator:
        return "default_data_collator"
    if type(collator) is DataCollatorWithPadding:
        return {"padding": str(collator.padding), "max_length": collator.max_length,
                "pad_to_multiple_of": collator.pad_to_multiple_of, "return_tensors": collator.return_tensors,
                "tokenizer": _tokenizer_digest(collator.tokenizer)}
    raise NotCacheable(f"a {type(collator).__name__} collator")


def _model_key(model: Any) -> dict:
    import torch

    if not type(model).__module__.startswith("transformers."):
        raise NotCacheable(f"a {type(model).__name__} model from {type(model).__module__}")
    if torch.nn.modules.module._global_forward_hooks or torch.nn.modules.module._global_forward_pre_hooks:
        raise NotCacheable("a global module hook")
    for module in model.modules():
        if "forward" in vars(module) or module._forward_hooks or module._forward_pre_hooks \
                or module._backward_hooks or module._backward_pre_hooks:
            raise NotCacheable("a module with a replaced forward or a hook")
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "config": model.config.to_json_string(),
            "weights": runcache.weights_digest(model),
            "trainable": hashlib.sha256("\n".join(trainable).encode()).hexdigest()}


def _callbacks_key(trainer: Any) -> list:
    found = []
    for callback in trainer.callback_handler.callbacks:
        cls = type(callback)
        if not cls.__module__.startswith("transformers."):
            raise NotCacheable(f"the callback {cls.__name__}")
        settings = {k: v for k, v in sorted(vars(callback).items()) if isinstance(v, (bool, int, float, str))}
        found.append([cls.__name__, settings])
    return found


def _rng_digest() -> str:
    import torch

    digest = hashlib.sha256(torch.get_rng_state().numpy().tobytes())
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    digest.update(f"{kind}{pos}{has_gauss}{gauss}".encode() + keys.tobytes())
    digest.update(repr(random.getstate()).encode())
    return digest.hexdigest()


PATH_FIELDS = {"output_dir", "logging_dir", "run_name"}


def run_key(trainer: Any, args: tuple, kwargs: dict) -> str:
    """The key of this ``train()`` call, or ``NotCacheable``."""
    import datasets
    import torch
    import transformers
    from transformers import Trainer

    if type(trainer) is not Trainer:
        raise NotCacheable(f"a Trainer subclass ({type(trainer).__name__})")
    # ``__init__`` may be wrapped (a test that watches what the Trainer is built with): it only sets the
    # attributes this key reads. Any other method replaced, on the class or on this instance, trains.
    changed = sorted(name for name, value in vars(Trainer).items()
                     if _SNAPSHOT.get(name) is not value and name != "__init__")
    if changed or set(vars(Trainer)) != set(_SNAPSHOT):
        raise NotCacheable(f"Trainer was patched ({', '.join(changed) or 'attributes added or removed'})")
    shadowed = sorted(name for name in vars(trainer) if callable(getattr(Trainer, name, None)))
    if shadowed:
        raise NotCacheable(f"this Trainer's {', '.join(shadowed)} replaced")
    if any(a is not None for a in args) or any(v is not None for v in kwargs.values()):
        raise NotCacheable("train() was given arguments (a resumed or searched run)")
    for name in ("model_init", "optimizer", "lr_scheduler", "optimizer_cls_and_kwargs", "compute_loss_func",
                 "preprocess_logits_for_metrics"):
        if getattr(trainer, name, None) is not None:
            raise NotCacheable(f"a custom {name}")
    settings = {k: _plain(v.value if hasattr(v, "value") else v) for k, v in trainer.args.to_dict().items()
                if k not in PATH_FIELDS}
    if settings.get("include_for_metrics"):
        raise NotCacheable("include_for_metrics")
    eval_sets = trainer.eval_dataset
    eval_digest = ({k: _dataset_digest(v) for k, v in sorted(eval_sets.items())} if isinstance(eval_sets, dict)
                   else _dataset_digest(eval_sets))
    return runcache.key(
        "trainer_train", versions=[torch.__version__, transformers.__version__, datasets.__version__],
        threads=torch.get_num_threads(), model=_model_key(trainer.model), args=settings,
        train=_dataset_digest(trainer.train_dataset), eval=eval_digest,
        collator=_collator_key(trainer.data_collator), tokenizer=_tokenizer_digest(trainer.processing_class),
        callbacks=_callbacks_key(trainer), metrics=trainer.compute_metrics is not None,
        label_names=trainer.label_names, rng=_rng_digest())


# -- reuse or record ------------------------------------------------------------------------------------

def train_reusing(trainer: Any, original: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        key = run_key(trainer, args, kwargs)
    except NotCacheable:
        return original(trainer, *args, **kwargs)
    entry = runcache.lookup(key)
    if entry is not None:
        result = _restore(trainer, entry)
        if result is not None:
            runcache.note(entry)
            return result
        runcache.release(key)
    if not runcache.writable():
        return original(trainer, *args, **kwargs)
    evaluations: list[tuple[Any, Any, dict]] = []
    metrics_fn = trainer.compute_metrics
    if metrics_fn is not None:
        def recording(eval_pred: Any) -> Any:
            answer = metrics_fn(eval_pred)
            evaluations.append((eval_pred.predictions, eval_pred.label_ids, answer))
            return answer
        trainer.compute_metrics = recording
    try:
        output = original(trainer, *args, **kwargs)
    except BaseException:
        runcache.release(key)
        raise
    finally:
        trainer.compute_metrics = metrics_fn
    runcache.store(key, lambda folder: _record(trainer, output, evaluations, folder))
    return output


def _record(trainer: Any, output: Any, evaluations: list, folder: Path) -> None:
    import torch

    for i, (predictions, labels, answer) in enumerate(evaluations):
        if not (isinstance(predictions, np.ndarray) and isinstance(labels, np.ndarray)):
            raise OSError("an evaluation with tuple outputs: not stored")  # store() drops a failed fill
        np.save(folder / f"eval-{i}-predictions.npy", predictions)
        np.save(folder / f"eval-{i}-labels.npy", labels)
        (folder / f"eval-{i}-metrics.json").write_text(json.dumps(_plain(answer)))
    torch.save({k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}, folder / "weights.pt")
    trainer.state.save_to_json(str(folder / "state.json"))
    (folder / "run.json").write_text(json.dumps({
        "evaluations": len(evaluations), "output_dir": str(trainer.args.output_dir),
        "output": {"global_step": output.global_step, "training_loss": output.training_loss,
                   "metrics": output.metrics}}))
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    np.save(folder / "rng-numpy-keys.npy", keys)
    torch.save(torch.get_rng_state(), folder / "rng-torch.pt")
    (folder / "rng.json").write_text(json.dumps({"numpy": [kind, pos, has_gauss, gauss],
                                                 "random": random.getstate()}))


def _restore(trainer: Any, entry: Path) -> Any:
    """Put the cached run into ``trainer``, or None when the student's ``compute_metrics`` disagrees."""
    import torch
    from transformers import TrainerState
    from transformers.trainer_utils import EvalPrediction, TrainOutput

    run = json.loads((entry / "run.json").read_text())
    for i in range(run["evaluations"]):
        recorded = json.loads((entry / f"eval-{i}-metrics.json").read_text())
        pred = EvalPrediction(predictions=np.load(entry / f"eval-{i}-predictions.npy"),
                              label_ids=np.load(entry / f"eval-{i}-labels.npy"))
        try:
            if _plain(trainer.compute_metrics(pred)) != recorded:
                return None
        except Exception:  # noqa: BLE001 - training for real shows the student the error where it belongs
            return None
    weights = torch.load(entry / "weights.pt", weights_only=True)
    trainer.model.load_state_dict(weights, strict=True)
    # registered with accelerate as training leaves it (else a later evaluate() reports a preparation time)
    trainer.model_wrapped = trainer.accelerator.prepare_model(trainer.model)
    state = TrainerState.load_from_json(str(entry / "state.json"))
    if state.best_model_checkpoint:  # the same checkpoint name under this run's output_dir
        state.best_model_checkpoint = os.path.join(trainer.args.output_dir, Path(state.best_model_checkpoint).name)
    trainer.state = state
    trainer.is_in_train = False
    os.makedirs(trainer.args.output_dir, exist_ok=True)
    # the generators as the real run leaves them: what the notebook draws next is what it would have drawn
    rng = json.loads((entry / "rng.json").read_text())
    kind, pos, has_gauss, gauss = rng["numpy"]
    np.random.set_state((kind, np.load(entry / "rng-numpy-keys.npy"), pos, has_gauss, gauss))
    version, internal, gauss_next = rng["random"]
    random.setstate((version, tuple(internal), gauss_next))
    torch.set_rng_state(torch.load(entry / "rng-torch.pt", weights_only=True))
    out = run["output"]
    return TrainOutput(out["global_step"], out["training_loss"], out["metrics"])


def uninstall() -> None:
    """Put ``Trainer.train`` back (tests)."""
    if _ORIGINAL:
        from transformers import Trainer

        Trainer.train = _ORIGINAL.pop("train")
        _SNAPSHOT.clear()
