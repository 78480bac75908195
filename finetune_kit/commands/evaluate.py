"""``evaluate``: score a trained model on any labelled CSV (text,label with 0 = negative, 1 = positive)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from finetune_kit import data, metrics, train


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="a model directory written by `train`")
    parser.add_argument("--data", type=Path, required=True, help="CSV with text and label columns")
    parser.add_argument("--output", type=Path, default=None, help="write the metrics as JSON here")
    parser.add_argument("--max-length", type=int, default=256, help="tokens kept per text")


def evaluate_csv(model_dir: Path, csv_path: Path, *, max_length: int = 256) -> dict:
    """Accuracy, precision, recall, F1 and n of the model on the CSV (validated first)."""
    df = data.read_reviews(csv_path)
    model, tokenizer = train.load_trained(model_dir)
    scores = train.predict_proba(model, tokenizer, df["text"].tolist(), max_length=max_length)
    result = metrics.classification_metrics(df["label"].to_numpy(), (scores >= 0.5).astype(int))
    return {"model": str(model_dir), "data": str(csv_path), **result}


def run(args: argparse.Namespace) -> int:
    from finetune_kit.config import quiet_libraries

    quiet_libraries()
    result = evaluate_csv(args.model, args.data, max_length=args.max_length)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return 0
