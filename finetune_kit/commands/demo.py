"""``demo``: the main job of the kit, end to end, on this machine.

1. execute every solution notebook under the chosen profile into ``outputs/executed/``;
2. regenerate the student release (``notebooks/``) with nbgrader;
3. autograde the solutions as a sample submission and render its feedback;
4. grade the sample class in ``autograde/examples/class`` like an instructor would (``grade``);
then print where everything is.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from finetune_kit.course import classroom, headless
from finetune_kit.course.config import PROFILES, REPO_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="offline", choices=sorted(PROFILES),
                        help="profile the notebooks run under (grading always uses smoke)")
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "outputs", help="where results go")
    parser.add_argument("--cell-timeout", type=int, default=0,
                        help="seconds a notebook cell may run (default 0: no limit; training takes what it takes)")
    parser.add_argument("--real-reviews", type=Path, default=None, metavar="FILE",
                        help="a labelled file of real reviews (text,label) that Part 2 scores its model on")
    parser.add_argument("--force", action="store_true",
                        help="execute every notebook again, even those already executed with the same inputs")


def run(args: argparse.Namespace) -> int:
    out = args.output_dir.resolve()
    where: list[tuple[str, Path]] = []

    for nb in headless.solution_notebooks():
        start = time.perf_counter()
        parameters = ({"REAL_REVIEWS": str(args.real_reviews.resolve())}
                      if args.real_reviews and nb.stem == "part2_finetuning" else None)
        print(f"[demo] executing {nb.relative_to(REPO_ROOT)} (profile {args.profile}); its output follows ...",
              flush=True)
        try:
            executed = headless.execute(nb, out / "executed" / nb.name, args.profile, cell_timeout=args.cell_timeout,
                                        force=args.force, say=lambda line: print(f"[demo] {line}", flush=True),
                                        parameters=parameters)
        except headless.NotebookFailed as err:
            raise ValueError(f"{err}\n[demo] rerun `make demo` to go on from this notebook") from None
        html = headless.to_html(executed)
        print(f"[demo]   done in {time.perf_counter() - start:.0f} s")
        where.append((f"executed {nb.stem}", html))

    print("[demo] regenerating the student release with nbgrader ...", flush=True)
    for path in classroom.release():
        where.append(("student release", path))

    grading = out / "sample_grading"
    print("[demo] autograding the solutions as a sample submission (grading profile: smoke) ...", flush=True)
    for name in classroom.available_assignments():
        classroom.submit(REPO_ROOT / "solutions" / name, "sample_solution", name, grading)
        score = classroom.autograde("sample_solution", name, grading)
        print(f"[demo]   {name}: {score.auto_score:g}/{score.auto_max:g} autograded points "
              f"(+{score.manual_max:g} points graded by hand)")
        where.append((f"feedback {name}", classroom.feedback("sample_solution", name, grading)))

    # The instructor's side: a whole (partly hostile) class, graded in the sandbox, in parallel.
    from finetune_kit.grading import runner

    print("[demo] grading the sample class in autograde/examples/class (python -m finetune_kit grade) ...",
          flush=True)
    try:
        graded = runner.grade_class(REPO_ROOT / "autograde" / "examples" / "class", out / "class_grading")
        where += [("class grades", graded.output / "grades.csv"), ("class report", graded.output / "report.html")]
    except ValueError as err:  # no sandbox here: the sample class holds hostile notebooks, do not run them bare
        print(f"[demo]   skipped: {err}")

    print("\nWhere everything is:")
    for label, path in where:
        print(f"  {label:<32} {path}")
    return 0
