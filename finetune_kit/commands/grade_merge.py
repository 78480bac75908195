"""``grade-merge``: one graded class from the folders of ``grade --shard I/N``.

``python -m finetune_kit grade-merge SHARD1 SHARD2 ... --output DIR`` checks that the shards are all N
shares of one download graded with the same course, kit and settings (each refusal names the shard and
what differs), then writes DIR as a whole run would: gradebook, ``grades.csv``, ``questions.csv``,
``report.html``, feedback and the LMS identities (``finetune_kit.grading.shards``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from finetune_kit.grading import shards


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", type=Path, nargs="+", metavar="SHARD",
                        help="the --output folder of each `grade --shard I/N` run (all N of them)")
    parser.add_argument("--output", "-o", type=Path, required=True,
                        help="folder for the merged class (new or replaced)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    merged = shards.merge(args.shards, args.output)
    print(f"merged {len(args.shards)} shard(s): {len(merged.students)} student(s), assignments "
          f"{', '.join(merged.assignments)}, in {time.perf_counter() - started:.0f} s")
    for note in merged.notes:
        print(f"  note: {note}")
    print(f"  grades : {merged.output / 'grades.csv'}")
    print(f"  report : {merged.output / 'report.html'}")
    return 0
