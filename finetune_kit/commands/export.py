"""``export``: a graded class's grades and feedback as the LMS imports them.

``python -m finetune_kit export GRADED --lms canvas|moodle|blackboard`` reads the folder ``grade``
wrote (``grades.csv``, ``identities.json``, ``feedback/``; points given by hand in formgrader included)
and writes ``GRADED/lms/<lms>/`` (``finetune_kit.grading.lms_export`` says what each file follows).
Exit status 1 when some student could not be matched to the LMS: they are listed, to enter by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.grading import lms_export


def add_lms_arguments(parser: argparse.ArgumentParser, flag: str) -> None:
    """The LMS choice and column names, shared with ``grade --export``."""
    parser.add_argument(flag, dest="lms", choices=sorted(lms_export.WRITERS), required=flag == "--lms",
                        help="write the gradebook import and feedback archives this LMS takes, into OUTPUT/lms/<lms>/")
    parser.add_argument("--column", action="append", dest="columns", metavar="ASSIGNMENT=HEADER",
                        help="the LMS's column for an assignment, e.g. part1_fundamentals='Part 1 (4567)' (Canvas) or "
                             "'Part 1 [Total Pts: 20 Score] |123456' (Blackboard); default: a new column")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("graded", type=Path, help="the folder `grade --output` wrote")
    add_lms_arguments(parser, "--lms")


def report(result: lms_export.Export) -> int:
    for line in lms_export.summary(result):
        print(line)
    return 1 if result.unknown else 0


def run(args: argparse.Namespace) -> int:
    return report(lms_export.export(args.graded, args.lms, lms_export.parse_columns(args.columns)))
