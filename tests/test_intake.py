"""Does intake map every common LMS download layout to the right student and notebook?"""

import json
import os
import zipfile

import pytest

from finetune_kit.grading import intake

NOTEBOOKS = {"part1_fundamentals": "part1_fundamentals", "part1_applications": "part1_fundamentals",
             "part2_finetuning": "part2_finetuning"}
GRADE_IDS = {"part1_fundamentals": {"q1_answer", "q1_tests"}, "part1_applications": {"qa_answer", "qa_tests"},
             "part2_finetuning": {"leaked_texts_answer"}}


def notebook(*grade_ids, text="x = 1"):
    cells = [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": g}}, "source": text, "outputs": [],
              "execution_count": None} for g in grade_ids] or [{"cell_type": "code", "metadata": {},
                                                                "source": text, "outputs": [],
                                                                "execution_count": None}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def write(root, rel, content="", mtime=None):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def read(source, tmp_path):
    return intake.read_submissions(source, tmp_path / "staging", NOTEBOOKS, GRADE_IDS)


def files(found):
    return {s: {a: sorted(nbs) for a, nbs in sub.files.items()} for s, sub in found.submissions.items()}


def test_folder_per_student_both_shapes(tmp_path):
    src = tmp_path / "class"
    write(src, "alice/part1_fundamentals.ipynb", notebook())
    write(src, "alice/part2_finetuning.ipynb", notebook())
    write(src, "bob/part1_fundamentals/part1_fundamentals.ipynb", notebook())
    write(src, "bob/part1_fundamentals/part1_applications.ipynb", notebook())
    found = read(src, tmp_path)
    assert files(found) == {
        "alice": {"part1_fundamentals": ["part1_fundamentals.ipynb"], "part2_finetuning": ["part2_finetuning.ipynb"]},
        "bob": {"part1_fundamentals": ["part1_applications.ipynb", "part1_fundamentals.ipynb"]},
    }
    assert found.layouts() == ["folder per student"]


def test_canvas_flat_zip_with_late_resubmission_and_wrapper_folder(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submissions/doejane_12345_67890_part1_fundamentals.ipynb", notebook(text="old"))
        zf.writestr("submissions/doejane_12345_67999_part1_fundamentals-1.ipynb", notebook(text="new"))
        zf.writestr("submissions/smithjohn_LATE_222_333_Part1_Fundamentals (1).ipynb", notebook())
        zf.writestr("__MACOSX/submissions/._doejane_12345_67890_part1_fundamentals.ipynb", "junk")
    found = read(archive, tmp_path)
    assert files(found) == {"doejane": {"part1_fundamentals": ["part1_fundamentals.ipynb"]},
                            "smithjohn": {"part1_fundamentals": ["part1_fundamentals.ipynb"]}}
    jane = found.submissions["doejane"]
    assert "new" in jane.files["part1_fundamentals"]["part1_fundamentals.ipynb"].read_text()
    assert any("submitted more than once" in p for p in jane.problems)
    assert found.layouts() == ["canvas"]


def test_moodle_folders_and_flat_files(tmp_path):
    src = tmp_path / "moodle"
    write(src, "Jane Doe_1001_assignsubmission_file_/part1_fundamentals.ipynb", notebook())
    write(src, "Jane Doe_1001_assignsubmission_onlinetext_/onlinetext.html", "<p>hi</p>")
    write(src, "Ana María López_1002_assignsubmission_file_part2_finetuning.ipynb", notebook())
    found = read(src, tmp_path)
    assert files(found) == {"jane_doe": {"part1_fundamentals": ["part1_fundamentals.ipynb"]},
                            "ana_maria_lopez": {"part2_finetuning": ["part2_finetuning.ipynb"]}}
    assert found.submissions["jane_doe"].name == "Jane Doe"


def test_blackboard_newest_attempt_wins(tmp_path):
    src = tmp_path / "bb"
    write(src, "Part 1_jdoe_attempt_2026-03-01-10-00-00_part1_fundamentals.ipynb", notebook(text="first"))
    write(src, "Part 1_jdoe_attempt_2026-03-02-09-00-00_part1_fundamentals.ipynb", notebook(text="second"))
    write(src, "Part 1_jdoe_attempt_2026-03-02-09-00-00.txt", "receipt")
    found = read(src, tmp_path)
    chosen = found.submissions["jdoe"].files["part1_fundamentals"]["part1_fundamentals.ipynb"]
    assert "second" in chosen.read_text()


def test_nbgrader_submitted_layout(tmp_path):
    src = tmp_path / "course"
    write(src, "submitted/alice/part1_fundamentals/part1_fundamentals.ipynb", notebook())
    write(src, "submitted/alice/part1_fundamentals/timestamp.txt", "2026-01-01 10:00:00")
    write(src, "submitted/bob/part2_finetuning/part2_finetuning.ipynb", notebook())
    found = read(src, tmp_path)
    assert files(found) == {"alice": {"part1_fundamentals": ["part1_fundamentals.ipynb"]},
                            "bob": {"part2_finetuning": ["part2_finetuning.ipynb"]}}
    assert found.layouts() == ["nbgrader"]


def test_renamed_notebook_is_recognised_by_its_cells(tmp_path):
    src = tmp_path / "class"
    write(src, "carol/my homework.ipynb", notebook("qa_answer", "qa_tests"))
    write(src, "carol/Untitled.ipynb", notebook())
    found = read(src, tmp_path)
    assert files(found) == {"carol": {"part1_fundamentals": ["part1_applications.ipynb"]}}
    assert any("Untitled.ipynb is not a notebook of this course" in p for p in found.submissions["carol"].problems)


def test_student_zip_is_opened_and_missing_work_reported(tmp_path):
    src = tmp_path / "canvas"
    src.mkdir()
    with zipfile.ZipFile(src / "leedan_1_2_homework.zip", "w") as zf:
        zf.writestr("homework/part1_fundamentals.ipynb", notebook())
    write(src, "emptyeve_3_4_notes.txt", "no notebook")
    found = read(src, tmp_path)
    assert files(found) == {"leedan": {"part1_fundamentals": ["part1_fundamentals.ipynb"]}, "emptyeve": {}}
    assert "no notebook of this course was found" in found.submissions["emptyeve"].problems


def test_hostile_zip_entries_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/part1_fundamentals.ipynb", notebook())
        zf.writestr("../../outside.ipynb", notebook())
    with pytest.raises(ValueError, match="points outside the archive"):
        read(archive, tmp_path)
    assert not (tmp_path.parent / "outside.ipynb").exists()


def test_symlinks_in_a_folder_are_ignored(tmp_path):
    src = tmp_path / "class"
    write(src, "alice/part1_fundamentals.ipynb", notebook())
    secret = write(tmp_path, "secret/part2_finetuning.ipynb", notebook())
    (src / "alice" / "part2_finetuning.ipynb").symlink_to(secret)
    found = read(src, tmp_path)
    assert files(found) == {"alice": {"part1_fundamentals": ["part1_fundamentals.ipynb"]}}


def test_not_a_download_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="submissions not found"):
        read(tmp_path / "nope", tmp_path)
    plain = write(tmp_path, "grades.txt", "not a zip")
    with pytest.raises(ValueError, match="give a folder or a .zip"):
        read(plain, tmp_path)


def test_student_ids_are_safe_and_unique():
    assert intake.slug("  Jane  Doe ") == "jane_doe"
    assert intake.slug("../../etc") == "etc"
    assert intake.slug("***") == "student"


def test_each_submission_keeps_the_lms_identity_its_file_names_carry(tmp_path):
    """Are the Canvas user and file ids, the Moodle participant id and the Blackboard username kept per
    assignment, and does a folder per student get none?"""
    src = tmp_path / "mixed"
    write(src, "doejane_12345_67890_part1_fundamentals.ipynb", notebook())
    write(src, "Ana María López_1002_assignsubmission_file_/part2_finetuning.ipynb", notebook())
    write(src, "Part 1_jbloggs_attempt_2026-03-02-09-00-00_part1_fundamentals.ipynb", notebook())
    write(src, "alice/part1_fundamentals.ipynb", notebook())
    found = read(src, tmp_path)
    ids = {s: {a: i.to_dict() for a, i in sub.identities.items()} for s, sub in found.submissions.items()}
    assert ids == {
        "doejane": {"part1_fundamentals": {"lms": "canvas", "user_id": "12345", "name": "doejane", "file_id": "67890"}},
        "ana_maria_lopez": {"part2_finetuning": {"lms": "moodle", "user_id": "1002", "name": "Ana María López",
                                                 "file_id": ""}},
        "jbloggs": {"part1_fundamentals": {"lms": "blackboard", "user_id": "jbloggs", "name": "jbloggs",
                                           "file_id": ""}},
        "alice": {},
    }


def test_two_canvas_accounts_behind_one_name_are_reported(tmp_path):
    """Canvas names files by a short name two students can share: the clash is named, not hidden."""
    src = tmp_path / "canvas"
    write(src, "smithjohn_111_501_part1_fundamentals.ipynb", notebook(), mtime=1_000)
    write(src, "smithjohn_222_502_part1_fundamentals.ipynb", notebook(), mtime=2_000)
    found = read(src, tmp_path)
    problems = found.submissions["smithjohn"].problems
    assert any("two LMS accounts" in p and "canvas 111" in p and "canvas 222" in p for p in problems), problems
    assert found.submissions["smithjohn"].identities == {}  # neither account gets the other's grade


def test_a_folder_holding_only_the_downloads_zip_is_read_as_that_zip(tmp_path):
    """An Azure ML uri_folder input made from class.zip is a folder with the zip inside."""
    (tmp_path / "input").mkdir()
    with zipfile.ZipFile(tmp_path / "input" / "class.zip", "w") as zf:
        zf.writestr("doejane_12345_67890_part1_fundamentals.ipynb", notebook())
    found = read(tmp_path / "input", tmp_path)
    assert files(found) == {"doejane": {"part1_fundamentals": ["part1_fundamentals.ipynb"]}}
    assert found.unattributed == []


def test_one_student_in_two_layouts_is_not_taken_for_two_accounts(tmp_path):
    src = tmp_path / "mixed"
    write(src, "doejane_12345_67890_part1_fundamentals.ipynb", notebook(), mtime=1_000)
    write(src, "doejane/part1_fundamentals.ipynb", notebook(), mtime=2_000)
    found = read(src, tmp_path)
    assert not any("two LMS accounts" in p for p in found.submissions["doejane"].problems)
