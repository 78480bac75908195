"""Who each student is in the LMS, saved next to the grades (``OUTPUT/identities.json``).

The download's file names are the only place the LMS identities appear (``intake.LmsIdentity``), and
exporting grades may happen days after grading (after the written answers were graded by hand in
formgrader), so every ``grade`` run writes them down for ``lms_export`` to read::

    {"version": 1,
     "students": {"doejane": {"name": "doejane",
                              "assignments": {"part1_fundamentals": {"lms": "canvas", "user_id": "12345",
                                                                      "name": "doejane", "file_id": "67890"}}}},
     "unattributed": ["notes.txt"]}

A student graded from a folder of their own or nbgrader's layout has no identity: the export names them.
"""

from __future__ import annotations

import json
from pathlib import Path

from finetune_kit.grading import intake, worker

FILE = "identities.json"
VERSION = 1


def save(output: Path, found: intake.Intake) -> Path:
    """Write every student's LMS identity per assignment (atomically: a reader never sees half a file)."""
    data = {"version": VERSION, "unattributed": sorted(found.unattributed), "students": {
        student: {"name": sub.name,
                  "assignments": {a: identity.to_dict() for a, identity in sorted(sub.identities.items())}}
        for student, sub in sorted(found.submissions.items())}}
    path = Path(output) / FILE
    worker.write_json_atomic(path, data)
    return path


def load(output: Path) -> dict:
    """The saved identities; an output graded before they were kept reads as students without any."""
    path = Path(output) / FILE
    if not path.exists():
        return {"version": VERSION, "students": {}, "unattributed": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path}: not readable JSON ({err}); rerun `grade` on the same download to rewrite it") \
            from None
    if data.get("version") != VERSION or not isinstance(data.get("students"), dict):
        raise ValueError(f"{path}: field 'version' must be {VERSION} with a 'students' object; "
                         "rerun `grade` on the same download to rewrite it")
    return data


def of(data: dict, student: str, assignment: str) -> intake.LmsIdentity | None:
    """One student's identity for one assignment, or None."""
    found = data["students"].get(student, {}).get("assignments", {}).get(assignment)
    return intake.LmsIdentity(**found) if found else None
