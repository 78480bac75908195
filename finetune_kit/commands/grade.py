"""``grade``: autograde a whole class from an LMS download, safely and in parallel.

``python -m finetune_kit grade SUBMISSIONS --output DIR`` reads a zip or a folder (Canvas, Moodle,
Blackboard, a folder per student or nbgrader's ``submitted/``; see ``finetune_kit.grading.intake``),
grades every student with nbgrader in a sandbox, and writes ``DIR/grades.csv``, ``DIR/report.html``,
feedback for each student and an nbgrader gradebook formgrader can open. Run it again to resume:
finished students are skipped. ``--export canvas|moodle|blackboard`` then writes the LMS's import files
(the same as ``python -m finetune_kit export DIR --lms ...``). ``--shard I/N`` grades the I-th of N
shares of the class (``grade-merge`` combines the shards' folders; ``finetune_kit.grading.shards``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from finetune_kit.commands import export
from finetune_kit.grading import lms_export, runner, sandbox, shards


def _shard(text: str) -> shards.Shard:
    try:
        return shards.Shard.parse(text)
    except ValueError as err:  # argparse shows this message, not its own "invalid value"
        raise argparse.ArgumentTypeError(str(err)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    d = sandbox.Limits()
    parser.add_argument("submissions", type=Path, help="a .zip or a folder of the class's submissions")
    parser.add_argument("--output", "-o", type=Path, required=True,
                        help="folder for grades.csv, report.html, feedback and the gradebook (reused to resume)")
    parser.add_argument("--jobs", "-j", type=int, default=runner.default_jobs(),
                        help="students graded at the same time (default: one per CPU core, as many as the "
                             "available memory carries at 6 GiB each)")
    parser.add_argument("--assignment", action="append", dest="assignments", metavar="NAME",
                        help="grade only this assignment (repeat for several; default: every one submitted)")
    parser.add_argument("--cell-timeout", type=int, default=d.cell_timeout, help="seconds per cell")
    parser.add_argument("--notebook-timeout", type=int, default=d.notebook_timeout,
                        help="seconds per notebook; cells left after it are not run")
    parser.add_argument("--memory", default=f"{d.memory_bytes // 2**30}G",
                        help="address space a kernel may use (e.g. 4G); a bigger allocation raises MemoryError")
    parser.add_argument("--home-size", default=f"{d.home_bytes // 2**30}G",
                        help="size of the tmpfs each notebook's home is (full and user isolation): a notebook "
                             "that fills it fails alone, the grader's disk stays free")
    parser.add_argument("--isolation", default="auto", choices=["auto", *sandbox.ISOLATION_LEVELS],
                        help="sandbox level (auto: the strongest available; see docs/grading.md)")
    parser.add_argument("--force", action="store_true", help="regrade every student, even those already graded")
    parser.add_argument("--no-run-cache", dest="run_cache", action="store_false",
                        help="do not run the solutions first to cache their training runs: every student's "
                             "kernel then trains for itself (slower, same grades)")
    parser.add_argument("--no-prefork", dest="prefork", action="store_false",
                        help="start every kernel as a new Python process instead of forking it from one that "
                             "has the libraries imported (slower, same grades)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep each student's scratch course (debugging)")
    parser.add_argument("--shard", type=_shard, default=shards.Shard(), metavar="I/N",
                        help="grade only the I-th of N shares of the class (students sorted, dealt round-robin), "
                             "e.g. 2/4, into its own --output; `grade-merge` combines the N folders")
    export.add_lms_arguments(parser, "--export")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.jobs <= runner.SLOTS_PER_SHARD:
        raise ValueError(f"--jobs must be between 1 and {runner.SLOTS_PER_SHARD}, got {args.jobs}")
    for name in ("cell_timeout", "notebook_timeout"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1 second")
    columns = lms_export.parse_columns(args.columns)  # a typo stops the command before hours of grading
    limits = sandbox.Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                            memory_bytes=sandbox.parse_size(args.memory), home_bytes=sandbox.parse_size(args.home_size))
    options = runner.Options(jobs=args.jobs, limits=limits, isolation=args.isolation, assignments=args.assignments,
                             force=args.force, keep_scratch=args.keep_scratch, run_cache=args.run_cache,
                             prefork=args.prefork, shard=args.shard)
    result = runner.grade_class(args.submissions, args.output, options)
    share = f" (shard {args.shard} of the class)" if args.shard.count > 1 else ""
    print(f"graded {len(result.graded)} student(s){share}, skipped {len(result.skipped)} already graded, "
          f"in {result.seconds:.0f} s (isolation: {result.isolation})")
    print(f"  grades : {result.output / 'grades.csv'}")
    print(f"  report : {result.output / 'report.html'}")
    print(f"  feedback: {result.output / 'feedback'}/<student>/<assignment>/")
    if args.lms:
        return export.report(lms_export.export(result.output, args.lms, columns))
    return 0
