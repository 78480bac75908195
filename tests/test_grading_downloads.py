"""A class downloaded from an LMS: identities read from the file names survive grading and reach the
gradebook export (with points given by hand in formgrader), and grading it in shards merges to one run."""

import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from grading_corpus import CLASS, LIMITS, TARGET
from grading_corpus import isolated_or_skip as _isolated_or_skip
from grading_corpus import read_csv as _read_csv


@pytest.mark.slow
def test_an_lms_download_is_graded_and_exported_with_hand_given_points(tmp_path):
    """A Canvas and a Moodle student graded in one run: their identities survive grading, the report links
    each notebook as submitted, `--export canvas` matches the Canvas student and names the other, and
    points given afterwards in formgrader's gradebook reach the export."""
    _isolated_or_skip()
    from nbgrader.api import Gradebook

    nb = f"{TARGET}.ipynb"
    download = tmp_path / "download"
    (download / "Jane Roe_1001_assignsubmission_file_").mkdir(parents=True)
    perfect = nbformat.read(CLASS / "perfect" / nb, as_version=4)
    code = next(c for c in perfect.cells if c.cell_type == "code")  # what the student's own run printed
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="accuracy on my run: 0.9137\n")]
    nbformat.write(perfect, download / f"doejane_12345_67890_{nb}")
    shutil.copyfile(CLASS / "blank" / nb, download / "Jane Roe_1001_assignsubmission_file_" / nb)
    out = tmp_path / "graded"
    cmd = [sys.executable, "-m", "finetune_kit", "grade", str(download), "--output", str(out), "--jobs", "2",
           "--assignment", TARGET, "--cell-timeout", str(LIMITS.cell_timeout), "--memory", "4G", "--export", "canvas"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # one student is not on Canvas
    assert "jane_roe: identified by Moodle only, not Canvas" in done.stdout

    rows = {r["student"]: r for r in _read_csv(out / "grades.csv")}
    assert (rows["doejane"]["lms"], rows["doejane"]["lms_user_id"]) == ("canvas", "12345")
    assert (rows["jane_roe"]["lms"], rows["jane_roe"]["lms_user_id"]) == ("moodle", "1001")
    page = out / "as-submitted" / "doejane" / TARGET / f"{TARGET}.html"
    assert "accuracy on my run: 0.9137" in page.read_text()  # the student's own output, as they saved it
    assert f"href='as-submitted/doejane/{TARGET}/{TARGET}.html'" in (out / "report.html").read_text()

    gradebook_rows = list(csv.reader((out / "lms" / "canvas" / "canvas-gradebook.csv").open()))
    assert gradebook_rows[2][:2] == ["doejane", "12345"] and len(gradebook_rows) == 3
    auto = float(gradebook_rows[2][5])
    assert auto == float(rows["doejane"]["score"])
    record = json.loads((out / "results" / "doejane.json").read_text())["assignments"][TARGET]
    by_hand = sorted(key for key, (_score, _top, automatic) in record["cells"].items() if not automatic)
    notebook, cell = by_hand[0].split("/", 1)
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:  # what formgrader does when you give points
        grade = gb.find_grade(cell, notebook, TARGET, "doejane")
        grade.manual_score = grade.max_score
        gained = grade.max_score - (grade.auto_score or 0)
        gb.db.commit()
    assert gained > 0
    exported = subprocess.run([sys.executable, "-m", "finetune_kit", "export", str(out), "--lms", "canvas"],
                              capture_output=True, text=True, timeout=300)
    assert "rewritten first" in exported.stdout, exported.stdout + exported.stderr
    gradebook_rows = list(csv.reader((out / "lms" / "canvas" / "canvas-gradebook.csv").open()))
    assert float(gradebook_rows[2][5]) == auto + gained
    assert float(_read_csv(out / "grades.csv")[0]["score"]) == float(gradebook_rows[2][5])


@pytest.mark.slow
def test_four_shards_graded_side_by_side_merge_to_the_whole_class(tmp_path):
    """Grading a class as 4 shards in parallel, then `grade-merge`, gives what one run gives: the same
    grades.csv rows, the same question scores, feedback, identities and report."""
    _isolated_or_skip()
    nb = f"{TARGET}.ipynb"
    download = tmp_path / "download"
    download.mkdir()
    shutil.copyfile(CLASS / "perfect" / nb, download / f"perfectpat_12345_67890_{nb}")  # a Canvas student
    for student in ("imperfect", "blank", "corrupt_json"):
        (download / student).mkdir()
        shutil.copyfile(CLASS / student / nb, download / student / nb)
    (download / "partial").mkdir()
    shutil.copyfile(CLASS / "partial" / TARGET / nb, download / "partial" / nb)

    def grade(out, *extra):
        return [sys.executable, "-m", "finetune_kit", "grade", str(download), "--output", str(out), "--jobs", "1",
                "--assignment", TARGET, "--cell-timeout", str(LIMITS.cell_timeout), "--memory", "4G", *extra]

    running = [subprocess.Popen(grade(tmp_path / f"shard{i}", "--shard", f"{i}/4"), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for i in range(1, 5)]
    whole = subprocess.run(grade(tmp_path / "whole"), capture_output=True, text=True, timeout=1200)
    assert whole.returncode == 0, whole.stdout[-2000:] + whole.stderr[-2000:]
    for proc in running:
        log, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, log[-3000:]
    merged = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "finetune_kit", "grade-merge",
                           *(str(tmp_path / f"shard{i}") for i in (3, 1, 4, 2)), "--output", str(merged)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    shard_students = [_read_csv(tmp_path / f"shard{i}" / "grades.csv") for i in range(1, 5)]
    assert sorted(len(rows) for rows in shard_students) == [1, 1, 1, 2]
    want = _read_csv(tmp_path / "whole" / "grades.csv")
    assert len(want) == 5 and {r["student"] for r in want} >= {"perfectpat", "blank", "corrupt_json"}
    assert _read_csv(merged / "grades.csv") == want
    assert _read_csv(merged / "questions.csv") == _read_csv(tmp_path / "whole" / "questions.csv")
    assert json.loads((merged / "identities.json").read_text()) == \
        json.loads((tmp_path / "whole" / "identities.json").read_text())

    def tree(root, part):
        return sorted(p.relative_to(root).as_posix() for p in (root / part).rglob("*") if p.is_file())

    for part in ("feedback", "as-submitted", "autograded", "results"):
        assert tree(merged, part) == tree(tmp_path / "whole", part), part
    html = (merged / "report.html").read_text()
    assert all(f"<td>{r['student']}</td>" in html for r in want)

    # a shard graded under other limits is refused, naming it and what differs
    (tmp_path / "shard2" / "grading.json").write_text((tmp_path / "shard2" / "grading.json").read_text()
                                                      .replace('"cell_timeout": 20', '"cell_timeout": 30'))
    refused = subprocess.run([sys.executable, "-m", "finetune_kit", "grade-merge",
                              *(str(tmp_path / f"shard{i}") for i in range(1, 5)), "--output", str(tmp_path / "m2")],
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "shard2: graded with other limits" in refused.stderr, refused.stderr
