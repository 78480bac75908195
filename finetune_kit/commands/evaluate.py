"""``evaluate``: score a trained model on any labelled file: CSV, TSV or JSON lines, any column names,
labels as 0/1, as words (``--positive``) or as star ratings (``--positive-min``).

    python -m finetune_kit evaluate --model DIR --data FILE.csv --output OUT.json --plots DIR
    python -m finetune_kit evaluate --model DIR --data reviews.tsv --text-column sentence \\
        --label-column sentiment --positive positive,pos --negative negative,neg
    python -m finetune_kit evaluate --model DIR --data ratings.jsonl --label-column stars --positive-min 4

Duplicated texts are scored once and reported (``--keep-duplicates`` scores every copy); rows whose
label means nothing under the chosen mapping are refused by file, row and field. Metrics go through the
Hugging Face ``evaluate`` library (the kit's own metric modules when the Hub is unreachable, see
``finetune_kit.sentiment.metrics.metric_location``); ``--plots`` also writes the confusion matrix,
precision-recall and ROC curves, reliability diagram, score histogram and threshold curve as PNG. Nothing
is written unless everything succeeded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from finetune_kit.sentiment import analysis, labelled, metrics, pieces, train


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="a model directory written by `train`")
    parser.add_argument("--data", type=Path, required=True,
                        help="labelled texts: .csv, .tsv or .jsonl (one JSON object per line)")
    parser.add_argument("--output", type=Path, default=None, help="write the metrics as JSON here")
    parser.add_argument("--plots", type=Path, default=None, metavar="DIR",
                        help="write the evaluation pictures as PNG files in this folder")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="predict positive when P(positive) >= this (default 0.5)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="tokens kept per text (default: what the model was trained on, its tokenizer's "
                             f"model_max_length, at most {train.MAX_TOKENS}); the saved tokenizer decides which end "
                             f"of a longer text is kept; a text over {pieces.PIECE_WORDS} words is also read in pieces "
                             "(finetune_kit/sentiment/pieces.py)")
    parser.add_argument("--text-column", default="text", help="the column holding the text (default: text)")
    parser.add_argument("--label-column", default="label", help="the column holding the label (default: label)")
    parser.add_argument("--positive", default=None, metavar="VALUES",
                        help="label values meaning positive, comma-separated (e.g. pos,positive); "
                             "without --negative every other value is negative")
    parser.add_argument("--negative", default=None, metavar="VALUES", help="label values meaning negative")
    parser.add_argument("--positive-min", type=float, default=None, metavar="N",
                        help="numeric ratings >= N are positive, the rest negative (e.g. 4 for 1-5 stars)")
    parser.add_argument("--negative-max", type=float, default=None, metavar="N",
                        help="with --positive-min: only ratings <= N are negative; those between are left out")
    parser.add_argument("--keep-duplicates", action="store_true",
                        help="score every copy of a duplicated text (default: once, and say which rows)")
    parser.add_argument("--encoding", default="utf-8-sig",
                        help="the file's text encoding (default UTF-8; e.g. latin-1 or cp1252)")


def rule_from(args: argparse.Namespace) -> labelled.LabelRule:
    return labelled.LabelRule(positive=labelled.parse_values(args.positive),
                              negative=labelled.parse_values(args.negative),
                              positive_min=args.positive_min, negative_max=args.negative_max)


def evaluate_file(model_dir: Path, data_path: Path, *, max_length: int | None = None, threshold: float = 0.5,
                  plots_dir: Path | None = None, read: dict | None = None) -> dict:
    """Every metric of ``metrics.evaluate_scores`` for the model on the file (read by
    ``labelled.read_labelled`` with the options in ``read``) and what reading it did.

    With ``plots_dir``, the pictures of ``plots.save_evaluation_plots`` are written there too, once all of
    them exist (drawn in a scratch folder first).
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"--threshold must be between 0 and 1, got {threshold}")
    rows = labelled.read_labelled(data_path, **(read or {}))
    labels = rows.frame["label"].to_numpy()
    if plots_dir is not None and len(set(labels.tolist())) < 2:
        raise ValueError(f"{data_path}: --plots needs both labels (0 and 1) in the data; found only {labels[0]}")
    model, tokenizer = train.load_trained(model_dir)
    max_length = max_length or train.trained_max_length(tokenizer)
    scores = train.predict_proba(model, tokenizer, rows.frame["text"].tolist(), max_length=max_length)
    result = metrics.evaluate_scores(labels, scores, threshold=threshold)
    # how far the accuracy could move had the file held other reviews of the same kind: 0.841 on 999
    # reviews is 0.817-0.862, so one such file cannot tell that model from one at 0.85
    correct = round(result["accuracy"] * result["n"])
    record = {"model": str(model_dir), "data": str(data_path), "max_length": max_length,
              "read_in_pieces": sum(map(pieces.read_in_pieces, rows.frame["text"])),
              **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()},
              "accuracy_95": [round(x, 4) for x in analysis.wilson_interval(correct, result["n"])],
              "metrics_from": metrics.metric_sources(), "read": rows.report}
    if plots_dir is not None:
        from finetune_kit.course import plots

        plots_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=plots_dir, prefix=".drawing-") as scratch:
            drawn = plots.save_evaluation_plots(labels, scores, Path(scratch), threshold=threshold)
            record["plots"] = [str(shutil.move(str(p), plots_dir / Path(p).name)) for p in drawn]
    return record


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.partial")
    scratch.write_text(text)
    os.replace(scratch, path)


def run(args: argparse.Namespace) -> int:
    from finetune_kit.course.config import quiet_libraries

    quiet_libraries()
    read = {"text_column": args.text_column, "label_column": args.label_column, "rule": rule_from(args),
            "keep_duplicates": args.keep_duplicates, "encoding": args.encoding}
    result = evaluate_file(args.model, args.data, max_length=args.max_length, threshold=args.threshold,
                           plots_dir=args.plots, read=read)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        _write_atomically(args.output, text + "\n")
    return 0
