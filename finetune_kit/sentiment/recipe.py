"""The original recipe's mistakes, reproduced so students see them fail and see why.

The worked solution this course started from (the assignment's published answer) trains with
``TrainingArguments(evaluation_strategy="epoch", ...)`` and passes the *test* split as
``eval_dataset``. The first no longer runs: transformers 4.41 deprecated ``evaluation_strategy`` for
``eval_strategy`` (its warning announced the removal for 4.46), and transformers 5 raises ``TypeError``.
The second runs but quietly turns the test score into a score we optimised for, so it no longer
estimates performance on new data. The worked solution does not show its tokenizer call; a common way
to follow it pads every review to 512 tokens (``benchmarks/train_throughput.py`` measures that baseline).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The original recipe's arguments, verbatim.
ORIGINAL_ARGUMENTS: dict[str, Any] = {
    "output_dir": "./results",
    "evaluation_strategy": "epoch",
    "learning_rate": 2e-5,
    "per_device_train_batch_size": 16,
    "num_train_epochs": 3,
    "weight_decay": 0.01,
}


def run_original_arguments(output_dir: str = "./results") -> str:
    """Build the original ``TrainingArguments`` and return what today's transformers says about it."""
    from transformers import TrainingArguments

    args = dict(ORIGINAL_ARGUMENTS, output_dir=output_dir)
    try:
        TrainingArguments(**args)
    except TypeError as err:
        return f"TypeError: {err}"
    return "accepted (this transformers version still knows evaluation_strategy)"


def run_fixed_arguments(output_dir: str = "./results") -> Any:
    """The same settings on today's API (``eval_strategy``), validated by building the object."""
    from transformers import TrainingArguments

    args = dict(ORIGINAL_ARGUMENTS, output_dir=output_dir)
    args["eval_strategy"] = args.pop("evaluation_strategy")
    return TrainingArguments(**args, report_to="none", use_cpu=True)


def selection_on_test(n_candidates: int = 20, n_eval: int = 200, n_new: int = 100_000,
                      seed: int = 0) -> dict[str, float]:
    """Why the test split must not choose the model: a simulation with models that know nothing.

    Every candidate guesses at random (true accuracy 50 %). Pick the best one on an evaluation set:
    its score on that set looks better than chance, yet on new data it is a coin flip. Picking on a
    *validation* set and reporting on an untouched *test* set gives an honest number.
    """
    rng = np.random.default_rng(seed)
    y_val, y_test = rng.integers(0, 2, n_eval), rng.integers(0, 2, n_eval)
    val_acc = (rng.integers(0, 2, (n_candidates, n_eval)) == y_val).mean(axis=1)
    test_acc = (rng.integers(0, 2, (n_candidates, n_eval)) == y_test).mean(axis=1)
    best_on_test = int(np.argmax(test_acc))
    best_on_val = int(np.argmax(val_acc))
    new_acc = float((rng.integers(0, 2, n_new) == rng.integers(0, 2, n_new)).mean())
    return {
        "true_accuracy_of_every_candidate": 0.5,
        "chosen_on_test_reported_on_test": float(test_acc[best_on_test]),
        "chosen_on_validation_reported_on_test": float(test_acc[best_on_val]),
        "chosen_model_on_new_data": new_acc,
    }
