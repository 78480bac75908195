"""``train``: fine-tune the sentiment classifier; the same command runs locally and as an Azure ML job.

It runs the recipe students write in Part 2, from the instructor's reference answers
(``autograde/reference/sentiment.py``): in the student hand-out it says so and stops.

    python -m finetune_kit train --profile offline --output-dir outputs/model
    torchrun --nproc_per_node 2 -m finetune_kit train --profile smoke --output-dir outputs/ddp
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from finetune_kit.course import reference
from finetune_kit.course.config import PROFILES, use_profile
from finetune_kit.sentiment import data


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None,
                        help="smoke | offline | azure (default: FINETUNE_KIT_PROFILE, else offline)")
    parser.add_argument("--output-dir", type=Path, required=True,
                        help="model directory to write (from_pretrained-loadable, model card, metrics.json)")
    parser.add_argument("--data", type=Path, default=None,
                        help="a CSV with text,label columns instead of the profile's dataset")
    parser.add_argument("--from-scratch", action="store_true",
                        help="same architecture, random weights (the baseline fine-tuning is compared with)")
    parser.add_argument("--epochs", type=float, default=None, help="override the profile's number of epochs")
    parser.add_argument("--mlflow", choices=("auto", "on", "off"), default="auto",
                        help="MLflow tracking (auto: on except under smoke)")
    parser.add_argument("--seed", type=int, default=data.SEED,
                        help="seed of the train/validation/test split of a --data file; the kit's own reviews form "
                             "ten sentence pools, one per tenth, so their split is the same with every seed")
    parser.add_argument("--training-seed", type=int, default=None,
                        help="TrainingArguments' seed (the head's initial weights, the batch order, dropout) "
                             "instead of the recipe's 42: a second training shows how much a score is noise")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import os
    import sys

    try:
        recipe = reference.load("sentiment")
    except reference.ReferenceMissing as err:  # the student hand-out: Part 2's notebook is where to train
        print(f"error: {err}", file=sys.stderr)
        return 2
    rank0 = int(os.environ.get("RANK", "0")) == 0
    profile = use_profile(args.profile, quiet=not rank0)
    if args.epochs is not None:
        profile = dataclasses.replace(profile, num_epochs=args.epochs)
    if args.training_seed is not None:
        recipe_args = recipe.make_training_args  # fine_tune looks the name up in its module when it runs
        recipe.make_training_args = lambda *a, **k: dataclasses.replace(recipe_args(*a, **k), seed=args.training_seed)
    splits = data.load_splits(profile, args.data, seed=args.seed)
    if rank0:
        print(f"splits: {splits.sizes()}")
    report_to = {"auto": None, "on": ("mlflow",), "off": ()}[args.mlflow]
    result = recipe.fine_tune(profile, splits, args.output_dir, pretrained=not args.from_scratch,
                              report_to=report_to)
    if rank0:
        print(json.dumps({"test": result.metrics, "train_seconds": round(result.train_seconds, 1)}, indent=2))
        print(f"model written to {args.output_dir}")
    return 0
