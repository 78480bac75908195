"""Bounded load run against the scoring endpoint on loopback: latency percentiles, zero 5xx, no crash.

Starts Azure's inference server (azmlinfsrv, 127.0.0.1, free port) with azure/score/score.py on an
ONNX export, sends a fixed number of requests from a few client threads — singles, batches and a
share of malformed bodies (empty, broken JSON, wrong types, empty strings, too many items, a 3 MB
text) — then checks that every bad request got a 4xx, none a 5xx, and the server still answers.

    python benchmarks/endpoint_load.py --onnx outputs/offline/onnx                  # 2,000 requests
    python benchmarks/endpoint_load.py --model outputs/offline/sentiment-model      # export first
    python benchmarks/endpoint_load.py --onnx DIR --requests 500 --workers 2 --json load.json

Exit status 1 when any request got a 5xx, no answer or the wrong status, or the server died.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from finetune_kit.course.config import use_profile
from finetune_kit.deploy import endpoint, export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--onnx", type=Path, help="an export-onnx folder to serve")
    source.add_argument("--model", type=Path, help="a trained model folder: exported to a temporary folder first")
    parser.add_argument("--data", type=Path, default=None, help="CSV whose texts are sent (default: the test split)")
    parser.add_argument("--requests", type=int, default=2000, help="requests to send (the run's bound)")
    parser.add_argument("--malformed-share", type=float, default=0.2, help="share of deliberately bad requests")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="server workers (azmlinfsrv WORKER_COUNT)")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sending after this long")
    parser.add_argument("--profile", default=None, help="smoke | offline | azure (picks the test split)")
    parser.add_argument("--json", type=Path, default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)

    profile = use_profile(args.profile)
    texts, _, where = export.labelled_texts(profile, args.data)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_dir = args.onnx
        if onnx_dir is None:
            onnx_dir = Path(tmp) / "onnx"
            print(export.export_onnx(args.model, onnx_dir).summary())  # at the length the model was trained on
        with endpoint.LocalEndpoint(onnx_dir, workers=args.workers, collect_dir=Path(tmp) / "collected") as server:
            print(f"azmlinfsrv on {server.base_url} ({args.workers} workers), texts from {where}")
            report = endpoint.load_run(server, texts, requests=args.requests,
                                       malformed_share=args.malformed_share, concurrency=args.concurrency,
                                       max_seconds=args.max_seconds)
    print(report.summary())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict() | {"data": where}, indent=2) + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
