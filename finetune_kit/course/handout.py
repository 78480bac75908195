"""The students' hand-out: what students receive, built from the instructor's repository without an answer.

Two repositories exist. The instructor's (this one) holds the solutions, the reference answers, the hidden
tests, the grader and the sample class. The hand-out holds only what a student needs to open, run and
submit the course: the released notebooks (``notebooks/``), the package without the grader's side, the
data, the Azure ML specs, the environment files and a README written for students
(``autograde/handout/README.md``).

``build`` copies an explicit list of paths (never "everything but"), then ``scan`` reads every file of
the copy for what must never reach a student: a solution region's text, a hidden test, a rubric line,
the reference answers' code, or a path of the instructor's tree. A hand-out that fails the scan is not
written; a previous one is replaced only by a complete, clean one (built aside, then renamed).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from finetune_kit.course.config import REPO_ROOT

#: What the hand-out holds, as paths of the repository (copied to the same place).
CONTENTS = ("notebooks", "finetune_kit", "data", "azure", "environment.yml", "requirements.txt",
            "pyproject.toml", ".amlignore", ".gitignore")

#: The grader's side of the package: no released notebook imports it, and the grading code quotes
#: nbgrader's markers, which the scan rejects. ``python -m finetune_kit <command>`` says these commands
#: belong to the instructor's repository.
INSTRUCTOR_ONLY = ("finetune_kit/grading", "finetune_kit/grading/feedback.py", "finetune_kit/course/classroom.py",
                   "finetune_kit/course/handout.py", "finetune_kit/commands/grade.py",
                   "finetune_kit/commands/export.py", "finetune_kit/commands/grade_merge.py",
                   "finetune_kit/commands/release.py",
                   "finetune_kit/commands/demo.py", "finetune_kit/commands/handout.py",
                   "azure/grade")

#: Never copied, wherever they are: caches and build leftovers.
JUNK = ("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints", "*.egg-info", ".DS_Store", ".pytest_cache",
        ".ruff_cache")

#: The student README (instructor material, copied into the hand-out as README.md).
README_TEMPLATE = Path("autograde", "handout", "README.md")
#: Where the README's table of notebooks and points goes.
POINTS_PLACEHOLDER = "{{points_table}}"
#: Written into a hand-out folder, so that ``build`` replaces only a folder it made itself.
MARKER = ".finetune-kit-handout"

#: Folders and files of the instructor's tree that no path of the hand-out may contain.
FORBIDDEN_PARTS = frozenset({"autograde", "solutions", "tests", "benchmarks", ".ci", ".git", "gradebook.db",
                             "examples", "graded", "reference", "grading"})
#: Text that marks an answer, a hidden test or a grading guide, wherever it appears.
MARKERS = tuple((re.compile(rf"\b{marker}\b"), f"{what} ({marker!r})") for marker, what in (
    ("BEGIN SOLUTION", "an nbgrader solution marker"), ("END SOLUTION", "an nbgrader solution marker"),
    ("BEGIN HIDDEN TESTS", "an nbgrader hidden-test marker"), ("END HIDDEN TESTS", "an nbgrader hidden-test marker")))
RUBRIC = re.compile(r"\bRubric\b")
IMPORT = re.compile(r"(import \S|from \S+ import )")
#: A Python file leaks an answer when it holds at least this share of the answer's telling lines.
GROUP_SHARE = 0.5
#: A secret line shorter than this (spaces collapsed) is too common to tell anything (``return model``).
MIN_SECRET_CHARS = 20


class HandoutLeak(ValueError):
    """The hand-out would contain an answer, a hidden test, a rubric or an instructor's file."""


@dataclass(frozen=True)
class Finding:
    """Something in the hand-out that must not be there."""

    path: str  # inside the hand-out, with / separators
    line: int | None
    what: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.what}"


@dataclass
class Secrets:
    """What must not appear in a hand-out, as lines with their spaces collapsed.

    ``lines`` (line -> where it comes from) are the solution regions' and hidden tests' lines: any one of
    them in any file but Python source is a leak. ``groups`` (origin -> its lines) are whole solution
    regions, hidden tests and reference functions: Python files are checked against these, because the
    kit's own code shares single generic lines with the answers (``start = time.perf_counter()``) but
    never most of an answer.
    """

    lines: dict[str, str] = field(default_factory=dict)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(self, lines: Iterable[str], origin: str, *, single: bool) -> None:
        kept = frozenset(key for key in map(_normalise, lines) if _telling(key))
        if kept:
            self.groups[origin] = kept | self.groups.get(origin, frozenset())
        if single:
            for key in kept:
                self.lines.setdefault(key, origin)


def _telling(key: str) -> bool:
    """Whether a line (spaces collapsed) can tell an answer: long enough, and not an import."""
    return len(key) >= MIN_SECRET_CHARS and not IMPORT.match(key)


def _normalise(line: str) -> str:
    return " ".join(line.split())


# --- what is secret ----------------------------------------------------------------------------------------


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _regions(cell: dict) -> tuple[list[str], list[str]]:
    """A source cell's lines split into (secret, public): solution regions and hidden tests are secret.

    Mirrors nbgrader's ClearSolutions and RemoveHidden: a solution cell without markers is all answer.
    """
    lines = _source(cell).split("\n")
    if _nbgrader(cell).get("solution") and not any("BEGIN SOLUTION" in line for line in lines):
        return lines, []
    secret, public, inside = [], [], None
    for line in lines:
        if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
            inside = line
        elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
            inside = None
        elif inside is not None:
            secret.append(line)
        else:
            public.append(line)
    return secret, public


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _reference_bodies(path: Path) -> Iterator[tuple[str, int, list[str]]]:
    """(name, first line, body lines) of every function of a reference module, its docstring left out.

    Signatures and docstrings are what the released answer cells show; the bodies are the answers.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str)
            start = first.end_lineno if has_doc else first.lineno - 1
            yield node.name, node.lineno, lines[start:node.end_lineno]


def secrets(repo: Path = REPO_ROOT) -> Secrets:
    """The solution regions, hidden tests and reference functions of ``repo``, as telling lines.

    A line the instructor also shows to students (outside those regions, in any source notebook) is not
    a secret: a visible test and its hidden part often share a line.
    """
    regions: list[tuple[list[str], str, bool]] = []
    public: set[str] = set()
    for notebook in sorted((repo / "solutions").glob("*/*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            secret, shown = _regions(cell)
            public.update(_normalise(line) for line in shown)
            grade_id = _nbgrader(cell).get("grade_id", f"cell {index}")
            regions.append((secret, f"{notebook.relative_to(repo).as_posix()} ({grade_id})", True))
    for module in sorted((repo / "autograde" / "reference").glob("*.py")):
        regions += [(lines, f"{module.relative_to(repo).as_posix()}:{first} ({name})", False)
                    for name, first, lines in _reference_bodies(module)]
    result = Secrets()
    for lines, origin, single in regions:
        result.add([line for line in lines if _normalise(line) not in public], origin, single=single)
    return result


# --- the scan ----------------------------------------------------------------------------------------------


def _files(handout: Path) -> Iterator[tuple[str, bytes]]:
    """(relative path, bytes) of every file of a hand-out folder or zip (a zip's top folder dropped)."""
    if handout.is_dir():
        for path in sorted(handout.rglob("*")):
            if path.is_file():
                yield path.relative_to(handout).as_posix(), path.read_bytes()
        return
    with zipfile.ZipFile(handout) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                yield PurePosixPath(*PurePosixPath(info.filename).parts[1:]).as_posix(), archive.read(info)


def _text_lines(name: str, data: bytes) -> list[str] | None:
    """A file's lines to scan; a notebook's are its cells' sources and text outputs. None for binary data."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
        except ValueError:
            return text.split("\n")
        lines = []
        for cell in cells:
            lines += _source(cell).split("\n")
            for output in cell.get("outputs", []):
                for value in [output.get("text", "")] + list(output.get("data", {}).values()):
                    lines += (value if isinstance(value, str) else "".join(map(str, value))).split("\n")
        return lines + text.split("\n")  # the raw JSON too: metadata can carry text
    return text.split("\n")


def scan(handout: Path, known: Secrets | None = None, repo: Path = REPO_ROOT) -> list[Finding]:
    """Everything in a hand-out (folder or zip) that must not reach a student; empty when it is clean."""
    known = secrets(repo) if known is None else known
    findings: list[Finding] = []
    for name, data in _files(Path(handout)):
        bad = FORBIDDEN_PARTS.intersection(PurePosixPath(name).parts)
        if bad:
            findings.append(Finding(name, None, f"a path of the instructor's tree ({', '.join(sorted(bad))})"))
        lines = _text_lines(name, data)
        if lines is not None:
            findings += _scan_lines(name, lines, known)
    return list(dict.fromkeys(findings))  # a notebook's line found in its source and its JSON counts once


def _scan_lines(name: str, lines: list[str], known: Secrets) -> list[Finding]:
    findings = []
    keys = [_normalise(line) for line in lines]
    single = not name.endswith(".py")  # see Secrets: Python files are checked answer by answer
    for number, (line, key) in enumerate(zip(lines, keys, strict=True), start=1):
        number = None if name.endswith(".ipynb") else number  # a notebook's lines are not its file's
        for marker, what in MARKERS:
            if marker.search(line):
                findings.append(Finding(name, number, what))
        if RUBRIC.search(line):
            findings.append(Finding(name, number, "a rubric line"))
        if single and key in known.lines:
            findings.append(Finding(name, number, f"a line of {known.lines[key]}: {line.strip()!r}"))
    present = set(keys)
    for origin, group in known.groups.items():
        hits = group & present
        if hits and len(hits) >= GROUP_SHARE * len(group) and (single or len(hits) >= min(3, len(group))):
            first = min(keys.index(key) for key in hits) + 1
            findings.append(Finding(name, None if name.endswith(".ipynb") else first,
                                    f"{len(hits)} of the {len(group)} lines of {origin}"))
    return findings


# --- the build ---------------------------------------------------------------------------------------------


def _ignore(repo: Path):
    """A ``shutil.copytree`` ignore function: junk anywhere and the instructor-only paths."""
    skipped = {repo / path for path in INSTRUCTOR_ONLY}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {name for name in names
                if any(fnmatch.fnmatch(name, pattern) for pattern in JUNK) or Path(folder, name) in skipped}

    return ignore


def points_table(notebooks: Iterable[Path], root: Path) -> str:
    """A Markdown table: each released notebook, its autograded points and its points graded by hand."""
    rows = ["| notebook | autograded points | points graded by hand |", "|---|---:|---:|"]
    for notebook in notebooks:
        auto = by_hand = 0.0
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            meta = _nbgrader(cell)
            if meta.get("grade"):
                points = float(meta.get("points", 0))
                if meta.get("solution"):
                    by_hand += points
                else:
                    auto += points
        if auto or by_hand:
            rows.append(f"| `{notebook.relative_to(root).as_posix()}` | {auto:g} | {by_hand:g} |")
        else:
            rows.append(f"| `{notebook.relative_to(root).as_posix()}` | practice, no points | |")
    return "\n".join(rows)


def _assemble(repo: Path, staging: Path) -> None:
    for item in CONTENTS:
        source = repo / item
        if source.is_dir():
            shutil.copytree(source, staging / item, ignore=_ignore(repo))
        elif source.is_file():
            shutil.copy2(source, staging / item)
        else:
            raise FileNotFoundError(f"{source}: the hand-out needs it")
    released = sorted((staging / "notebooks").glob("*/*.ipynb"))
    names = {p.relative_to(staging / "notebooks").as_posix() for p in released}
    sources = {p.relative_to(repo / "solutions").as_posix() for p in (repo / "solutions").glob("*/*.ipynb")}
    if not released or names != sources:
        stale = [f"notebooks/{n} has no source notebook" for n in sorted(names - sources)]
        stale += [f"notebooks/{n} is missing" for n in sorted(sources - names)]
        raise FileNotFoundError(f"{repo / 'notebooks'}: the student release does not match solutions/ "
                                f"({'; '.join(stale) or 'no notebook'}): run `make release` first")
    template = (repo / README_TEMPLATE).read_text(encoding="utf-8")
    (staging / "README.md").write_text(template.replace(POINTS_PLACEHOLDER, points_table(released, staging)),
                                       encoding="utf-8")


def _check_output(output: Path, repo: Path) -> None:
    for item in CONTENTS:
        source = (repo / item).resolve()
        if output == source or source in output.parents or output in source.parents:
            raise ValueError(f"{output}: the hand-out cannot be written over or inside {source}")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).is_file():
        raise ValueError(f"{output}: not empty and not a hand-out this command wrote; choose another --output")


def build(output: Path, repo: Path = REPO_ROOT) -> Path:
    """Write the hand-out to ``output``: a folder, or a zip when the name ends in ``.zip``.

    Raises ``HandoutLeak`` (and writes nothing) when the scan finds anything; an existing hand-out at
    ``output`` is replaced only once the new one is complete.
    """
    repo = Path(repo).resolve()
    output = Path(output).absolute()
    as_zip = output.suffix == ".zip"
    _check_output(output, repo)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        staging = work / (output.stem if as_zip else output.name)
        staging.mkdir()
        _assemble(repo, staging)
        findings = scan(staging, secrets(repo), repo)
        if findings:
            shown = "\n  ".join(str(f) for f in findings[:20])
            more = f"\n  ... and {len(findings) - 20} more" if len(findings) > 20 else ""
            raise HandoutLeak(f"the hand-out was not written: {len(findings)} thing(s) a student must not "
                              f"see:\n  {shown}{more}")
        if as_zip:
            partial = work / output.name
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(staging.rglob("*")):
                    archive.write(path, path.relative_to(work).as_posix())
            os.replace(partial, output)
        else:
            (staging / MARKER).write_text("finetune-kit student hand-out (python -m finetune_kit handout)\n")
            previous = work / "previous"
            if output.exists():  # swap: the old one moves aside, the new one takes its name
                output.rename(previous)
            try:
                staging.rename(output)
            except OSError:
                if previous.exists():
                    previous.rename(output)
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output


def summary(handout: Path) -> tuple[int, int]:
    """(number of files, total bytes) of a hand-out folder or zip, as a student unpacks it."""
    sizes = [len(data) for _, data in _files(handout)]
    return len(sizes), sum(sizes)
