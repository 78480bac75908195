"""Does `export` write what Canvas, Moodle and Blackboard import, matched to the right students?

The fixture is a small graded folder built the way `grade` leaves one: identities read by intake from
LMS file names, a grades.csv, feedback pages and result records. Each test parses the LMS file back.
"""

import csv
import io
import json
import os
import zipfile

import pytest

from finetune_kit import cli
from finetune_kit.grading import identities, intake, lms_export, report

NOTEBOOKS = {"part1_fundamentals": "part1_fundamentals", "part1_applications": "part1_fundamentals",
             "part2_finetuning": "part2_finetuning"}
#: student -> assignment -> (score, max, auto, needs manual grading)
SCORES = {
    "doejane": {"part1_fundamentals": (17, 20, 15, False), "part2_finetuning": (30, 40, 30, False)},
    "jane_doe": {"part1_fundamentals": (12.5, 20, 12.5, True), "part2_finetuning": (0, 40, 0, False)},
    "jbloggs": {"part1_fundamentals": (20, 20, 18, False), "part2_finetuning": (40, 40, 40, False)},
    "alice": {"part1_fundamentals": (9, 20, 9, False), "part2_finetuning": (10, 40, 10, False)},
}
NB = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _download(root):
    """An LMS download of four students: one per LMS layout, and one folder with no LMS identity."""
    files = {"doejane_12345_67890_part1_fundamentals.ipynb": NB,
             "doejane_12345_67891_part2_finetuning.ipynb": NB,
             "Jane Doe_1001_assignsubmission_file_/part1_fundamentals.ipynb": NB,
             "Part 1_jbloggs_attempt_2026-03-02-09-00-00_part1_fundamentals.ipynb": NB,
             "Part 1_jbloggs_attempt_2026-03-02-09-00-00_part2_finetuning.ipynb": NB,
             "alice/part1_fundamentals.ipynb": NB, "alice/part2_finetuning.ipynb": NB}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def graded(tmp_path):
    """A folder as `grade --output` leaves it (without the gradebook: grades.csv is what is exported)."""
    out = tmp_path / "graded"
    out.mkdir()
    found = intake.read_submissions(_download(tmp_path / "download"), tmp_path / "staging", NOTEBOOKS)
    identities.save(out, found)
    (out / "results").mkdir()
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=report.GRADES_COLUMNS)
        writer.writeheader()
        for student, assignments in SCORES.items():
            layouts = sorted(found.submissions[student].layouts)
            (out / "results" / f"{student}.json").write_text(json.dumps({"student": student, "layouts": layouts}))
            for assignment, (score, top, auto, manual) in assignments.items():
                writer.writerow({"student": student, "name": found.submissions[student].name,
                                 "assignment": assignment, "status": "graded", "score": score, "max_score": top,
                                 "auto_score": auto, "auto_max_score": top, "needs_manual_grade": manual})
                page = out / "feedback" / student / assignment / f"{assignment}.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(f"<p>feedback for {student}, {assignment}</p>")
    return out


def _rows(path, **kwargs):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), **kwargs))


def test_canvas_gradebook_matches_students_by_their_canvas_user_id(graded):
    result = lms_export.export(graded, "canvas", {"part1_fundamentals": "Part 1 (4567)"})
    rows = _rows(graded / "lms" / "canvas" / "canvas-gradebook.csv")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Part 1 (4567)", "part2_finetuning"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "20", "40"]
    assert rows[2:] == [["doejane", "12345", "", "", "", "17", "30"]]  # the only Canvas student
    assert result.rows == 2 and result.max_scores == {"part1_fundamentals": 20, "part2_finetuning": 40}


def test_canvas_feedback_zip_is_named_for_re_upload_submissions(graded):
    lms_export.export(graded, "canvas")
    with zipfile.ZipFile(graded / "lms" / "canvas" / "part2_finetuning-feedback.zip") as zf:
        assert zf.namelist() == ["doejane_12345_67891_part2_finetuning-feedback.html"]  # user id, then its file id
        assert "feedback for doejane, part2_finetuning" in zf.read(zf.namelist()[0]).decode()


def test_moodle_worksheet_per_assignment_keyed_by_participant_id(graded):
    result = lms_export.export(graded, "moodle")
    sheet = _rows(graded / "lms" / "moodle" / "part1_fundamentals-grading-worksheet.csv")
    assert sheet[0] == lms_export.MOODLE_COLUMNS
    header = sheet[0]
    (row,) = [dict(zip(header, r, strict=True)) for r in sheet[1:]]
    assert (row["Identifier"], row["Full name"], row["Grade"], row["Maximum Grade"]) == \
        ("Participant 1001", "Jane Doe", "12.5", "20")
    assert row["Last modified (grade)"] and "12.5 of 20 points" in row["Feedback comments"]
    assert "jane_doe (part1_fundamentals)" in result.pending_manual  # written answers not yet hand-graded
    with zipfile.ZipFile(graded / "lms" / "moodle" / "part1_fundamentals-feedback-files.zip") as zf:
        assert zf.namelist() == ["Jane Doe_1001_assignsubmission_file_/part1_fundamentals-feedback.html"]


def test_blackboard_upload_matches_on_username_with_every_field_quoted(graded):
    lms_export.export(graded, "blackboard", {"part2_finetuning": "Part 2 [Total Pts: 40 Score] |99123"})
    path = graded / "lms" / "blackboard" / "grade-center-upload.csv"
    rows = _rows(path)
    assert rows == [["Last Name", "First Name", "Username", "part1_fundamentals [Total Pts: 20 Score]",
                     "Part 2 [Total Pts: 40 Score] |99123"], ["", "", "jbloggs", "20", "40"]]
    assert path.read_text().startswith('"Last Name","First Name","Username"')
    with zipfile.ZipFile(graded / "lms" / "blackboard" / "feedback" / "jbloggs.zip") as zf:
        assert sorted(zf.namelist()) == ["part1_fundamentals/part1_fundamentals-feedback.html",
                                         "part2_finetuning/part2_finetuning-feedback.html"]


def test_students_without_an_identity_in_that_lms_are_named_not_dropped(graded):
    result = lms_export.export(graded, "canvas")
    unknown = "\n".join(result.unknown)
    assert "alice: graded from files with no Canvas identity in their names (folder per student)" in unknown
    assert "jane_doe: identified by Moodle only, not Canvas" in unknown
    assert "jbloggs: identified by Blackboard only, not Canvas" in unknown
    assert len(result.unknown) == 3
    # Moodle's participant ids are per assignment: no Moodle file for Part 2 means no row there, named
    moodle = lms_export.export(graded, "moodle")
    assert any(u.startswith("jane_doe (part2_finetuning): no Moodle file for this assignment") for u in moodle.unknown)


def test_the_command_lists_the_unmatched_and_exits_1(graded, capsys):
    assert cli.main(["export", str(graded), "--lms", "blackboard"]) == 1
    printed = capsys.readouterr().out
    assert "NOT in the Blackboard files, enter these by hand (3)" in printed
    assert "alice: graded from files with no Blackboard identity" in printed
    assert "part1_fundamentals 20, part2_finetuning 40" in printed


def test_a_bad_grades_csv_is_refused_naming_row_and_field(graded):
    text = (graded / "grades.csv").read_text().splitlines()
    text[3] = text[3].replace(",12.5,", ",twelve,", 1)
    (graded / "grades.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(ValueError, match=r"grades.csv row 4, field 'score': 'twelve' is not a number"):
        lms_export.export(graded, "canvas")
    assert not (graded / "lms" / "canvas").exists()  # nothing written


def test_bad_column_options_are_clear_errors(graded):
    with pytest.raises(ValueError, match="write ASSIGNMENT=HEADER"):
        lms_export.parse_columns(["Part 1 (4567)"])
    with pytest.raises(ValueError, match="part9 , not an assignment|names part9"):
        lms_export.export(graded, "canvas", {"part9": "Part 9"})
    with pytest.raises(FileNotFoundError, match="grades.csv not found"):
        lms_export.export(graded / "nope", "canvas")


def test_a_gradebook_changed_after_grades_csv_is_read_first(graded, monkeypatch):
    """Points given by hand in formgrader land in gradebook.db: the tables are rewritten from it first."""
    calls = []
    monkeypatch.setattr(report, "write_all", lambda *args: calls.append(args))
    db = graded / "gradebook.db"
    db.write_bytes(b"")
    os.utime(db, (1, 1))  # older than grades.csv: nothing to refresh
    assert not lms_export.export(graded, "canvas").refreshed and not calls
    os.utime(db)  # hand-graded just now
    os.utime(graded / "grades.csv", (1, 1))
    assert lms_export.export(graded, "canvas").refreshed
    (output, students, assignments, _unattributed), = calls
    assert output == graded and students == sorted(SCORES) and assignments == ["part1_fundamentals", "part2_finetuning"]


def test_an_output_graded_before_identities_were_kept_names_everyone(graded):
    (graded / "identities.json").unlink()
    result = lms_export.export(graded, "canvas")
    assert len(result.unknown) == len(SCORES)
