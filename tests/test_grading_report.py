"""The grader's bookkeeping around tampering: how many workers, what the progress line and questions.csv say."""

import csv
import json

from finetune_kit.grading import guard, report, runner


def test_workers_are_sized_by_cores_and_by_memory():
    gib = 1024**3
    assert runner.default_jobs(cores=8, available=64 * gib) == 8
    assert runner.default_jobs(cores=8, available=13 * gib) == 2  # 6 GiB a worker at its peak
    assert runner.default_jobs(cores=2, available=1 * gib) == 1  # never fewer than one
    assert runner.default_jobs() >= 1


def test_the_progress_line_flags_what_a_score_would_hide():
    entry = {"status": "graded", "events": [{"kind": "invalid-notebook"}, {"kind": "forged-proof"},
                                           {"kind": "shadowed-builtins"}]}
    assert runner._flags(entry) == " [forged-proof, invalid-notebook]"  # only what the report explains
    assert runner._flags({"status": "graded", "events": []}) == ""


def test_every_tampering_kind_the_guard_reports_has_words_in_the_report():
    assert set(guard.TAMPERING) <= set(report.REASONS)
    assert {"forged-proof", "audit-missing", "home-full"} <= set(report.REASONS)


def test_questions_csv_names_the_tampering_seen_at_each_question(tmp_path):
    rows = [{"student": "mallory", "name": "mallory", "assignment": "a", "status": "graded", "score": 1.0,
             "max_score": 2.0, "auto_score": 1.0, "auto_max_score": 2.0, "needs_manual_grade": False,
             "problems": "forged-proof",
             "cells": {"nb/q1_tests": [0.0, 1.0, True], "nb/q2_tests": [1.0, 1.0, True]},
             "events": [{"notebook": "nb", "cell": "q1_tests", "kind": "forged-proof", "detail": "x"},
                        {"notebook": "nb", "cell": "q1_tests", "kind": "input-transformer", "detail": "y"},
                        {"notebook": "nb", "cell": None, "kind": "audit-missing", "detail": "z"}]}]
    report.write_csvs(tmp_path, rows)
    with open(tmp_path / "questions.csv", newline="") as f:
        found = {r["cell"]: r["tampering"] for r in csv.DictReader(f)}
    assert found == {"q1_tests": "forged-proof;input-transformer", "q2_tests": ""}


def test_an_audit_is_only_believed_with_the_guards_signature():
    secret = b"s" * 32
    guard_ns = guard._make_guard(secret, {})
    text = guard_ns.audit()
    assert guard.read_audit(secret, text) == {"ran": [], "found": []}
    forged = json.dumps({"body": json.dumps({"ran": ["q1_tests"], "found": []}), "mac": "0" * 64})
    assert guard.read_audit(secret, forged) is None
    assert guard.read_audit(secret, "not json") is None
