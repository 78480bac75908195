"""How fast does ``python -m finetune_kit grade`` grade? One full submission, then a class of 30.

The class is the perfect submission of the sample class (``autograde/examples/class/perfect``: every
assignment, answered right) copied to N students, a folder each. Both runs use the real command path
(``runner.grade_class``): intake, sandboxed workers, merge, feedback, report.

    python benchmarks/grade_class.py [--students 30] [--jobs N] [--assignment NAME] [--shards N]
                                     [--output DIR] [--json FILE]

Prints the seconds for one submission (a class of one, one worker) three ways: fresh with the run
cache (the target: end to end, with the short warm-up that trains only the model Part 3 evaluates),
fresh without the run cache, and late (a class was graded before, so
the cache is warm); then for the class (N students, ``--jobs`` workers, default: CPU cores) with the
one-off preparation (release and gradebooks) and run-cache warm-up (the solutions run once, their
Trainer runs included) shown apart, and the mean seconds per student. Targets on a 2-core machine: one
submission <= 60 s, 30 submissions <= 6 minutes (issue 13).

``--shards N`` then grades the same class again as N shards side by side on this machine (``grade
--shard I/N``, ``--jobs`` shared among them, each its own process as on N nodes), merges them with
``grade-merge``, and says whether the merge equals the single run (``grades.csv`` rows and the question
scores of ``questions.csv``) and how long each took.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from finetune_kit.course import classroom
from finetune_kit.course.config import REPO_ROOT
from finetune_kit.grading import runner

PERFECT = REPO_ROOT / "autograde" / "examples" / "class" / "perfect"


def make_class(dest: Path, students: int) -> Path:
    for i in range(students):
        shutil.copytree(PERFECT, dest / f"student{i:03d}")
    return dest


def measure(submissions: Path, output: Path, jobs: int, assignments: list[str] | None, run_cache: bool = True,
            warm_first: bool = False) -> dict:
    """``warm_first``: run the solutions into the cache before grading, as a class graded earlier did
    (a class of one starts no warm-up of its own), and count that apart."""
    warm = 0.0
    if warm_first:
        started = time.perf_counter()
        runner.warm_run_cache(output, assignments or classroom.available_assignments(), "smoke",
                              threads=runner.kernel_threads(jobs))
        warm = time.perf_counter() - started
    result = runner.grade_class(submissions, output, runner.Options(jobs=jobs, assignments=assignments,
                                                                    run_cache=run_cache))
    grading = result.seconds - result.prepare_seconds - result.warm_seconds
    return {"students": len(result.graded), "jobs": jobs, "isolation": result.isolation, "run_cache": run_cache,
            "total_s": round(result.seconds, 1), "prepare_s": round(result.prepare_seconds, 1),
            "warm_up_s": round(result.warm_seconds + warm, 1), "grading_s": round(grading, 1),
            "mean_student_s": round(sum(result.student_seconds.values()) / max(1, len(result.student_seconds)), 1)}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def measure_shards(submissions: Path, work: Path, shards: int, jobs: int, assignments: list[str] | None,
                   whole: Path) -> dict:
    """Grade ``submissions`` as ``shards`` processes side by side, merge them, compare with ``whole``."""
    each = max(1, jobs // shards)
    extra = [f"--assignment={a}" for a in assignments or []]
    started = time.perf_counter()
    running = []
    for index in range(1, shards + 1):
        log = open(work / f"shard{index}.log", "w")  # noqa: SIM115 - closed below, after the process ends
        cmd = [sys.executable, "-m", "finetune_kit", "grade", str(submissions), "--output", str(work / f"shard{index}"),
               "--shard", f"{index}/{shards}", "--jobs", str(each), *extra]
        running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, time.perf_counter()))
    seconds = []
    for proc, log, t0 in running:
        code = proc.wait()
        seconds.append(round(time.perf_counter() - t0, 1))
        log.close()
        if code != 0:
            raise RuntimeError(f"a shard failed (exit status {code}): see {log.name}")
    graded = time.perf_counter() - started
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "finetune_kit", "grade-merge",
                    *(str(work / f"shard{i}") for i in range(1, shards + 1)), "--output", str(work / "merged")],
                   check=True, stdout=subprocess.DEVNULL)
    merged = time.perf_counter() - t0
    same_grades = _rows(work / "merged" / "grades.csv") == _rows(whole / "grades.csv")
    same_questions = _rows(work / "merged" / "questions.csv") == _rows(whole / "questions.csv")
    return {"shards": shards, "jobs_per_shard": each, "shard_s": seconds, "grading_s": round(graded, 1),
            "merge_s": round(merged, 1), "total_s": round(graded + merged, 1),
            "equal_grades_csv": same_grades, "equal_questions_csv": same_questions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", type=Path, default=None, help="keep the graded folders here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--assignment", action="append", dest="assignments", metavar="NAME",
                        help="grade only these assignments in the class run (default: all)")
    parser.add_argument("--skip-one", action="store_true", help="only the class run")
    parser.add_argument("--no-run-cache", dest="run_cache", action="store_false",
                        help="class run without the run cache (every kernel trains)")
    parser.add_argument("--shards", type=int, default=0,
                        help="also grade the class as this many shards side by side, merge, compare")
    args = parser.parse_args(argv)
    work = args.output or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    figures = {"cpu_cores": os.cpu_count()}
    if not args.skip_one:
        one = make_class(work / "one", 1)
        runs = {"one_submission": ("fresh, run cache on (the target)", True, False),
                "one_submission_no_run_cache": ("fresh, run cache off", False, False),
                "one_submission_late": ("run cache warmed by the class graded before it", True, True)}
        for name, (what, cached, warmed) in runs.items():
            figures[name] = f = measure(one, work / f"{name}-graded", jobs=1, assignments=None,
                                        run_cache=cached, warm_first=warmed)
            print(f"one submission (all parts), {what}: {f['total_s']} s end to end = {f['grading_s']} s grading "
                  f"+ {f['warm_up_s']} s warm-up{' (before, not counted)' if warmed else ''} "
                  f"+ {f['prepare_s']} s preparation", flush=True)
        late, cold = figures["one_submission_late"], figures["one_submission_no_run_cache"]
        ratio = cold["grading_s"] / max(0.1, late["grading_s"])
        figures["run_cache_speedup"] = round(ratio, 2)
        print(f"run cache: {ratio:.2f}x faster grading per submission once a class was graded", flush=True)
    many = make_class(work / "class", args.students)
    figures["class"] = measure(many, work / "class-graded", jobs=args.jobs, assignments=args.assignments,
                               run_cache=args.run_cache)
    figures["class"]["assignments"] = args.assignments or "all"
    c = figures["class"]
    print(f"{c['students']} submissions, {c['jobs']} workers: {c['grading_s']} s grading "
          f"+ {c['warm_up_s']} s warm-up + {c['prepare_s']} s preparation = {c['total_s']} s; "
          f"{c['mean_student_s']} s per student (isolation: {c['isolation']})")
    if args.shards > 1:
        figures["sharded"] = d = measure_shards(many, work, args.shards, args.jobs, args.assignments,
                                                work / "class-graded")
        print(f"{args.shards} shards side by side ({d['jobs_per_shard']} worker(s) each): {d['grading_s']} s "
              f"(each {', '.join(map(str, d['shard_s']))} s) + {d['merge_s']} s merge = {d['total_s']} s, "
              f"against {c['total_s']} s in one run; merged grades.csv equal: {d['equal_grades_csv']}, "
              f"questions.csv equal: {d['equal_questions_csv']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if args.output is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
