"""What ``caption-train`` and ``summarize-train`` share: their arguments and their score table."""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.course.config import PROFILES


def add_arguments(parser: argparse.ArgumentParser, output_dir: Path, writes: str) -> None:
    """``--profile``, ``--output-dir`` (default ``output_dir``; ``writes``: what goes there), ``--save-model``."""
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES),
                        help="smoke, offline or azure (default: as the kit decides, see config.py)")
    parser.add_argument("--output-dir", type=Path, default=output_dir,
                        help=f"where {writes} (and the model, with --save-model) go")
    parser.add_argument("--save-model", action="store_true", help="also save the fine-tuned model (and its "
                                                                    "tokenizer and processor, where it has them)")


def print_scores(rows: list[tuple[str, dict[str, float]]], columns: dict[str, str]) -> None:
    """A row of scores (``columns``: key -> heading) for each model and baseline, in percent."""
    width = max(len(name) for name, _ in rows) + 2
    print(f"  {'':<{width}}" + "".join(f"{heading:>9}" for heading in columns.values()))
    for name, scores in rows:
        print(f"  {name:<{width}}" + "".join(f"{scores[key]:>9.2f}" for key in columns))
