"""A class graded in shards, on several machines, then merged: ``grade --shard I/N`` and ``grade-merge``.

``grade --shard 2/4`` grades every fourth student of the download, starting with the second (the
students' ids sorted, then dealt round-robin: deterministic for a download, and shards differ by one
student at most), into its own output folder. Everything else is the same as a whole run: the course is
prepared from the same sources, the assignments graded are those anybody in the *whole* class handed in,
so every shard grades the same assignments. When the shard is done, ``grading.json`` says what it is:

    {"version": 1, "shard": [2, 4], "students": [...this shard's], "class": [...every student of the download],
     "assignments": [...], "stamp": {"kit": ..., "sources": {...}, "reference": ..., "grader": ..., "limits": ...,
     "profile": ...}, "unattributed": [...]}

The stamp says what the grades were produced with: the kit's source (``runcache.kit_digest``), each
assignment's solution notebooks and nbgrader's version (``gradebook._fingerprint``, what the release is
built from), the reference answers Part 3's model is trained by, the grader's version and the limits and
profile. ``grade-merge`` refuses shards whose stamps differ (naming the shard and the field), shards of
different classes or counts, a shard given twice, a missing shard, and a student graded by two shards.
It then builds one graded folder exactly as a whole run leaves it: an nbgrader gradebook that receives
each shard's graded notebooks through the same check and ``SaveAutoGrades`` as a worker's
(``gradebook.merge``), points already given by hand in a shard's formgrader, ``results/``,
``submitted/``, ``autograded/``, ``feedback/``, ``as-submitted/``, ``identities.json``, and then
``grades.csv``, ``questions.csv`` and ``report.html`` from that gradebook.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from finetune_kit.grading import gradebook, identities, intake, worker

MANIFEST = "grading.json"
VERSION = 1
#: stamp field -> what a difference in it means, in the refusal
STAMP_FIELDS = {
    "kit": "another version of the kit (finetune_kit's source)",
    "sources": "another version of the course (the solution notebooks or nbgrader)",
    "reference": "other reference answers (autograde/reference/)",
    "grader": "another version of the grader",
    "limits": "other limits (--cell-timeout, --notebook-timeout, --memory, --home-size)",
    "profile": "another profile",
}


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as the command line writes it: ``2/4``)."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ValueError(f"--shard {text!r}: write I/N with 1 <= I <= N, e.g. 2/4")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def pick(self, students: list[str]) -> list[str]:
        """This shard's share of the class: the sorted ids dealt round-robin."""
        return sorted(students)[self.index - 1::self.count]


def select(found: intake.Intake, shard: Shard) -> intake.Intake:
    """The download as this shard sees it: its own students only."""
    mine = set(shard.pick(list(found.submissions)))
    return intake.Intake(submissions={s: sub for s, sub in found.submissions.items() if s in mine},
                         unattributed=found.unattributed)


def stamp(assignments: list[str], limits: dict, profile: str, grader: str) -> dict:
    """What grades depend on, field by field (see the module docstring)."""
    from finetune_kit.grading import runcache

    return {"kit": runcache.kit_digest(), "sources": {a: gradebook._fingerprint(a) for a in sorted(assignments)},
            "reference": runcache.reference_digest(), "grader": grader,
            "limits": {k: v for k, v in limits.items() if k != "threads"}, "profile": profile}


def clear_manifest(output: Path) -> None:
    """A run that starts is not finished: the manifest comes back only at its end."""
    (Path(output) / MANIFEST).unlink(missing_ok=True)


def write_manifest(output: Path, shard: Shard, roster: list[str], students: list[str], assignments: list[str],
                   stamped: dict, unattributed: list[str], merged_from: list[str] | None = None) -> Path:
    """``grading.json``; ``merged_from`` (the shards' folders) marks a ``grade-merge`` output."""
    data = {"version": VERSION, "shard": [shard.index, shard.count], "students": sorted(students),
            "class": sorted(roster), "assignments": list(assignments), "stamp": stamped,
            "unattributed": sorted(unattributed)}
    if merged_from is not None:
        data["merged_from"] = merged_from
    path = Path(output) / MANIFEST
    worker.write_json_atomic(path, data)
    return path


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise ValueError(f"{folder}: no {MANIFEST}, so not a finished `grade --shard` output (still running, "
                         "stopped, or graded before shards existed: run `grade --shard I/N` on it again)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path}: not readable JSON ({err})") from None
    for name, kind in (("shard", list), ("students", list), ("class", list), ("assignments", list), ("stamp", dict)):
        if not isinstance(data.get(name), kind):
            raise ValueError(f"{path}: field {name!r} missing or not a {kind.__name__}")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: field 'version' is {data.get('version')!r}, this kit reads {VERSION}")
    return data


@dataclass
class Merged:
    output: Path
    students: list[str]
    assignments: list[str]
    notes: list[str]  # what the merge noticed without refusing


def check(manifests: dict[Path, dict]) -> list[str]:
    """Every reason the shards do not make one class, named; empty when they do."""
    problems = []
    (first, ref), *others = manifests.items()
    for folder, data in others:
        for name in ("class", "assignments"):
            if data[name] != ref[name]:
                what = "another download (its students differ)" if name == "class" else "other assignments"
                problems.append(f"{folder}: graded {what} than {first}: field {name!r} differs")
        for name, meaning in STAMP_FIELDS.items():
            if data["stamp"].get(name) != ref["stamp"].get(name):
                problems.append(f"{folder}: graded with {meaning} than {first} (field stamp.{name})")
    counts = {tuple(d["shard"])[1] for d in manifests.values()}
    if len(counts) > 1:
        problems.append("the shards split the class differently: " + ", ".join(
            f"{f} is {d['shard'][0]}/{d['shard'][1]}" for f, d in manifests.items()))
        return problems
    count = counts.pop()
    given: dict[int, list[Path]] = {}
    for folder, data in manifests.items():
        given.setdefault(data["shard"][0], []).append(folder)
    for index, folders in sorted(given.items()):
        if len(folders) > 1:
            problems.append(f"shard {index}/{count} given twice: {', '.join(map(str, folders))}")
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in given]
    if missing:
        problems.append(f"shard(s) {', '.join(missing)} missing: grade them with `grade SUBMISSIONS --shard I/{count} "
                        "--output DIR` and pass every shard's folder")
    owner: dict[str, Path] = {}
    for folder, data in manifests.items():
        for student in data["students"]:
            if student in owner:
                problems.append(f"student {student} graded by two shards: {owner[student]} and {folder}")
            owner.setdefault(student, folder)
    ungraded = sorted(set(ref["class"]) - set(owner))
    if ungraded and not missing:
        problems.append(f"student(s) of the class graded by no shard: {', '.join(ungraded)}")
    return problems


def _copy(src: Path, dest: Path) -> None:
    if src.is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest)
    elif src.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


def _hand_given(shard_dir: Path, student: str, assignment: str) -> list[tuple[str, str, float]]:
    """(notebook, cell, points) given by hand in a shard's formgrader."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{shard_dir / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return []
        return [(nb.name, g.name, g.manual_score) for nb in submission.notebooks for g in nb.grades
                if g.manual_score is not None]


def _merge_student(here: gradebook.Course, shard_dir: Path, student: str, assignments: list[str]) -> None:
    from nbgrader.api import Gradebook

    out = here.root
    record = json.loads((shard_dir / "results" / f"{student}.json").read_text())
    for part in ("submitted", "as-submitted"):
        _copy(shard_dir / part / student, out / part / student)
    _copy(shard_dir / "logs" / f"{student}.log", out / "logs" / f"{student}.log")
    for assignment in assignments:
        graded = shard_dir / "autograded" / student / assignment
        entry = {"notebooks": {}}
        for notebook in sorted(graded.glob("*.ipynb")) if graded.is_dir() else []:
            feedback = shard_dir / "feedback" / student / assignment / f"{notebook.stem}.html"
            entry["notebooks"][notebook.stem] = {
                "autograded": notebook.relative_to(shard_dir).as_posix(),
                "feedback": feedback.relative_to(shard_dir).as_posix() if feedback.exists() else None}
        gradebook.merge(here, student, record.get("name", student), assignment, entry, shard_dir)
        given = _hand_given(shard_dir, student, assignment)
        if given:
            with Gradebook(here.db_url) as gb:
                for notebook, cell, points in given:
                    gb.find_grade(cell, notebook, assignment, student).manual_score = points
                gb.db.commit()
    (out / "results").mkdir(exist_ok=True)
    shutil.copyfile(shard_dir / "results" / f"{student}.json", out / "results" / f"{student}.json")


def _make_room(output: Path) -> None:
    """A new or empty folder, or an earlier merge (replaced whole); anything else is refused: the merge
    writes a whole class there, and a student left over from other grading would be read as this class's."""
    if output.is_dir() and any(output.iterdir()):
        earlier = output / MANIFEST
        try:
            merged_before = "merged_from" in json.loads(earlier.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            merged_before = False
        if not merged_before:
            raise ValueError(f"--output {output} is not empty and not an earlier `grade-merge` output: "
                             "give a new folder")
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)


def merge(shard_dirs: list[Path], output: Path) -> Merged:
    """One graded folder from the shards' (see the module docstring); ValueError naming every problem."""
    from finetune_kit.course import classroom
    from finetune_kit.grading import report, runcache

    folders = [Path(f).resolve() for f in shard_dirs]
    if not folders:
        raise ValueError("give the output folders of the shards to merge")
    output = Path(output).resolve()
    if output in folders:
        raise ValueError(f"--output {output} is one of the shards: merge into a new folder")
    manifests = {folder: read_manifest(folder) for folder in folders}
    problems = check(manifests)
    ref = next(iter(manifests.values()))
    assignments = ref["assignments"]
    current = {a: gradebook._fingerprint(a) for a in sorted(assignments)}
    if not problems and ref["stamp"].get("sources") != current:
        problems.append(f"this repository's course differs from the one the shards were graded with (field "
                        f"stamp.sources of {MANIFEST}): merge with the same commit of the kit")
    if problems:
        raise ValueError("cannot merge these shards:\n  " + "\n  ".join(problems))
    notes = []
    if ref["stamp"].get("kit") != runcache.kit_digest():
        notes.append("this kit's source differs from the shards' (their grades are kept as they are; the "
                     "report is written by this kit)")
    _make_room(output)
    classroom._ensure_tools_on_path()
    here = gradebook.prepare(output, assignments)
    students, known = [], {"version": identities.VERSION, "students": {}, "unattributed": ref.get("unattributed", [])}
    for folder, data in sorted(manifests.items(), key=lambda kv: kv[1]["shard"][0]):
        shard_identities = identities.load(folder)["students"]
        for student in data["students"]:
            _merge_student(here, folder, student, assignments)
            known["students"][student] = shard_identities.get(student, {"name": student, "assignments": {}})
            students.append(student)
    worker.write_json_atomic(output / identities.FILE, known)
    report.write_all(output, sorted(students), assignments, known["unattributed"])
    write_manifest(output, Shard(1, 1), ref["class"], students, assignments, ref["stamp"], known["unattributed"],
                   merged_from=[str(f) for f in sorted(manifests, key=lambda f: manifests[f]["shard"][0])])
    return Merged(output=output, students=sorted(students), assignments=assignments, notes=notes)
