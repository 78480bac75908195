"""``export-onnx``: a fine-tuned model directory → ONNX fp32 + int8, tokenizer beside, parity checked.

    python -m finetune_kit export-onnx --model outputs/offline/sentiment-model --output outputs/offline/onnx
    python -m finetune_kit export-onnx --model DIR --output OUT --quantize none --data my_reviews.csv

Exit status 1 when an ONNX model predicts a different label from PyTorch on more than 0.5 % of the
test texts: the export is then not a faithful copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.course import reference
from finetune_kit.course.config import PROFILES, use_profile
from finetune_kit.deploy import export


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True,
                        help="model directory written by `train` (or save_pretrained)")
    parser.add_argument("--output", type=Path, required=True, help="folder for model.onnx, model.int8.onnx, tokenizer")
    parser.add_argument("--quantize", choices=("int8", "none"), default="int8",
                        help="also write a dynamically quantised int8 model (default: int8)")
    parser.add_argument("--data", type=Path, default=None,
                        help="labelled CSV (text,label) for the parity check (default: the profile's test split)")
    parser.add_argument("--max-length", type=int, default=None,
                        help="tokens kept per text when serving (default: what the model was trained on, "
                             "model_max_length in its tokenizer_config.json, else the profile's max_length)")
    parser.add_argument("--no-optimize", action="store_true", help="skip ONNX Runtime's transformer fusions")
    parser.add_argument("--no-parity", action="store_true", help="skip the PyTorch-vs-ONNX parity check")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None, help="smoke | offline | azure")


def run(args: argparse.Namespace) -> int:
    profile = use_profile(args.profile)
    result = export.export_onnx(args.model, args.output, quantize=args.quantize == "int8",
                                optimize=not args.no_optimize, max_length=args.max_length)
    print(result.summary())
    if args.no_parity:
        return 0
    try:  # the full check is the instructor's (Part 3b's parity exercise is its core)
        check = reference.load("deployment").parity_check
    except reference.ReferenceMissing:  # the student hand-out: the export stands, the check is Part 3b's
        print("parity check skipped: the instructor's full check is not in this copy of the kit; compare PyTorch "
              "and ONNX with your parity() in Part 3b (part3_deployment.ipynb), or pass --no-parity")
        return 0
    texts, labels, where = export.labelled_texts(profile, args.data)
    report = check(args.model, result.output_dir, texts, labels, data=where)
    export.record_parity(result.output_dir, report)
    print(report.summary())
    if not report.passed:
        print(f"parity check FAILED: an ONNX model disagrees with PyTorch on more than "
              f"{1 - report.threshold:.1%} of the texts (details in {result.output_dir / 'export.json'})")
        return 1
    return 0
