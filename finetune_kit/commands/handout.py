"""``handout``: build what students receive (notebooks, package, data; no answers) as a folder or a zip.

``python -m finetune_kit handout --output build/handout`` (or ``--output handout.zip``). The copy is
scanned before it is written: a solution line, a hidden test, a rubric line or a reference answer in any
file stops the build with the list of what was found, and nothing is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.course import handout
from finetune_kit.course.config import REPO_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", type=Path, default=REPO_ROOT / "build" / "handout",
                        help="a folder, or a file ending in .zip (default: build/handout/)")


def run(args: argparse.Namespace) -> int:
    output = handout.build(args.output)
    files, size = handout.summary(output)
    print(f"hand-out written to {output}: {files} files, {size / 2**20:.1f} MiB; scan found no answer, "
          "hidden test, rubric or reference code")
    return 0
