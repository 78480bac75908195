"""``caption-train``: train the profile's ViT + GPT-2 captioner and score it against a constant caption.

Offline and smoke: tiny configurations trained from scratch on the shapes pictures the kit draws.
Azure: ``google/vit-base-patch16-224-in21k`` + ``gpt2`` on Flickr8k from the Hub.
Writes ``metrics.json`` (BLEU-4 and ROUGE-L of the model and of the best constant caption) and
``samples.png`` (test pictures with their generated captions) to ``--output-dir``. The captioner's config
(special token ids) is Part 1's exercise: the command uses the instructor's reference
(``autograde/reference/fundamentals.py``) and says so where it is absent.
"""

from __future__ import annotations

import argparse

from finetune_kit.commands import _task
from finetune_kit.course.config import REPO_ROOT, use_profile
from finetune_kit.tasks import captioning


def configure(parser: argparse.ArgumentParser) -> None:
    _task.add_arguments(parser, REPO_ROOT / "outputs" / "captioning", "metrics.json and samples.png")


def run(args: argparse.Namespace) -> int:
    profile = use_profile(args.profile)
    metrics = captioning.train_and_evaluate(profile, args.output_dir, save_model=args.save_model)
    baseline = metrics["baseline"]
    print(f"\ncaptioner on {metrics['images']} test images (%):")
    rows = [("trained model", metrics["scores"]), (f"constant \"{baseline['caption']}\"", baseline["scores"])]
    _task.print_scores(rows, {"bleu4": "BLEU-4", "rougeL": "ROUGE-L"})
    print(f"  exact captions: {metrics['exact_match']:.1f} %; training took {metrics['train_seconds']:.0f} s")
    print(f"  metrics in {args.output_dir / 'metrics.json'}, pictures in {args.output_dir / 'samples.png'}")
    return 0
