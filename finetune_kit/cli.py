"""``python -m finetune_kit <command>``: each command parses its arguments and calls one library step.

Commands live in their own modules (``finetune_kit/commands/<name>.py``), each exposing
``configure(parser)`` and ``run(args) -> int``; this table is the only place that lists them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> (module under finetune_kit.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "the main job: run every solution notebook, rebuild the release, grade a sample"),
    "release": ("release", "regenerate the student notebooks (notebooks/) from solutions/ with nbgrader"),
    "handout": ("handout", "build the students' hand-out (released notebooks, package, data; no answers)"),
    "grade": ("grade", "grade a class from an LMS download in a sandbox: grades.csv, feedback, report.html"),
    "grade-merge": ("grade_merge", "combine the folders of `grade --shard I/N` runs into one graded class"),
    "export": ("export", "a graded class's grades and feedback as Canvas, Moodle or Blackboard import them"),
    "train": ("train", "fine-tune the sentiment classifier (profiles smoke, offline, azure)"),
    "evaluate": ("evaluate", "metrics (and, with --plots, pictures) of a trained model on a labelled CSV"),
    "export-onnx": ("export_onnx", "export a trained model to ONNX (fp32 + int8) and check parity with PyTorch"),
    "bench-inference": ("bench_inference", "PyTorch vs ONNX Runtime fp32/int8: latency, throughput, size, accuracy"),
    "summarize-train": ("summarize_train", "fine-tune a legal summariser; ROUGE against lead-3 (metrics.json)"),
    "caption-train": ("caption_train", "train a ViT + GPT-2 captioner; BLEU against a constant caption"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m finetune_kit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(f"finetune_kit.commands.{module}")
        except ModuleNotFoundError as err:  # the student hand-out leaves the instructor's commands out
            if not (err.name or "").startswith("finetune_kit."):
                raise
            cmd.add_argument("ignored", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            cmd.set_defaults(_run=_instructor_only(name))
            continue
        mod.configure(cmd)
        cmd.set_defaults(_run=mod.run)
    return parser


def _instructor_only(name: str):
    def run(args: argparse.Namespace) -> int:
        raise ValueError(f"`{name}` belongs to the instructor's repository; this copy is the student hand-out")
    return run


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (ValueError, FileNotFoundError) as err:  # user errors (DataError too): a clear message, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
