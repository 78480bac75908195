"""``release``: regenerate ``notebooks/`` from ``solutions/`` with nbgrader generate_assignment."""

from __future__ import annotations

import argparse

from finetune_kit.course import classroom


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all that have a source)")


def run(args: argparse.Namespace) -> int:
    for path in classroom.release(args.assignments or None):
        print(f"released {path}")
    return 0
