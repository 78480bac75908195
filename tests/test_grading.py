"""Does `python -m finetune_kit grade` grade a whole, partly hostile class correctly and safely?

One graded run of the sample class (autograde/examples/class, Part 1: the assignment every
adversarial student attacks) is shared by the whole module; each test asserts one thing about it.
The grader's run cache and warm-up are tested in test_grading_warmup.py, LMS downloads and shards in
test_grading_downloads.py.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from grading_corpus import ATTACKING, CLASS, ELSEWHERE, EXAMPLES, EXPECTED, LIMITS, STUDENTS, TARGET, TRAINING_LIMITS
from grading_corpus import isolated_or_skip as _isolated_or_skip
from grading_corpus import read_csv as _read_csv

from conftest import ROOT
from finetune_kit.grading import runner, sandbox

#: Bait an unconfined student would find next to the course: a gradebook, an answer key, a classmate.
CANARIES = {"gradebook.db": "every grade of the class",
            "answer_key.ipynb": '{"cells": [{"source": "### BEGIN SOLUTION\\nq1_benefit = \\"A\\""}]}',
            "submitted/classmate/part1_fundamentals/part1_fundamentals.ipynb": '{"cells": []}'}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _isolated_or_skip()
    bait = ROOT / "build" / f"grading-canary-{os.getpid()}"
    for rel, text in CANARIES.items():
        (bait / rel).parent.mkdir(parents=True, exist_ok=True)
        (bait / rel).write_text(text)
    out = tmp_path_factory.mktemp("graded")
    try:
        run = runner.grade_class(CLASS, out, runner.Options(jobs=os.cpu_count() or 2, limits=LIMITS,
                                                            assignments=[TARGET]))
        bait_after = {rel: (bait / rel).read_text() for rel in CANARIES}
    finally:
        shutil.rmtree(bait, ignore_errors=True)
    records = {s: json.loads((out / "results" / f"{s}.json").read_text()) for s in run.students}
    return SimpleNamespace(run=run, out=out, bait_after=bait_after, records=records,
                           rows={r["student"]: r for r in _read_csv(out / "grades.csv")})


def _outputs(graded, student: str) -> str:
    nb = nbformat.read(graded.out / "autograded" / student / TARGET / f"{TARGET}.ipynb", as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_examples_are_generated_from_the_current_course(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_examples
    finally:
        sys.path.remove(str(EXAMPLES))
    make_examples.generate(tmp_path / "class", tmp_path / "expected.json")
    fresh = {p.relative_to(tmp_path / "class"): p.read_bytes() for p in (tmp_path / "class").rglob("*") if p.is_file()}
    committed = {p.relative_to(CLASS): p.read_bytes() for p in CLASS.rglob("*") if p.is_file()}
    assert fresh == committed, "autograde/examples is stale: run `make examples` and commit"
    assert json.loads((tmp_path / "expected.json").read_text()) == EXPECTED


@pytest.mark.slow
def test_every_student_is_graded_and_the_batch_finishes(graded):
    assert graded.run.students == STUDENTS
    assert sorted(graded.rows) == STUDENTS
    for student in STUDENTS:
        status = graded.records[student]["assignments"][TARGET]["status"]
        if graded.run.isolation == "user" and student == "spy":
            # without a uid of its own, the kernel can spoil its own private gradebook: its own loss
            assert status in ("graded", "error")
            continue
        assert status == (EXPECTED["students"][student]["status"] if student in ATTACKING else "missing")


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(ATTACKING))
def test_each_submission_earns_what_it_should(graded, student):
    """Cheats earn nothing for what they tampered with; honest parts still count."""
    cells = graded.records[student]["assignments"][TARGET]["cells"]
    got = {key: score for key, (score, _max, automatic) in cells.items() if automatic}
    want = EXPECTED["students"][student]["cells"][TARGET]
    assert {k: got.get(k) or 0.0 for k in want} == want, EXPECTED["students"][student]["why"]


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s in sorted(ATTACKING) if EXPECTED["students"][s]["events"]])
def test_what_happened_is_reported(graded, student):
    kinds = {e["kind"] for e in graded.records[student]["assignments"][TARGET]["events"]}
    assert set(EXPECTED["students"][student]["events"]) <= kinds


@pytest.fixture(scope="module")
def graded_elsewhere(tmp_path_factory):
    """The attacks on other assignments than the target (Part 3's tests, where some holes were), graded for
    the assignment each attacks."""
    _isolated_or_skip()
    class_dir, out = tmp_path_factory.mktemp("elsewhere"), tmp_path_factory.mktemp("graded-elsewhere")
    for student in ELSEWHERE:
        shutil.copytree(CLASS / student, class_dir / student)
    assignments = sorted({EXPECTED["students"][s]["assignment"] for s in ELSEWHERE})
    runner.grade_class(class_dir, out, runner.Options(jobs=2, limits=LIMITS, assignments=assignments))
    return {s: json.loads((out / "results" / f"{s}.json").read_text())["assignments"][
        EXPECTED["students"][s]["assignment"]] for s in ELSEWHERE}


@pytest.mark.slow
@pytest.mark.parametrize("student", ELSEWHERE)
def test_attacks_on_other_assignments_earn_what_they_should_and_are_reported(graded_elsewhere, student):
    record, want = graded_elsewhere[student], EXPECTED["students"][student]
    assert record["status"] == want["status"], record["events"]
    got = {key: score for key, (score, _max, automatic) in record["cells"].items() if automatic}
    cells = want["cells"][want["assignment"]]
    assert {k: got.get(k) or 0.0 for k in cells} == cells, want["why"]
    assert set(want["events"]) <= {e["kind"] for e in record["events"]}


@pytest.mark.slow
def test_student_code_cannot_reach_answer_keys_gradebooks_or_the_network(graded):
    if graded.records["spy"]["assignments"][TARGET]["status"] != "graded":
        pytest.skip("isolation 'user': the spy spoiled its own private gradebook, so there is no graded copy")
    text = _outputs(graded, "spy")
    spy = json.loads(re.search(r"SPY-REPORT (\{.*\})", text)[1])
    network = json.loads(re.search(r"NETWORK-REPORT (\{.*\})", text)[1])
    own = "/tmp/"  # the job's own scratch (reachable only under isolation 'user')
    assert spy["answer_keys"] == [] and [p for p in spy["others_written"] if not p.startswith(own)] == []
    assert [p for p in spy["gradebooks_written"] if not p.startswith(own)] == []
    assert network and True not in network.values()


@pytest.mark.slow
def test_limits_stop_process_bombs_and_nothing_outlives_grading(graded):
    assert re.search(r"PROCESS-REPORT stopped after \d+ processes", _outputs(graded, "resource_hog"))
    if graded.run.isolation == "full":
        left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid >= sandbox.UID_BASE]
        assert not left, f"sandbox processes still running: {[p.name for p in left]}"


@pytest.mark.slow
def test_instructor_files_and_gradebook_are_intact(graded):
    assert graded.bait_after == CANARIES
    for student in STUDENTS:  # what each student handed in, kept untouched next to the grades
        for kept in (graded.out / "submitted" / student).rglob("*.ipynb"):
            originals = [p.read_bytes() for p in (CLASS / student).rglob("*.ipynb")]
            assert kept.read_bytes() in originals
    db = sqlite3.connect(graded.out / "gradebook.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert sorted(r[0] for r in db.execute("SELECT id FROM student")) == STUDENTS
    finally:
        db.close()
    assert (graded.out / "nbgrader_config.py").exists()  # formgrader opens the graded class


@pytest.mark.slow
def test_feedback_shows_no_hidden_tests_or_solutions(graded):
    hidden, inside = [], False
    for cell in nbformat.read(ROOT / "solutions" / TARGET / f"{TARGET}.ipynb", as_version=4).cells:
        for line in cell.source.splitlines():
            if re.search(r"### (BEGIN|END) (HIDDEN TESTS|SOLUTION)", line):
                inside = "BEGIN" in line
            elif inside and "assert" in line:
                hidden.append(line.strip())
    assert hidden
    pages = list((graded.out / "feedback").rglob("*.html"))
    assert {p.parts[-3] for p in pages} >= {"perfect", "partial", "blank", "spy"}
    for page in pages:
        html = page.read_text()
        assert "### BEGIN HIDDEN TESTS" not in html and "### BEGIN SOLUTION" not in html
        assert not [line for line in hidden if line in html], page


@pytest.mark.slow
def test_grades_csv_and_the_class_report(graded):
    perfect, blank = graded.rows["perfect"], graded.rows["blank"]
    assert float(perfect["auto_score"]) == float(perfect["auto_max_score"]) > 0
    assert float(blank["auto_score"]) == 0 and graded.rows["corrupt_json"]["status"] == "invalid"
    questions = _read_csv(graded.out / "questions.csv")
    assert {q["student"] for q in questions} == set(STUDENTS)
    html = (graded.out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # totals, per question, per student
    for words in ("Per-student totals", "how each autograded question went", "Failures and their reasons",
                  "notebook file unreadable", "kernel died", "builtins were replaced", "forged"):
        assert words in html
    assert all(f"<td>{s}</td>" in html for s in STUDENTS)
    tampering = {(q["student"], q["cell"]): q["tampering"] for q in questions}
    assert "forged-proof" in tampering["forged_proof", "q1_tests"]
    assert "rebound-name" in tampering["rebound_names", "model_class_tests"]
    assert not any(tampering[s, c] for s, c in tampering if s in ("perfect", "imperfect", "blank"))


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_grades(graded, tmp_path):
    """Kill the command after the first student is stored; the rerun finishes with the same grades."""
    students = ["always_equal", "patched_helpers", "tampered_cells"]
    class_dir = tmp_path / "class"
    for student in students:
        (class_dir / student).mkdir(parents=True)
        for path in (CLASS / student).iterdir():
            (class_dir / student / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "finetune_kit", "grade", str(class_dir), "--output", str(out), "--jobs", "1",
           "--assignment", TARGET, "--cell-timeout", str(LIMITS.cell_timeout),
           "--notebook-timeout", str(LIMITS.notebook_timeout), "--memory", "4G"]
    # this run confines its workers with unshare and the worker's own mounts (the fallback where bubblewrap
    # is missing); the shared run used bubblewrap where it is installed: the grades must be the same
    env = dict(os.environ, **{sandbox.CONFINE_ENV: "unshare"})
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=env)
    deadline = time.monotonic() + 600
    while not list((out / "results").glob("*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert 1 <= len(finished) < len(students), "the run must be killed midway"
    stamp = {s: (out / "results" / f"{s}.json").stat().st_mtime_ns for s in finished}

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(finished)} already graded" in rerun.stdout
    assert all((out / "results" / f"{s}.json").stat().st_mtime_ns == stamp[s] for s in finished)
    resumed = {r["student"]: r for r in _read_csv(out / "grades.csv")}
    assert resumed == {s: graded.rows[s] for s in students}

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert f"{len(students)} already graded, 0 to grade" in again.stdout


@pytest.mark.slow
def test_a_good_but_imperfect_student_loses_only_the_step_they_got_wrong(tmp_path):
    """Part 2, step by step: the perfect student earns every point; the imperfect one (tokenize_batch
    pads) loses that step's points only, although every later step trains on its padded batches."""
    _isolated_or_skip()
    assignment = "part2_finetuning"
    for student in ("perfect", "imperfect"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / f"{assignment}.ipynb").write_bytes(
            (CLASS / student / f"{assignment}.ipynb").read_bytes())
    out = tmp_path / "graded"
    runner.grade_class(tmp_path / "class", out, runner.Options(jobs=2, limits=TRAINING_LIMITS,
                                                                assignments=[assignment]))
    for student in ("perfect", "imperfect"):
        record = json.loads((out / "results" / f"{student}.json").read_text())["assignments"][assignment]
        assert record["status"] == "graded", record["events"]
        got = {key: score for key, (score, _max, automatic) in record["cells"].items() if automatic}
        want = EXPECTED["students"][student]["cells"][assignment]
        assert {k: got.get(k) or 0.0 for k in want} == want, (student, record["events"])
    assert want["part2_finetuning/tokenize_tests"] == 0 and sum(want.values()) > 10


def test_bad_arguments_are_clear_errors(tmp_path):
    out = subprocess.run([sys.executable, "-m", "finetune_kit", "grade", str(tmp_path / "missing"), "--output",
                          str(tmp_path / "out"), "--isolation", "none"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "submissions not found" in out.stderr


@pytest.mark.slow
def test_a_worker_stopped_at_its_deadline_is_replaced_and_the_next_student_is_graded(graded, tmp_path, monkeypatch):
    """One worker slot, two students: the first overruns a (tiny) deadline, so the slot's worker is
    killed; the next student gets a fresh worker in the same slot and the grade an uninterrupted run gives."""
    for student in ("a_slow", "b_next"):
        shutil.copytree(CLASS / "perfect", tmp_path / "class" / student)
    real = runner._deadline
    calls = []

    def deadline(options, notebooks):
        calls.append(notebooks)
        return 3 if len(calls) == 1 else real(options, notebooks)

    monkeypatch.setattr(runner, "_deadline", deadline)
    out = tmp_path / "out"
    run = runner.grade_class(tmp_path / "class", out, runner.Options(jobs=1, limits=LIMITS, assignments=[TARGET]))
    assert run.graded == ["a_slow", "b_next"] and len(calls) == 2
    rows = {r["student"]: r for r in _read_csv(out / "grades.csv")}
    slow = json.loads((out / "results" / "a_slow.json").read_text())["assignments"][TARGET]
    assert slow["status"] == "error" and "longer than 3 s" in slow["events"][0]["detail"]
    assert {k: v for k, v in rows["b_next"].items() if k not in ("student", "name")} == \
        {k: v for k, v in graded.rows["perfect"].items() if k not in ("student", "name")}
