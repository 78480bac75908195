"""Which file is which student's notebook: reading an LMS download (a zip or a folder).

Layouts recognised (they may be mixed; a single folder wrapping everything is looked through;
``__MACOSX``, ``.ipynb_checkpoints``, hidden files and symbolic links are ignored):

==================  =====================================================================================
nbgrader            ``submitted/<student>/<assignment>/<notebook>.ipynb``
Canvas              ``<name>_<user id>_<file id>_<file>`` (also ``<name>_LATE_...``; a
                    resubmitted file is renamed ``part1_fundamentals-1.ipynb``)
Moodle              ``<Full Name>_<id>_assignsubmission_file_/<file>`` (a folder per student) or the
                    same prefix on a flat file
Blackboard          ``<Assignment>_<user>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`` (the newest attempt wins)
folder per student  ``<student>/<notebook>.ipynb`` or ``<student>/<anything>/<notebook>.ipynb``
==================  =====================================================================================

A student's zip (Canvas keeps uploads as they were) is opened in place, one level deep.

Each file keeps the identity its LMS wrote into its name (``LmsIdentity``: the Canvas user id and the
id of the uploaded file, the Moodle participant id, the Blackboard username): ``lms_export`` writes the
gradebook import and the feedback archives with them, so they must survive grading.

The assignment is decided by the notebook's name, forgiving what students and LMSs do to it
(``Part1_Fundamentals (1).ipynb``, ``part1_fundamentals-Copy1.ipynb``, ``-2`` suffixes); a notebook
renamed beyond that is recognised by the nbgrader cell ids inside it. Anything that cannot be
attributed is reported, never guessed.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: Limits on what an upload may unpack to (a zip bomb stops here, with a message).
MAX_TOTAL_BYTES = 4 * 2**30
MAX_FILE_BYTES = 256 * 2**20
MAX_FILES = 50_000

_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
_NBGRADER = "submitted"
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_(?P<plugin>[a-z]+)_(?P<rest>.*)$")
_CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9]+)(?:_(?:LATE|late))?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<rest>.+)$")
_BLACKBOARD = re.compile(r"^(?P<assign>.+)_(?P<user>[^_]+)_attempt_(?P<ts>\d{4}(?:-\d{2}){5})(?:_(?P<rest>.+))?$")
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|-\d+|[-_ ]copy\d*|[-_ ]v\d+|[-_ ]final)+$", re.IGNORECASE)


@dataclass(frozen=True)
class LmsIdentity:
    """Who a file belongs to in the LMS it was downloaded from, as its name says.

    ``user_id`` is what that LMS's grade import matches a row on: the Canvas user id (gradebook column
    ``ID``), the Moodle participant id of that assignment (grading worksheet ``Participant <id>``), the
    Blackboard username. ``file_id`` is the Canvas id of the uploaded file (its name's second number):
    Canvas's bulk re-upload of feedback files needs it back.
    """

    lms: str  # "canvas", "moodle" or "blackboard"
    user_id: str
    name: str  # as the LMS wrote it (Canvas: ``doejane``; Moodle: ``Jane Doe``; Blackboard: the username)
    file_id: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"lms": self.lms, "user_id": self.user_id, "name": self.name, "file_id": self.file_id}


@dataclass
class Candidate:
    """One file some student submitted, before duplicates are resolved."""

    path: Path
    original_name: str  # the file name the student uploaded
    layout: str
    order: tuple = ()  # newer sorts later (attempt time, resubmission number, Canvas file id)
    identity: LmsIdentity | None = None  # from the LMS file name; None for folders and nbgrader's layout


@dataclass
class Submission:
    """Everything one student handed in, mapped to the course's notebooks."""

    student: str  # the id nbgrader uses: lower-case letters, digits, ``_.-``
    name: str  # as the LMS wrote it
    layouts: set[str] = field(default_factory=set)
    files: dict[str, dict[str, Path]] = field(default_factory=dict)  # assignment -> notebook file -> path
    problems: list[str] = field(default_factory=list)
    #: assignment -> the LMS identity of the file graded for it (Moodle's participant id is per assignment)
    identities: dict[str, LmsIdentity] = field(default_factory=dict)


@dataclass
class Intake:
    submissions: dict[str, Submission]
    unattributed: list[str]  # files that belong to no recognisable student

    def layouts(self) -> list[str]:
        return sorted({layout for s in self.submissions.values() for layout in s.layouts})


def slug(name: str) -> str:
    """An nbgrader student id from whatever the LMS wrote (``"Ana María López"`` -> ``ana_maria_lopez``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9_.-]+", "_", ascii_name.strip().lower()).strip("_.-")
    return text or "student"


def safe_extract(archive: Path, dest: Path) -> Path:
    """Unpack a zip without trusting it: no absolute paths, no ``..``, no links, bounded sizes."""
    total = 0
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{archive}: not a readable zip file ({err})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_FILES:
            raise ValueError(f"{archive}: {len(members)} entries, more than the {MAX_FILES} allowed")
        for info in members:
            parts = [p for p in re.split(r"[\\/]+", info.filename) if p not in ("", ".")]
            if info.is_dir() or not parts:
                continue
            if ".." in parts or re.match(r"^[A-Za-z]:", parts[0]) or info.filename.startswith(("/", "\\")):
                raise ValueError(f"{archive}: entry {info.filename!r} points outside the archive")
            if stat.S_ISLNK(info.external_attr >> 16):
                continue  # a link could point anywhere on the grader's disk
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    total += len(chunk)
                    if written > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                        raise ValueError(f"{archive}: {info.filename!r} unpacks to more than allowed "
                                         f"({MAX_FILE_BYTES >> 20} MiB a file, {MAX_TOTAL_BYTES >> 30} GiB in all)")
                    out.write(chunk)
    return dest


def _files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(p in _SKIP_PARTS or p.startswith(".") for p in rel) or path.is_symlink() or not path.is_file():
            continue
        if any(parent.is_symlink() for parent in path.relative_to(root).parents if str(parent) != "."):
            continue
        out.append(path)
    return out


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name not in _SKIP_PARTS and not p.name.startswith(".")
            and not p.is_symlink()]


def _content_root(root: Path) -> Path:
    """Look through a folder that only wraps the class (``class.zip`` -> ``class/``).

    A lone folder is a wrapper when it holds ``submitted/``, two or more folders, or files named
    the LMS way; otherwise it is the only student's folder and stays.
    """
    while True:
        entries = _visible(root)
        if len(entries) != 1 or not entries[0].is_dir() or entries[0].name == _NBGRADER \
                or _MOODLE.match(entries[0].name):
            return root
        inner = _visible(entries[0])
        folders = [p for p in inner if p.is_dir()]
        lms_files = [p for p in inner if p.is_file() and (_CANVAS.match(p.name) or _MOODLE.match(p.name)
                                                          or _BLACKBOARD.match(p.name))]
        if any(p.name == _NBGRADER for p in folders) or len(folders) >= 2 or lms_files \
                or any(_MOODLE.match(p.name) for p in folders):
            root = entries[0]
            continue
        return root


@dataclass(frozen=True)
class Attribution:
    """Whose file a path of the download is, and what its name says."""

    key: str  # the student as the download names them
    original: str  # the file name the student uploaded
    layout: str
    order: tuple = ()
    identity: LmsIdentity | None = None


def attribute(rel: tuple[str, ...]) -> Attribution | None:
    """Whose file a path inside the download is, or None."""
    filename = rel[-1]
    if _NBGRADER in rel[:-1]:
        k = rel.index(_NBGRADER)
        if len(rel) >= k + 4:
            return Attribution(rel[k + 1], filename, "nbgrader")
    for i, part in enumerate(rel):
        match = _MOODLE.match(part)
        if match:
            original = match["rest"] if i == len(rel) - 1 else filename
            if original:
                return Attribution(match["name"], original, "moodle",
                                   identity=LmsIdentity("moodle", match["id"], match["name"]))
    match = _CANVAS.match(filename)
    if match:
        number = re.search(r"-(\d+)(?=\.[^.]+$)", match["rest"])
        return Attribution(match["name"], match["rest"], "canvas", (int(number[1]) if number else 0, int(match["sid"])),
                           LmsIdentity("canvas", match["uid"], match["name"], file_id=match["sid"]))
    match = _BLACKBOARD.match(filename)
    if match:
        if not match["rest"]:
            return None  # the attempt's receipt (.txt), not a submitted file
        return Attribution(match["user"], match["rest"], "blackboard", (match["ts"],),
                           LmsIdentity("blackboard", match["user"], match["user"]))
    if len(rel) >= 2:
        return Attribution(rel[0], filename, "folder per student")
    return None


def _normalise(name: str) -> str:
    stem = Path(name).stem if name.lower().endswith(".ipynb") else name
    return re.sub(r"[\s-]+", "_", _COPY_SUFFIX.sub("", stem.strip())).lower()


def _grade_ids(path: Path) -> set[str]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])} - {None}
    except (ValueError, AttributeError, TypeError, OSError):
        return set()


def match_notebook(candidate: Candidate, notebooks: dict[str, str], grade_ids: dict[str, set[str]]) -> str | None:
    """The course notebook (``<stem>.ipynb``) a submitted file is, by name first, then by content."""
    wanted = {stem.lower(): stem for stem in notebooks}
    key = _normalise(candidate.original_name)
    if key in wanted:
        return wanted[key]
    if not candidate.original_name.lower().endswith(".ipynb"):
        return None
    found = _grade_ids(candidate.path)
    scores = {stem: len(found & ids) for stem, ids in grade_ids.items() if ids}
    best = sorted(scores.items(), key=lambda kv: -kv[1])
    if best and best[0][1] > 0 and (len(best) == 1 or best[1][1] < best[0][1]):
        return best[0][0]
    return None


def read_submissions(source: Path, staging: Path, notebooks: dict[str, str],
                     grade_ids: dict[str, set[str]] | None = None) -> Intake:
    """Map an LMS download to students and the course's notebooks.

    ``notebooks`` maps each notebook stem of the release to its assignment; ``grade_ids`` (stem ->
    nbgrader cell ids) lets renamed notebooks be recognised by their content. ``staging`` receives
    unpacked zips.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"submissions not found: {source}")
    grade_ids = grade_ids or {}
    if source.is_dir():
        entries = _visible(source)
        if len(entries) == 1 and entries[0].is_file() and zipfile.is_zipfile(entries[0]):
            source = entries[0]  # a folder that only holds the download's zip (an Azure ML uri_folder input)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source}: give a folder or a .zip of the class's submissions")
        root = _content_root(safe_extract(source, staging / "download"))
    else:
        root = _content_root(source)

    candidates: dict[str, list[tuple[str, Candidate]]] = {}
    names: dict[str, str] = {}
    other_files: dict[str, list[str]] = {}
    unattributed: list[str] = []
    nested = 0
    for path in _files(root):
        rel = path.relative_to(root).parts
        found = attribute(rel)
        if found is None:
            unattributed.append("/".join(rel))
            continue
        key, original, layout, order, identity = found.key, found.original, found.layout, found.order, found.identity
        names.setdefault(key, key)
        if original.lower().endswith(".zip") and zipfile.is_zipfile(path):
            nested += 1
            inner_root = staging / "nested" / str(nested)
            try:
                safe_extract(path, inner_root)
            except ValueError as err:
                other_files.setdefault(key, []).append(str(err))
                continue
            for inner in _files(inner_root):
                candidates.setdefault(key, []).append(
                    (layout, Candidate(inner, inner.name, layout, order, identity)))
            continue
        candidates.setdefault(key, []).append((layout, Candidate(path, original, layout, order, identity)))

    submissions: dict[str, Submission] = {}
    taken: dict[str, str] = {}
    for key in sorted(names):
        student = slug(key)
        while student in taken and taken[student] != key:
            student = f"{student}_2"
        taken[student] = key
        sub = Submission(student=student, name=key)
        chosen: dict[str, Candidate] = {}
        clashes: set[str] = set()  # notebooks handed in by two LMS accounts under one name
        for layout, cand in candidates.get(key, []):
            sub.layouts.add(layout)
            stem = match_notebook(cand, notebooks, grade_ids)
            if stem is None:
                if cand.original_name.lower().endswith(".ipynb"):
                    sub.problems.append(f"{cand.original_name} is not a notebook of this course "
                                        f"(expected one of {', '.join(sorted(notebooks))})")
                continue
            previous = chosen.get(stem)
            if previous is not None and previous.identity and cand.identity \
                    and _who(previous) != _who(cand):  # one name, two LMS accounts
                sub.problems.append(f"{stem}.ipynb comes from two LMS accounts with the same name: "
                                    f"{previous.original_name} ({_who(previous)}) and {cand.original_name} "
                                    f"({_who(cand)}); the newer is graded, no LMS identity is kept for it: "
                                    "check which student it is")
                clashes.add(notebooks[stem])
            if previous is not None:
                newer, older = sorted([previous, cand], key=_recency)[::-1]
                sub.problems.append(f"{stem}.ipynb submitted more than once: graded {newer.original_name}, "
                                    f"ignored {older.original_name}")
                cand = newer
            chosen[stem] = cand
        for stem, cand in sorted(chosen.items()):
            sub.files.setdefault(notebooks[stem], {})[f"{stem}.ipynb"] = cand.path
        sub.identities = {a: i for a, i in _identities(sub, chosen, notebooks).items() if a not in clashes}
        sub.problems += other_files.get(key, [])
        if not chosen:
            sub.problems.append("no notebook of this course was found")
        submissions[student] = sub
    return Intake(submissions=submissions, unattributed=unattributed)


def _who(cand: Candidate) -> str:
    return f"{cand.identity.lms} {cand.identity.user_id}" if cand.identity else cand.layout


def _identities(sub: Submission, chosen: dict[str, Candidate], notebooks: dict[str, str]) -> dict[str, LmsIdentity]:
    """Assignment -> the identity of the file graded for it; a clash within one assignment is a problem
    (two notebooks of one assignment from two accounts: neither is trusted for the export)."""
    found: dict[str, set[LmsIdentity]] = {}
    for stem, cand in chosen.items():
        if cand.identity is not None:
            found.setdefault(notebooks[stem], set()).add(cand.identity)
    out = {}
    for assignment, identities in sorted(found.items()):
        if len({(i.lms, i.user_id) for i in identities}) > 1:
            sub.problems.append(f"{assignment}: its notebooks come from different LMS accounts ("
                                + ", ".join(sorted(f"{i.lms} {i.user_id}" for i in identities))
                                + "); no LMS identity is kept for it")
            continue
        out[assignment] = min(identities, key=lambda i: i.file_id)  # several files: one Canvas file id suffices
    return out


def _recency(cand: Candidate) -> tuple:
    return (cand.order, cand.path.stat().st_mtime)
