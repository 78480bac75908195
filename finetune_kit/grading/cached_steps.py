"""The grader's side of ``course.memo``: what each reusable step's result depends on, and how it is kept.

Every key function is here, in one place: the kit's steps (``ensure_model``, ``predict_proba``, the ONNX
export) are plain recipes marked ``@memo.reusable``, and a student's own ``Trainer.train()`` is matched by
``trainer_runs``. ``install`` puts both in place inside a graded kernel (the guard calls it) or a warm-up
kernel (the runner's start-up line); without a run cache (``runcache.active()``) it does nothing, so
students, CI and the demo always compute.

Measured on the sample class (``benchmarks/grade_class.py``): Part 3's model is trained once for the class
instead of once per kernel; each test split is scored once; the export (ONNX, fused, SmoothQuant, int8)
runs once. The extractive summariser's training needs no entry of its own: it is a ``Trainer`` run.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit.course import memo
from finetune_kit.grading import runcache, trainer_runs


@dataclass(frozen=True)
class Reusable:
    """How one step is cached: its key (None: not this time), and how its result is written and read back."""

    key: Callable[[dict[str, Any]], str | None]
    save: Callable[[Path, dict[str, Any], Any], None]
    load: Callable[[Path, dict[str, Any]], Any]


# -- ensure_model: the model Part 3 evaluates -------------------------------------------------------------

def _model_key(a: dict[str, Any]) -> str:
    """The profile and the data file's bytes (a Hub dataset: its name; nothing is downloaded for a key)."""
    from finetune_kit.sentiment import data

    profile = a["profile"]
    dataset = (hashlib.sha256(data.REVIEWS_CSV.read_bytes()).hexdigest() if profile.dataset == "kit-reviews"
               else profile.dataset)
    return runcache.key("ensure_model", profile=profile.summary(), data=dataset)


def _model_load(entry: Path, a: dict[str, Any]) -> Path:
    from finetune_kit.sentiment import train

    output_dir = train.model_dir(a["profile"], a["output_dir"])
    shutil.copytree(entry / "model", output_dir, dirs_exist_ok=True)
    return output_dir


# -- predict_proba: the scores of a split --------------------------------------------------------------

def _scores_key(a: dict[str, Any]) -> str | None:
    """Architecture, weights, the tokenizer's full definition, the texts and the batching."""
    model, tokenizer = a["model"], a["tokenizer"]
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow tokenizer has no single definition to hash
        return None
    config = {k: v for k, v in model.config.to_dict().items() if k not in ("_name_or_path", "transformers_version")}
    definition = json.loads(backend.to_str())
    for state in ("truncation", "padding"):  # left behind by the previous call; each call sets its own
        definition.pop(state, None)
    tokenizer_parts = [type(tokenizer).__name__, definition, tokenizer.padding_side, tokenizer.truncation_side,
                       tokenizer.pad_token_id, tokenizer.model_max_length]  # the length when max_length is left out
    return runcache.key("predict_proba", model=type(model).__name__, config=config,
                        weights=runcache.weights_digest(model), tokenizer=runcache.rows_digest(tokenizer_parts),
                        texts=runcache.rows_digest(list(a["texts"])), batch_size=a["batch_size"],
                        max_length=a["max_length"])


# -- the ONNX export ---------------------------------------------------------------------------------------

def _export_key(a: dict[str, Any]) -> str:
    """Every file of the model folder (names and bytes), every setting, the libraries that write the graph."""
    import onnxruntime
    import torch
    import transformers

    from finetune_kit.deploy.export import file_sha256

    files = hashlib.sha256()
    for path in sorted(p for p in Path(a["model_dir"]).iterdir() if p.is_file()):
        files.update(path.name.encode() + b"\0" + file_sha256(path).encode())
    return runcache.key(
        "export_onnx", model=files.hexdigest(), quantize=a["quantize"], optimize=a["optimize"],
        max_length=a["max_length"], opset=a["opset"], smooth_alpha=a["smooth_alpha"],
        calibration=hashlib.sha256("\0".join(a["calibration"] or []).encode()).hexdigest(),
        versions=[torch.__version__, transformers.__version__, onnxruntime.__version__])


def _export_load(entry: Path, a: dict[str, Any]) -> Any:
    from finetune_kit.deploy import export

    shutil.copytree(entry, a["output_dir"], dirs_exist_ok=True, ignore=shutil.ignore_patterns(runcache.DONE))
    return export.read_export(Path(a["output_dir"]), Path(a["model_dir"]))


STEPS: dict[str, Reusable] = {
    "ensure_model": Reusable(_model_key, lambda entry, a, folder: shutil.copytree(folder, entry / "model"),
                             _model_load),
    "predict_proba": Reusable(_scores_key, lambda entry, a, scores: np.save(entry / "scores.npy", scores),
                              lambda entry, a: np.load(entry / "scores.npy")),
    "export_onnx": Reusable(_export_key,
                            lambda entry, a, result: shutil.copytree(result.output_dir, entry, dirs_exist_ok=True),
                            _export_load),
}


class RunCacheSteps:
    """``memo.StepCache`` over the run cache: a hit is read back and said so in the notebook."""

    def run(self, kind: str, step: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if not runcache.active():  # the cache's folder went away (tests): nothing to hash inputs for
            return step(*args, **kwargs)
        reusable = STEPS[kind]
        bound = inspect.signature(step).bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        key = reusable.key(arguments)
        entry = runcache.lookup(key)
        if entry is not None:
            result = reusable.load(entry, arguments)
            runcache.note(entry)
            return result
        result = step(*args, **kwargs)
        runcache.store(key, lambda folder: reusable.save(folder, arguments, result))
        return result


def install() -> bool:
    """Reuse the run cache's results in this process (kit steps and ``Trainer`` runs); False without one."""
    if not runcache.active():
        return False
    memo.install(RunCacheSteps())
    trainer_runs.install()
    return True


def uninstall() -> None:
    """Compute every step again (tests)."""
    memo.install(None)
    trainer_runs.uninstall()
