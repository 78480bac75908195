"""Grades and feedback as each LMS imports them: ``python -m finetune_kit export GRADED --lms canvas``.

Rows are matched to the LMS by the identities the download's file names carried (``identities.json``,
written by ``grade``); a student without one (graded from a folder of their own, nbgrader's layout, or
another LMS's download) is named in the result, never dropped silently. Scores are the gradebook's:
when ``gradebook.db`` changed after ``grades.csv`` was written (points given by hand in formgrader),
``grades.csv``, ``questions.csv`` and ``report.html`` are rewritten from it first. Everything lands in
``OUTPUT/lms/<lms>/``, written whole or not at all.

What each file follows (checked against the LMS's own code or documentation, December 2026):

* **Canvas** — ``canvas-gradebook.csv``, the layout of Canvas's gradebook export, which its import
  reads back: ``Student, ID, SIS User ID, SIS Login ID, Section``, one column per assignment
  (``Assignment Name (id)`` matches an existing assignment; a header without ``(id)`` makes Canvas create
  one), then the ``"    Points Possible"`` row as the exporter writes it (canvas-lms
  ``lib/gradebook_exporter.rb``; Ohio State's guide *Import CSV File for Carmen Grades*: rows match on
  Student, ID or SIS User ID; new columns become new assignments; an uploaded score overwrites). ``ID``
  is the Canvas user id from the download's names; the SIS columns are left empty.
  Feedback: ``<assignment>-feedback.zip`` for the assignment's *Re-Upload Submissions*, entries named
  ``<name>_<user id>_<file id>_<notebook>-feedback.html``: Canvas reads the first two numbers of a
  name as the user and one of their submitted files (canvas-lms ``Assignment#infer_comment_context_from_filename``)
  and attaches the file to that student's submission as a comment.
* **Moodle** — per assignment, ``<assignment>-grading-worksheet.csv`` in the layout of the assignment's
  *offline grading worksheet* (*Upload grading worksheet*): ``Identifier`` = ``Participant <id>`` (the id
  in the download's folder names), ``Grade``, ``Last modified (grade)`` (all three required), ``Feedback
  comments`` (mod/assign/feedback/offline/importgradeslib.php). It matches on the participant id the
  download used, so no e-mail or username has to be mapped. Feedback: ``<assignment>-feedback-files.zip``
  for *Upload multiple feedback files in a zip*, entries
  ``<Full Name>_<id>_assignsubmission_file_/<notebook>-feedback.html``
  (mod/assign/feedback/file/importziplib.php splits the path at ``_`` into name, participant id and plugin).
* **Blackboard** (Original Grade Center, *Work Offline → Upload*) — ``grade-center-upload.csv``, every
  field quoted, ``Last Name, First Name, Username`` then one column per assignment; the Username matches
  the student, a column header ending ``|<column id>`` matches an existing column, one without an id
  creates a column (Blackboard Help, *Uploading or Downloading Grade Center Items for Working Offline*).
  The default header ``<assignment> [Total Pts: N Score]`` is what Blackboard's own download writes. Its
  Grade Center has no bulk upload of feedback files: ``feedback/<username>.zip`` holds each student's
  feedback, to attach to their attempt.

``--column ASSIGNMENT=HEADER`` names an assignment's column as the LMS knows it (``Part 1 (4567)`` for
Canvas, ``Part 1 [Total Pts: 20 Score] |123456`` for Blackboard); Moodle's worksheet is per assignment
and needs none. Scores are the kit's points: make the LMS column out of the same maximum (printed).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from finetune_kit.grading import identities, intake

LMS_NAMES = {"canvas": "Canvas", "moodle": "Moodle", "blackboard": "Blackboard"}
FOLDER = "lms"
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"  # as Canvas's exporter writes it (its leading spaces included)
MOODLE_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]
BLACKBOARD_COLUMNS = ["Last Name", "First Name", "Username"]
SHOWN = 10  # submissions named in the summary's list of those still to hand-grade
_NEEDED = ["student", "name", "assignment", "status", "score", "max_score", "auto_score", "needs_manual_grade"]


@dataclass
class Grade:
    """One row of ``grades.csv``: a student's points for one assignment."""

    student: str
    name: str
    assignment: str
    status: str
    score: float | None  # None: nothing in the gradebook (left blank in the LMS file: no change there)
    max_score: float | None
    auto_score: float | None
    needs_manual_grade: bool


@dataclass
class Export:
    """What ``export`` wrote, and who could not be matched."""

    lms: str
    folder: Path
    files: list[Path]
    rows: int  # student-assignment grades written
    max_scores: dict[str, float]  # assignment -> the kit's maximum (the LMS column should be out of it)
    unknown: list[str] = field(default_factory=list)  # "student (assignment): why", one per grade left out
    pending_manual: list[str] = field(default_factory=list)  # "student (assignment)": written answers not graded yet
    refreshed: bool = False  # grades.csv was rewritten from the gradebook first


def _number(value: str, where: str, problems: list[str]) -> float | None:
    if value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        problems.append(f"{where}: {value!r} is not a number")
        return None


def read_grades(output: Path) -> list[Grade]:
    """``grades.csv`` of a graded folder, every problem named with its row and field."""
    path = Path(output) / "grades.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: give the folder `grade --output` wrote")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _NEEDED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
        grades, problems = [], []
        for number, row in enumerate(reader, start=2):  # row 1 is the header
            values = {c: _number(row[c] or "", f"{path.name} row {number}, field {c!r}", problems)
                      for c in ("score", "max_score", "auto_score")}
            if not row["student"] or not row["assignment"]:
                problems.append(f"{path.name} row {number}: fields 'student' and 'assignment' must not be empty")
            grades.append(Grade(student=row["student"], name=row["name"], assignment=row["assignment"],
                                status=row["status"], needs_manual_grade=row["needs_manual_grade"] == "True",
                                **values))
    if problems:
        raise ValueError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return grades


def refresh_from_gradebook(output: Path) -> bool:
    """Rewrite the tables from ``gradebook.db`` when it changed after them (hand-grading in formgrader)."""
    from finetune_kit.grading import report

    output = Path(output)
    db, table = output / "gradebook.db", output / "grades.csv"
    if not db.exists() or not table.exists() or db.stat().st_mtime <= table.stat().st_mtime:
        return False
    grades = read_grades(output)
    students = sorted({g.student for g in grades})
    assignments = list(dict.fromkeys(g.assignment for g in grades))
    report.write_all(output, students, assignments, identities.load(output).get("unattributed", []))
    return True


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass
class _Class:
    """What every writer needs: the grades, who is who, the columns."""

    output: Path
    lms: str
    grades: list[Grade]
    known: dict
    layouts: dict[str, list[str]]  # student -> the layouts their files came in
    assignments: list[str]
    max_scores: dict[str, float]
    headers: dict[str, str]  # assignment -> column header
    unknown: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key = {(g.student, g.assignment): g for g in self.grades}  # a lookup per cell of every file

    def students(self) -> list[str]:
        return sorted({g.student for g in self.grades})

    def grade(self, student: str, assignment: str) -> Grade | None:
        return self._by_key.get((student, assignment))

    def identity(self, student: str, assignment: str | None) -> intake.LmsIdentity | None:
        """The student's identity in this LMS for ``assignment`` (None: for the whole course, which
        Canvas's user id and Blackboard's username are); a miss is recorded in ``unknown``, named."""
        saved = self.known["students"].get(student, {}).get("assignments", {})
        mine = {a: intake.LmsIdentity(**i) for a, i in saved.items() if i.get("lms") == self.lms}
        if assignment is not None and assignment in mine:
            return mine[assignment]
        if assignment is None and len({i.user_id for i in mine.values()}) == 1:
            return next(iter(mine.values()))
        where = f" ({assignment})" if assignment else ""
        lms = LMS_NAMES[self.lms]
        if assignment is None and mine:
            why = f"files from several {lms} accounts ({', '.join(sorted({i.user_id for i in mine.values()}))})"
        elif mine:
            why = f"no {lms} file for this assignment, and {lms} participant ids are per assignment"
        else:
            others = sorted({i["lms"] for i in saved.values()})
            how = ", ".join(self.layouts.get(student, [])) or "unknown layout"
            why = (f"identified by {', '.join(LMS_NAMES.get(o, o) for o in others)} only, not {lms}" if others
                   else f"graded from files with no {lms} identity in their names ({how})")
        self.unknown.append(f"{student}{where}: {why}")
        return None

    def feedback(self, student: str, assignment: str) -> list[Path]:
        return sorted((self.output / "feedback" / student / assignment).glob("*.html"))


def _csv_text(rows: list[list[str]], quote_all: bool = False) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def _zip(path: Path, entries: dict[str, Path]) -> Path | None:
    if not entries:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in sorted(entries.items()):
            zf.write(source, name)
    return path


def _canvas(c: _Class, dest: Path) -> tuple[list[Path], int]:
    rows = [CANVAS_COLUMNS + [c.headers[a] for a in c.assignments],
            [CANVAS_POINTS_ROW, "", "", "", ""] + [_fmt(c.max_scores[a]) for a in c.assignments]]
    written, files = 0, []
    archives: dict[str, dict[str, Path]] = {a: {} for a in c.assignments}
    for student in c.students():
        who = c.identity(student, None)
        if who is None:
            continue
        scores = [c.grade(student, a) for a in c.assignments]
        rows.append([who.name, who.user_id, "", "", ""] + [_fmt(g.score) if g else "" for g in scores])
        written += sum(g is not None and g.score is not None for g in scores)
        for assignment in c.assignments:
            file_id = (identities.of(c.known, student, assignment) or who).file_id
            for page in c.feedback(student, assignment):
                archives[assignment][f"{who.name}_{who.user_id}_{file_id}_{page.stem}-feedback.html"] = page
    (dest / "canvas-gradebook.csv").write_text(_csv_text(rows), encoding="utf-8")
    files.append(dest / "canvas-gradebook.csv")
    for assignment, entries in archives.items():
        if archive := _zip(dest / f"{assignment}-feedback.zip", entries):
            files.append(archive)
    return files, written


def _moodle(c: _Class, dest: Path) -> tuple[list[Path], int]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")  # later than any grade given in Moodle before the upload
    written, files = 0, []
    for assignment in c.assignments:
        rows, entries = [MOODLE_COLUMNS], {}
        for student in c.students():
            grade = c.grade(student, assignment)
            who = c.identity(student, assignment) if grade else None
            if grade is None or who is None:
                continue
            comment = (f"{_fmt(grade.score)} of {_fmt(grade.max_score)} points "
                       f"({_fmt(grade.auto_score)} autograded); see the feedback file" if grade.score is not None
                       else "")
            rows.append([f"Participant {who.user_id}", who.name, "", "", _fmt(grade.score), _fmt(grade.max_score),
                         "Yes", "", stamp, comment])
            written += grade.score is not None
            prefix = f"{who.name.replace('_', ' ')}_{who.user_id}_assignsubmission_file_"  # Moodle splits at _
            for page in c.feedback(student, assignment):
                entries[f"{prefix}/{page.stem}-feedback.html"] = page
        sheet = dest / f"{assignment}-grading-worksheet.csv"
        sheet.write_text(_csv_text(rows), encoding="utf-8")
        files.append(sheet)
        if archive := _zip(dest / f"{assignment}-feedback-files.zip", entries):
            files.append(archive)
    return files, written


def _blackboard(c: _Class, dest: Path) -> tuple[list[Path], int]:
    rows = [BLACKBOARD_COLUMNS + [c.headers[a] for a in c.assignments]]
    written, files = 0, []
    for student in c.students():
        who = c.identity(student, None)
        if who is None:
            continue
        scores = [c.grade(student, a) for a in c.assignments]
        rows.append(["", "", who.user_id] + [_fmt(g.score) if g else "" for g in scores])
        written += sum(g is not None and g.score is not None for g in scores)
        entries = {f"{a}/{page.stem}-feedback.html": page for a in c.assignments for page in c.feedback(student, a)}
        if archive := _zip(dest / "feedback" / f"{who.user_id}.zip", entries):
            files.append(archive)
    (dest / "grade-center-upload.csv").write_text(_csv_text(rows, quote_all=True), encoding="utf-8")
    return [dest / "grade-center-upload.csv", *files], written


#: lms -> (writer, default column header for an assignment and its maximum)
WRITERS: dict[str, tuple[Callable[[_Class, Path], tuple[list[Path], int]], Callable[[str, float], str]]] = {
    "canvas": (_canvas, lambda assignment, top: assignment),
    "moodle": (_moodle, lambda assignment, top: assignment),
    "blackboard": (_blackboard, lambda assignment, top: f"{assignment} [Total Pts: {top:g} Score]"),
}


def parse_columns(pairs: list[str] | None) -> dict[str, str]:
    """``["part1_fundamentals=Part 1 (4567)"]`` -> ``{"part1_fundamentals": "Part 1 (4567)"}``."""
    out = {}
    for pair in pairs or []:
        assignment, sep, header = pair.partition("=")
        if not sep or not assignment.strip() or not header.strip():
            raise ValueError(f"--column {pair!r}: write ASSIGNMENT=HEADER, e.g. part1_fundamentals='Part 1 (4567)'")
        out[assignment.strip()] = header.strip()
    return out


def _layouts(output: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted((output / "results").glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text()).get("layouts", [])
        except ValueError:
            continue
    return out


def export(output: Path, lms: str, columns: dict[str, str] | None = None) -> Export:
    """Write ``OUTPUT/lms/<lms>/`` (see the module docstring) from a graded folder; return what was
    written and whom it could not place."""
    output = Path(output)
    if lms not in WRITERS:
        raise ValueError(f"--lms {lms!r}: choose one of {', '.join(WRITERS)}")
    refreshed = refresh_from_gradebook(output)
    grades = read_grades(output)
    if not grades:
        raise ValueError(f"{output / 'grades.csv'}: no grades to export")
    assignments = list(dict.fromkeys(g.assignment for g in grades))
    columns = columns or {}
    strangers = sorted(set(columns) - set(assignments))
    if strangers:
        raise ValueError(f"--column names {', '.join(strangers)}, not an assignment of {output / 'grades.csv'} "
                         f"({', '.join(assignments)})")
    max_scores = {a: max((g.max_score or 0.0 for g in grades if g.assignment == a), default=0.0) for a in assignments}
    writer, default_header = WRITERS[lms]
    headers = {a: columns.get(a) or default_header(a, max_scores[a]) for a in assignments}
    known = identities.load(output)
    cls = _Class(output=output, lms=lms, grades=grades, known=known, layouts=_layouts(output),
                 assignments=assignments, max_scores=max_scores, headers=headers)
    final = output / FOLDER / lms
    staging = output / FOLDER / f".{lms}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        files, rows = writer(cls, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    files = [final / f.relative_to(staging) for f in files]
    pending = [f"{g.student} ({g.assignment})" for g in grades if g.needs_manual_grade]
    return Export(lms=lms, folder=final, files=files, rows=rows, max_scores=max_scores,
                  unknown=list(dict.fromkeys(cls.unknown)), pending_manual=pending, refreshed=refreshed)


def summary(result: Export) -> list[str]:
    """What the command prints: the files, the maxima, and everyone who needs the instructor's hand."""
    lms = LMS_NAMES[result.lms]
    lines = [f"{lms}: {result.rows} grade(s) written to {result.folder}/"]
    lines += [f"  {f.relative_to(result.folder)}" for f in result.files]
    lines.append("  the LMS columns must be out of: "
                 + ", ".join(f"{a} {top:g}" for a, top in result.max_scores.items()))
    if result.refreshed:
        lines.append("  grades.csv, questions.csv and report.html were rewritten first: the gradebook had "
                     "newer points (formgrader)")
    if result.pending_manual:
        shown = ", ".join(result.pending_manual[:SHOWN]) + (", …" if len(result.pending_manual) > SHOWN else "")
        lines.append(f"  {len(result.pending_manual)} submission(s) still have written answers to grade in "
                     f"formgrader (exported without those points; grades.csv lists them all): {shown}")
    if result.unknown:
        lines.append(f"  NOT in the {lms} files, enter these by hand ({len(result.unknown)}):")
        lines += [f"    {who}" for who in result.unknown]
    return lines
