"""``evaluate``: score a trained model on any labelled CSV (text,label with 0 = negative, 1 = positive).

    python -m finetune_kit evaluate --model DIR --data FILE.csv --output OUT.json --plots DIR

Metrics go through the Hugging Face ``evaluate`` library (the kit's own metric modules when the Hub
is unreachable, see ``finetune_kit.sentiment.metrics.metric_location``); ``--plots`` also writes the confusion
matrix, precision-recall and ROC curves, reliability diagram, score histogram and threshold curve as PNG.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from finetune_kit.sentiment import data, metrics, train


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="a model directory written by `train`")
    parser.add_argument("--data", type=Path, required=True, help="CSV with text and label columns")
    parser.add_argument("--output", type=Path, default=None, help="write the metrics as JSON here")
    parser.add_argument("--plots", type=Path, default=None, metavar="DIR",
                        help="write the evaluation pictures as PNG files in this folder")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="predict positive when P(positive) >= this (default 0.5)")
    parser.add_argument("--max-length", type=int, default=256, help="tokens kept per text")


def evaluate_csv(model_dir: Path, csv_path: Path, *, max_length: int = 256, threshold: float = 0.5,
                 plots_dir: Path | None = None) -> dict:
    """Every metric of ``metrics.evaluate_scores`` for the model on the CSV (validated first).

    With ``plots_dir``, the pictures of ``plots.save_evaluation_plots`` are written there too.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"--threshold must be between 0 and 1, got {threshold}")
    df = data.read_reviews(csv_path)
    model, tokenizer = train.load_trained(model_dir)
    scores = train.predict_proba(model, tokenizer, df["text"].tolist(), max_length=max_length)
    labels = df["label"].to_numpy()
    result = metrics.evaluate_scores(labels, scores, threshold=threshold)
    record = {"model": str(model_dir), "data": str(csv_path),
              **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()},
              "metrics_from": metrics.metric_sources()}
    if plots_dir is not None:
        if len(set(labels.tolist())) < 2:
            raise ValueError(f"{csv_path}: --plots needs both labels (0 and 1) in the data; found only {labels[0]}")
        from finetune_kit.course import plots

        record["plots"] = [str(p) for p in plots.save_evaluation_plots(labels, scores, plots_dir, threshold=threshold)]
    return record


def run(args: argparse.Namespace) -> int:
    from finetune_kit.course.config import quiet_libraries

    quiet_libraries()
    result = evaluate_csv(args.model, args.data, max_length=args.max_length, threshold=args.threshold,
                          plots_dir=args.plots)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0
