"""``summarize-train``: fine-tune the profile's legal summariser and score it against lead-3.

Offline and smoke: the packaged MiniLM encoder learns to pick the key sentences of the kit's legal
documents (extractive). Azure: ``t5-small`` learns to write BillSum summaries (abstractive).
Writes ``metrics.json`` (ROUGE of the model, of lead-3 and, offline, of the oracle) to ``--output-dir``.
The extractive path labels sentences with the greedy oracle, Part 1's exercise: the command uses the
instructor's reference (``autograde/reference/fundamentals.py``) and says so where it is absent.
"""

from __future__ import annotations

import argparse

from finetune_kit.commands import _task
from finetune_kit.course.config import REPO_ROOT, use_profile
from finetune_kit.tasks import summarization


def configure(parser: argparse.ArgumentParser) -> None:
    _task.add_arguments(parser, REPO_ROOT / "outputs" / "summarization", "metrics.json")


def run(args: argparse.Namespace) -> int:
    profile = use_profile(args.profile)
    metrics = summarization.train_and_evaluate(profile, args.output_dir, save_model=args.save_model)
    baseline = metrics["baseline"]
    print(f"\n{metrics['method']} summariser on {metrics['documents']} test documents (ROUGE F1, %):")
    rows = [("fine-tuned", metrics["scores"]), (baseline["name"], baseline["scores"])]
    if "oracle" in metrics:
        rows.append(("oracle (ceiling)", metrics["oracle"]))
    _task.print_scores(rows, {key: key.upper().replace("ROUGE", "ROUGE-") for key in summarization.ROUGE_TYPES})
    print(f"  training took {metrics['train_seconds']:.0f} s; metrics in {args.output_dir / 'metrics.json'}")
    return 0
