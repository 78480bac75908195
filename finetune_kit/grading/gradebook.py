"""The instructor's gradebook: set up once per class, written only by the trusted parent process.

The output folder of ``grade`` is an ordinary nbgrader course work folder (the same layout
``finetune_kit.course.classroom`` uses), so formgrader and ``nbgrader export`` work on it afterwards::

    OUTPUT/gradebook.db              the instructor's gradebook
    OUTPUT/release/<assignment>/     the student release the submissions were graded against
    OUTPUT/submitted/<student>/<assignment>/   what each student handed in, renamed
    OUTPUT/autograded/<student>/<assignment>/  the graded notebooks (formgrader shows these)
    OUTPUT/feedback/<student>/<assignment>/    feedback HTML for students (no hidden tests)
    OUTPUT/as-submitted/<student>/<assignment>/  the notebooks as submitted, read-only pages (``submitted_view``)
    OUTPUT/identities.json           each student's LMS identity (``identities``), for ``lms_export``
    OUTPUT/grading.json              written last: what was graded, with what (``shards``, ``grade-merge``)
    OUTPUT/lms/<lms>/                the LMS's import files, once exported (``lms_export``)
    OUTPUT/.template/                a gradebook with the assignments and no students: every worker
                                     grades against a private copy of it

Grades come into the instructor's gradebook one way only: ``merge`` runs nbgrader's own
``SaveAutoGrades`` on the graded notebook a worker produced, after checking that its test cells are
exactly the instructor's.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from finetune_kit.course import classroom
from finetune_kit.course.config import REPO_ROOT

TEMPLATE = ".template"
FORMGRADER_CONFIG = """\
# Written by `python -m finetune_kit grade`: this folder is an nbgrader course. From here,
# `jupyter lab` (Nbgrader > Formgrader) grades the written answers by hand; `nbgrader export` works too.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = "."
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.source_directory = "release"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
"""


@dataclass(frozen=True)
class Course:
    """Paths of a class's grading folder."""

    root: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def template(self) -> Path:
        return self.root / TEMPLATE

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment


def _fingerprint(assignment: str) -> str:
    import nbgrader

    digest = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    for path in sorted((REPO_ROOT / "solutions" / assignment).rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def prepare(root: Path, assignments: list[str]) -> Course:
    """The template gradebook, the release and the instructor's gradebook, rebuilt only when the
    assignments' sources changed since the last run (so resuming a class is quick)."""
    here = Course(Path(root).resolve())
    here.root.mkdir(parents=True, exist_ok=True)
    stamp_path = here.template / "fingerprint.json"
    stamp = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    wanted = {a: _fingerprint(a) for a in assignments}
    changed = [a for a in assignments if stamp.get(a) != wanted[a] or not here.release(a).is_dir()]
    if changed:
        classroom.release(changed, release_dir=here.root / "release", work_dir=here.template)
    db = here.root / "gradebook.db"
    if not db.exists():
        shutil.copy2(here.template / "gradebook.db", db)
    elif changed:
        classroom.release(changed, release_dir=here.template / "instructor-release", work_dir=here.root)
    stamp.update(wanted)
    stamp_path.write_text(json.dumps(stamp, indent=1, sort_keys=True))
    config = here.root / "nbgrader_config.py"
    if not config.exists():  # so `cd OUTPUT && jupyter lab` opens this class in formgrader
        config.write_text(FORMGRADER_CONFIG.format(course_id=classroom.load_config().CourseDirectory.course_id))
    return here


def notebook_names(here: Course, assignments: list[str]) -> dict[str, str]:
    """Notebook stem -> assignment, from the release."""
    return {nb.stem: a for a in assignments for nb in classroom.assignment_notebooks(here.release(a))}


def grade_cell_ids(here: Course, assignments: list[str]) -> dict[str, set[str]]:
    """Notebook stem -> nbgrader cell ids, to recognise renamed notebooks by their content."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{here.template / 'gradebook.db'}") as gb:
        for assignment in assignments:
            for nb in gb.find_assignment(assignment).notebooks:
                out[nb.name] = {c.name for c in nb.source_cells}
    return out


class MergeError(RuntimeError):
    """A worker's graded notebook does not match the assignment (it is not merged)."""


def _check_tests(nb, gb, notebook: str, assignment: str) -> None:  # noqa: ANN001
    expected = {c.name: (c.cell_type, c.source) for c in gb.find_notebook(notebook, assignment).source_cells
                if c.locked}
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in expected:
            found.add(grade_id)
            source = re.sub(r"\A# This cell \(id:[^)]*\) was missing from the submission\. It was added back by "
                            r"nbgrader\.\n\n", "", cell.source)  # nbgrader's own note on a restored cell
            if (cell.cell_type, source) != expected[grade_id]:
                raise MergeError(f"{notebook}: locked cell {grade_id!r} differs from the instructor's")
    if found != set(expected):
        raise MergeError(f"{notebook}: locked cells missing from the graded notebook: {sorted(set(expected) - found)}")


def merge(here: Course, student: str, name: str, assignment: str, entry: dict, scratch: Path) -> dict:
    """Store one student's graded assignment in the instructor's gradebook; return the scores.

    ``entry`` is the worker's result for this assignment, ``scratch`` the worker's folder.
    Notebooks without a graded copy (missing, unreadable, a crashed worker) score 0.
    """
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import SaveAutoGrades

    graded_dir = here.root / "autograded" / student / assignment
    feedback_dir = here.root / "feedback" / student / assignment
    for folder in (graded_dir, feedback_dir):
        shutil.rmtree(folder, ignore_errors=True)
    with Gradebook(here.db_url) as gb:
        gb.update_or_create_student(student, first_name=name)
        gb.update_or_create_submission(assignment, student)
    merged = set()
    for stem, files in sorted(entry.get("notebooks", {}).items()):
        nb = nbformat.read(scratch / files["autograded"], as_version=4)
        with Gradebook(here.db_url) as gb:
            _check_tests(nb, gb, stem, assignment)
        resources = {"nbgrader": {"db_url": here.db_url, "assignment": assignment, "notebook": stem,
                                  "student": student}}
        nb, _ = SaveAutoGrades().preprocess(nb, resources)
        graded_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, graded_dir / f"{stem}.ipynb")
        if files.get("feedback"):
            feedback_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(scratch / files["feedback"], feedback_dir / f"{stem}.html")
        merged.add(stem)
    with Gradebook(here.db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            if notebook.name not in merged:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
        gb.db.commit()
    return read_scores(here, student, assignment)


def read_scores(here: Course, student: str, assignment: str) -> dict:
    """Scores of one submission as the gradebook holds them (manual grades included once given)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(here.db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}
        cells = {}
        auto = auto_max = manual_max = 0.0
        for nb in submission.notebooks:
            # a graded cell that is also a solution cell (a written answer, even in a code cell) is graded by hand
            by_hand = {cell.name for cell in nb.notebook.solution_cells}
            for grade in nb.grades:
                automatic = grade.cell.cell_type == "code" and grade.name not in by_hand
                score = grade.score if grade.score is not None else None
                cells[f"{nb.name}/{grade.name}"] = [score, grade.max_score, automatic]
                if automatic:
                    auto += grade.auto_score or 0.0
                    auto_max += grade.max_score
                else:
                    manual_max += grade.max_score
        return {"score": submission.score, "max_score": submission.max_score, "auto_score": auto,
                "auto_max_score": auto_max, "manual_max_score": manual_max,
                "needs_manual_grade": bool(submission.needs_manual_grade), "cells": cells}
