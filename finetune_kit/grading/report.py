"""What the instructor reads after grading: ``grades.csv``, ``questions.csv`` and ``report.html``.

Scores are read back from the instructor's gradebook (so a rerun after manual grading in formgrader
shows the manual points); statuses and reasons come from ``results/<student>.json``. The report is
one self-contained HTML file: matplotlib figures are embedded as PNG data, nothing is fetched. It links
each student's feedback and their notebooks as they submitted them (``submitted_view``: the outputs of
the student's own run, which reflections quote; grading re-runs every notebook under ``smoke``).
``grades.csv`` ends with each row's LMS identity (``identities``), the key ``lms_export`` matches on.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from finetune_kit.grading import gradebook, guard, identities, submitted_view

#: Event kinds worth an instructor's attention, with the words the report uses for them.
REASONS = {
    "invalid-notebook": "notebook file unreadable",
    "autograde-error": "nbgrader could not grade the notebook",
    "worker-failed": "grading process failed",
    "merge-refused": "graded notebook rejected (does not match the assignment)",
    "feedback-error": "feedback could not be rendered",
    "kernel-died": "kernel died (os._exit, a crash or a limit); the cell was skipped",
    "kernel-stuck": "kernel ignored the time limit; restarted",
    "kernel-broken": "a cell left the kernel unable to run code; restarted without it",
    "timeout": "cell time limit reached",
    "not-run": "cells not run (notebook time limit)",
    "output-truncated": "output over the limit was dropped",
    "no-proof": "a test cell did not run to its end (tampering?)",
    "tampering": "the grader had to repair Python or the kit before a test",
    **guard.TAMPERING,
    "home-full": "the notebooks filled their home folder (its size limit): later writes failed",
    "forged-proof": "a test's proof was not produced by the grader's run of the test (forged): scored 0",
    "audit-missing": "the kernel did not answer the grader's final audit (its machinery was changed)",
    "forged-cell": "a made-up graded cell was ignored",
    "edited-cell": "a locked cell was edited (restored)",
    "deleted-cell": "a graded cell was deleted (restored)",
    "edited-metadata": "grading metadata was edited (reset)",
}
#: The kinds that mean student code worked against the grader (``questions.csv`` names them per question).
TAMPERING_KINDS = frozenset({"tampering", *guard.TAMPERING, "forged-proof", "no-proof", "audit-missing",
                             "edited-cell", "deleted-cell", "edited-metadata", "forged-cell"})
GRADES_COLUMNS = ["student", "name", "assignment", "status", "score", "max_score", "auto_score",
                  "auto_max_score", "needs_manual_grade", "problems", "lms", "lms_user_id"]


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def load_records(output: Path, students: list[str]) -> dict[str, dict]:
    records = {}
    for student in students:
        path = output / "results" / f"{student}.json"
        if path.exists():
            records[student] = json.loads(path.read_text())
    return records


def class_table(output: Path, students: list[str], assignments: list[str]) -> list[dict]:
    """One row per student and assignment: the gradebook's scores with the run's status and reasons."""
    here = gradebook.Course(output)
    records = load_records(output, students)
    known = identities.load(output)
    rows = []
    for student in students:
        record = records.get(student, {})
        for assignment in assignments:
            entry = record.get("assignments", {}).get(assignment, {"status": "not graded", "events": []})
            scores = gradebook.read_scores(here, student, assignment)
            kinds = sorted({e["kind"] for e in entry.get("events", []) if e["kind"] in REASONS})
            identity = identities.of(known, student, assignment)
            rows.append({
                "student": student, "name": record.get("name", student), "assignment": assignment,
                "status": entry["status"], "score": scores.get("score"), "max_score": scores.get("max_score"),
                "auto_score": scores.get("auto_score"), "auto_max_score": scores.get("auto_max_score"),
                "needs_manual_grade": scores.get("needs_manual_grade"), "problems": ";".join(kinds),
                "cells": scores.get("cells", {}), "events": entry.get("events", []),
                "submission_problems": record.get("problems", []),
                "lms": identity.lms if identity else "", "lms_user_id": identity.user_id if identity else "",
            })
    return rows


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[TextIO]:
    """Write ``path`` through a temporary file renamed into place: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        yield f
    os.replace(tmp, path)


def write_csvs(output: Path, rows: list[dict]) -> None:
    with _atomic(output / "grades.csv") as f:
        writer = csv.writer(f)
        writer.writerow(GRADES_COLUMNS)
        for row in rows:
            values = [row.get(c) for c in GRADES_COLUMNS]  # a row without identity columns leaves them empty
            writer.writerow([_fmt(v) if isinstance(v, float) else ("" if v is None else str(v)) for v in values])
    with _atomic(output / "questions.csv") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "notebook", "cell", "score", "max_score", "autograded",
                         "tampering"])
        for row in rows:
            seen: dict[tuple, set[str]] = defaultdict(set)  # (notebook, cell) -> what the grader saw there
            for event in row["events"]:
                if event["kind"] in TAMPERING_KINDS and event.get("cell"):
                    seen[event.get("notebook"), event["cell"]].add(event["kind"])
            for key, (score, max_score, automatic) in sorted(row["cells"].items()):
                notebook, cell = key.split("/", 1)
                writer.writerow([row["student"], row["assignment"], notebook, cell, _fmt(score), _fmt(max_score),
                                 str(bool(automatic)).lower(), ";".join(sorted(seen[notebook, cell]))])


def _png(fig) -> str:  # noqa: ANN001 - a matplotlib Figure
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures(rows: list[dict], assignments: list[str]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    fig, axes = plt.subplots(1, len(assignments), figsize=(4.2 * len(assignments), 3), squeeze=False)
    for ax, assignment in zip(axes[0], assignments, strict=True):
        scores = [r["auto_score"] or 0 for r in rows if r["assignment"] == assignment]
        top = max((r["auto_max_score"] or 0 for r in rows if r["assignment"] == assignment), default=0)
        ax.hist(scores, bins=max(1, min(20, int(top) + 1)), range=(-0.5, top + 0.5), color="#4c72b0")
        ax.set_title(assignment, fontsize=10)
        ax.set_xlabel(f"autograded points (of {top:g})")
        ax.set_ylabel("students")
    figures.append(("Autograded totals per assignment", _png(fig)))

    for assignment in assignments:
        counts: dict[str, Counter] = defaultdict(Counter)
        for r in rows:
            if r["assignment"] != assignment:
                continue
            for key, (score, max_score, automatic) in r["cells"].items():
                if not automatic:
                    continue
                if r["status"] in ("missing", "invalid"):
                    counts[key]["not submitted"] += 1
                elif score is not None and score >= max_score:
                    counts[key]["full"] += 1
                elif score:
                    counts[key]["partial"] += 1
                else:
                    counts[key]["zero"] += 1
        if not counts:
            continue
        labels = sorted(counts)
        several = len({label.split("/", 1)[0] for label in labels}) > 1  # name the notebook when it matters
        names = [label.replace("/", ": ") if several else label.split("/", 1)[1] for label in labels]
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.2))
        left = [0] * len(labels)
        for kind, color in (("full", "#55a868"), ("partial", "#dd8452"), ("zero", "#c44e52"),
                            ("not submitted", "#aaaaaa")):
            values = [counts[label][kind] for label in labels]
            ax.barh(names, values, left=left, color=color, label=kind)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel("students")
        ax.legend(loc="lower right", fontsize=8)
        figures.append((f"{assignment}: how each autograded question went", _png(fig)))

    totals = defaultdict(float)
    for r in rows:
        totals[r["student"]] += r["auto_score"] or 0
    order = sorted(totals, key=lambda s: (totals[s], s))
    fig, ax = plt.subplots(figsize=(7, 0.25 * len(order) + 1.2))
    ax.barh(order, [totals[s] for s in order], color="#4c72b0")
    ax.set_xlabel("autograded points, all assignments")
    ax.tick_params(axis="y", labelsize=7)
    figures.append(("Per-student totals", _png(fig)))
    return figures


def write_report(output: Path, rows: list[dict], assignments: list[str], unattributed: list[str]) -> Path:
    esc = html.escape
    students = sorted({r["student"] for r in rows})
    by_student = defaultdict(dict)
    for r in rows:
        by_student[r["student"]][r["assignment"]] = r
    graded = [r for r in rows if r["status"] == "graded"]
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Class report</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}"
        "th{background:#f3f3f3}.bad{color:#b00}.muted{color:#777}img{max-width:100%}</style>",
        "<h1>Class report</h1>",
        f"<p>{len(students)} students, assignments {esc(', '.join(assignments))}; "
        f"{len(graded)} of {len(rows)} submissions graded. Written answers are graded by hand in "
        "formgrader (the <i>manual</i> points below are not included in autograded totals).</p>",
    ]
    for title, src in _figures(rows, assignments):
        parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='{src}'>")
    parts.append("<h2>Students</h2><table><tr><th>student</th>"
                 + "".join(f"<th>{esc(a)}</th>" for a in assignments)
                 + "<th>total</th><th>feedback, and the notebooks as the student ran them</th></tr>")
    for student in students:
        cells, total, links = [], 0.0, []
        for a in assignments:
            r = by_student[student].get(a, {})
            total += r.get("auto_score") or 0
            status = r.get("status", "")
            mark = f"{_fmt(r.get('auto_score') or 0)}/{_fmt(r.get('auto_max_score') or 0)}"
            if r.get("needs_manual_grade"):
                mark += " <span class='muted'>+ manual</span>"
            if status != "graded":
                mark += f" <span class='bad'>({esc(status)})</span>"
            cells.append(f"<td>{mark}</td>")
            for nb in sorted((output / "feedback" / student / a).glob("*.html")):
                links.append(f"<a href='{esc(nb.relative_to(output).as_posix())}'>{esc(nb.stem)}</a>")
            for nb in sorted((output / submitted_view.FOLDER / student / a).glob("*.html")):
                links.append(f"<a class='muted' href='{esc(nb.relative_to(output).as_posix())}'>"
                             f"{esc(nb.stem)} as submitted</a>")
        parts.append(f"<tr><td>{esc(student)}</td>{''.join(cells)}<td>{_fmt(total)}</td>"
                     f"<td>{' '.join(links)}</td></tr>")
    parts.append("</table>")
    problems = []
    for r in rows:
        if r["status"] != "graded":
            reasons = [e for e in r["events"] if e["kind"] in REASONS]
            what = r["status"] + (f": {REASONS[reasons[0]['kind']]}" if reasons else "")
            problems.append((r["student"], r["assignment"], what,
                             "; ".join(e["detail"] for e in reasons[:3]) or "no notebook for it"))
        for e in r["events"]:
            if e["kind"] in REASONS and r["status"] == "graded":
                where = " ".join(x for x in (e.get("notebook"), e.get("cell")) if x)
                problems.append((r["student"], r["assignment"], REASONS[e["kind"]], f"{where}: {e['detail']}"))
    for student in students:
        for note in next(iter(by_student[student].values()), {}).get("submission_problems", []):
            problems.append((student, "", "submission", note))
    parts.append("<h2>Failures and their reasons</h2>")
    if problems:
        parts.append("<table><tr><th>student</th><th>assignment</th><th>what</th><th>details</th></tr>")
        for student, assignment, what, detail in problems:
            parts.append(f"<tr><td>{esc(student)}</td><td>{esc(assignment)}</td><td>{esc(what)}</td>"
                         f"<td>{esc(detail)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None: every submission was graded without incident.</p>")
    if unattributed:
        parts.append("<h2>Files not attributed to any student</h2><ul>"
                     + "".join(f"<li>{esc(f)}</li>" for f in unattributed) + "</ul>")
    path = output / "report.html"
    with _atomic(path) as f:
        f.write("\n".join(parts))
    return path


def write_all(output: Path, students: list[str], assignments: list[str], unattributed: list[str]) -> Path:
    rows = class_table(output, students, assignments)
    write_csvs(output, rows)
    return write_report(output, rows, assignments, unattributed)
