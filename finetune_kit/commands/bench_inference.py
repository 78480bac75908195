"""``bench-inference``: PyTorch fp32, ONNX Runtime fp32 and int8 side by side (table, JSON, bar chart).

    python -m finetune_kit bench-inference --model outputs/offline/sentiment-model
    python -m finetune_kit bench-inference --model DIR --onnx outputs/offline/onnx --threads 2

Without ``--onnx`` the model is exported first (into ``<output>/onnx``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.course.config import PROFILES, artifact_dir, use_profile
from finetune_kit.deploy import export, latency


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="model directory written by `train`")
    parser.add_argument("--onnx", type=Path, default=None, help="an export-onnx folder (default: export now)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where bench.json, bench.md and bench.png go (default: outputs/<profile>/bench)")
    parser.add_argument("--data", type=Path, default=None,
                        help="labelled CSV (text,label) to time and score on (default: the profile's test split)")
    parser.add_argument("--threads", type=int, default=1, help="threads per engine, the same for all (default 1)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="batch-1 requests timed per engine (default: 8 under smoke, else 400)")
    parser.add_argument("--max-texts", type=int, default=None,
                        help="time and score only the first N texts (default: 16 under smoke, else all)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size of the throughput run")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None, help="smoke | offline | azure")


def run(args: argparse.Namespace) -> int:
    profile = use_profile(args.profile)
    output = args.output or artifact_dir(profile) / "bench"
    onnx_dir = args.onnx
    if onnx_dir is None:
        onnx_dir = output / "onnx"
        print(export.export_onnx(args.model, onnx_dir).summary())  # at the length the model was trained on
    texts, labels, where = export.labelled_texts(profile, args.data)
    settings = profile.latency.summary()
    settings["iterations"] = args.iterations or settings["iterations"]
    settings["max_texts"] = args.max_texts or settings["max_texts"]
    report = latency.bench_inference(args.model, onnx_dir, texts, labels, threads=args.threads,
                                       batch_size=args.batch_size, data=where, **settings)
    print(report.table())
    for kind, path in report.save(output).items():
        print(f"{kind:<6} {path}")
    return 0
