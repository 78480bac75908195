"""``summarize-train``: fine-tune the profile's legal summariser and score it against lead-3.

Offline and smoke: the packaged MiniLM encoder learns to pick the key sentences of the kit's legal
documents (extractive). Azure: ``t5-small`` learns to write BillSum summaries (abstractive).
Writes ``metrics.json`` (ROUGE of the model, of lead-3 and, offline, of the oracle) to ``--output-dir``.
The extractive path labels sentences with the greedy oracle, Part 1's exercise: the command uses the
instructor's reference (``autograde/reference/fundamentals.py``) and says so where it is absent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit import summarization
from finetune_kit.config import PROFILES, REPO_ROOT, use_profile


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="smoke, offline or azure (default: as the kit decides, see config.py)")
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "outputs" / "summarization",
                        help="where metrics.json (and the model, with --save-model) go")
    parser.add_argument("--save-model", action="store_true", help="also save the fine-tuned model")


def run(args: argparse.Namespace) -> int:
    profile = use_profile(args.profile)
    metrics = summarization.train_and_evaluate(profile, args.output_dir, save_model=args.save_model)
    baseline = metrics["baseline"]
    print(f"\n{metrics['method']} summariser on {metrics['documents']} test documents (ROUGE F1, %):")
    print(f"  {'':<18}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}")
    rows = [("fine-tuned", metrics["scores"]), (baseline["name"], baseline["scores"])]
    if "oracle" in metrics:
        rows.append(("oracle (ceiling)", metrics["oracle"]))
    for name, scores in rows:
        print(f"  {name:<18}" + "".join(f"{scores[k]:>9.2f}" for k in summarization.ROUGE_TYPES))
    print(f"  training took {metrics['train_seconds']:.0f} s; metrics in {args.output_dir / 'metrics.json'}")
    return 0
