"""The nbgrader course: generate the student release and autograde submissions.

A thin layer over nbgrader's own ``NbGraderAPI`` (the same code path as the ``nbgrader`` command),
configured by ``autograde/nbgrader_config.py``. A ``work_dir`` moves the gradebook, submissions and
feedback out of the repository, so a grading run or a test never touches the instructor's files.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from finetune_kit.course.config import REPO_ROOT

AUTOGRADE_DIR = REPO_ROOT / "autograde"
ASSIGNMENTS = ("part1_fundamentals", "part2_finetuning", "part3_evaluate_deploy")


def available_assignments() -> list[str]:
    """Assignments that have a source notebook (later parts appear as they are written)."""
    return [a for a in ASSIGNMENTS if any((REPO_ROOT / "solutions" / a).glob("*.ipynb"))]


def _ensure_tools_on_path() -> None:
    # nbgrader runs the `alembic` executable to create a gradebook; it lives beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def load_config(work_dir: Path | None = None, release_dir: Path | None = None):
    """The course's nbgrader config, with work files redirected under ``work_dir`` if given."""
    from traitlets.config.loader import PyFileConfigLoader

    _ensure_tools_on_path()
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(AUTOGRADE_DIR)).load_config()
    if work_dir is not None:
        work = Path(work_dir).resolve()
        cd = cfg.CourseDirectory
        cd.submitted_directory = str(work / "submitted")
        cd.autograded_directory = str(work / "autograded")
        cd.feedback_directory = str(work / "feedback")
        cd.solution_directory = str(work / "source_with_solutions")
        cd.db_url = f"sqlite:///{work / 'gradebook.db'}"
        work.mkdir(parents=True, exist_ok=True)
    else:
        Path(cfg.CourseDirectory.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if release_dir is not None:
        cfg.CourseDirectory.release_directory = str(Path(release_dir).resolve())
    return cfg


def api(work_dir: Path | None = None, release_dir: Path | None = None):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = load_config(work_dir, release_dir)
    return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)


class NbgraderError(RuntimeError):
    """nbgrader reported a failure; the message carries its log."""


def _check(result: dict, what: str) -> dict:
    if not result.get("success"):
        raise NbgraderError(f"{what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")
    return result


def release(assignments: list[str] | None = None, *, release_dir: Path | None = None,
            work_dir: Path | None = None) -> list[Path]:
    """Regenerate the student notebooks from ``solutions/`` with nbgrader's generate_assignment."""
    names = assignments or available_assignments()
    course = api(work_dir=work_dir, release_dir=release_dir)
    out = []
    for name in names:
        _check(course.generate_assignment(name, force=True), f"generate_assignment {name}")
        out.append(Path(course.coursedir.format_path(course.coursedir.release_directory, ".", name)))
    return out


@dataclass
class Score:
    """Scores of one student's assignment, split the way instructors read them."""

    student: str
    assignment: str
    auto_score: float
    auto_max: float
    manual_max: float
    by_cell: dict[str, tuple[float | None, float]] = field(default_factory=dict)


def assignment_notebooks(folder: Path) -> list[Path]:
    """The notebooks of one assignment folder (an assignment may hold several)."""
    return sorted(Path(folder).glob("*.ipynb"))


def submit(folder: Path, student: str, assignment: str, work_dir: Path) -> Path:
    """Copy an assignment folder's notebooks to where nbgrader expects them (``submitted/<student>/<assignment>/``)."""
    cfg = load_config(work_dir)
    dest = Path(cfg.CourseDirectory.submitted_directory) / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    for notebook in assignment_notebooks(folder):
        shutil.copy(notebook, dest / notebook.name)
    return dest


def prepare_gradebook(work_dir: Path, assignments: list[str] | None = None) -> None:
    """Record the assignments' test cells in the gradebook under ``work_dir``.

    nbgrader grades against the cells stored by generate_assignment, so a fresh gradebook needs
    one run of it; the release it writes stays inside ``work_dir``, never over ``notebooks/``.
    """
    from nbgrader.api import Gradebook, MissingEntry

    cfg = load_config(work_dir)
    missing = []
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        for name in assignments or available_assignments():
            try:
                gb.find_assignment(name)
            except MissingEntry:
                missing.append(name)
    if missing:
        release(missing, release_dir=Path(work_dir) / "release", work_dir=work_dir)


def autograde(student: str, assignment: str, work_dir: Path) -> Score:
    """Autograde one submitted assignment with nbgrader and read the scores from the gradebook."""
    prepare_gradebook(work_dir, [assignment])
    course = api(work_dir=work_dir)
    _check(course.autograde(assignment, student, force=True, create=True), f"autograde {student}/{assignment}")
    return read_score(student, assignment, work_dir)


def read_score(student: str, assignment: str, work_dir: Path) -> Score:
    from nbgrader.api import Gradebook

    cfg = load_config(work_dir)
    with Gradebook(cfg.CourseDirectory.db_url, cfg.CourseDirectory.course_id) as gb:
        sub = gb.find_submission(assignment, student)
        score = Score(student, assignment, 0.0, 0.0, 0.0)
        for nb in sub.notebooks:
            # A grade cell that is also a solution cell is graded by hand (written answers).
            by_hand = {cell.name for cell in nb.notebook.solution_cells}
            for grade in nb.grades:
                automatic = grade.name not in by_hand
                if automatic:
                    score.auto_score += grade.auto_score or 0.0
                    score.auto_max += grade.max_score
                else:
                    score.manual_max += grade.max_score
                score.by_cell[grade.name] = (grade.auto_score, grade.max_score)
    return score


def feedback(student: str, assignment: str, work_dir: Path) -> Path:
    """Render feedback HTML (hidden tests stripped by ``finetune_kit.grading.feedback``)."""
    course = api(work_dir=work_dir)
    _check(course.generate_feedback(assignment, student, force=True), f"generate_feedback {student}/{assignment}")
    return Path(course.coursedir.format_path(course.coursedir.feedback_directory, student, assignment))
