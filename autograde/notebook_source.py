"""Build the nbgrader source notebooks in ``solutions/`` from readable Python cell lists.

Why not edit the ``.ipynb`` files by hand? nbgrader's metadata (grade ids, points, locked cells)
is easy to break in JSON and hard to review in a diff. Each notebook is described in
``autograde/sources/<assignment>/<notebook>.py`` as a list ``CELLS`` made by the helpers below
(modules whose name starts with ``_`` hold shared sections and are not notebooks); run
``python autograde/notebook_source.py`` (``make sources``) to rewrite ``solutions/``. A test
checks that the committed solutions match their sources.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from pathlib import Path
from textwrap import dedent

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).resolve().parent / "sources"


def _clean(text: str) -> str:
    return dedent(text).strip("\n")


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str) -> nbformat.NotebookNode:
    """Plain prose for the student."""
    return nbformat.v4.new_markdown_cell(_clean(text))


def code(src: str, *, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """Plain code the student runs (and may change)."""
    cell = nbformat.v4.new_code_cell(_clean(src))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def answer(grade_id: str, src: str) -> nbformat.NotebookNode:
    """Code the student writes: the ``### BEGIN/END SOLUTION`` region is removed from the release."""
    cell = nbformat.v4.new_code_cell(_clean(src))
    cell.metadata.update(_nbgrader(grade_id, solution=True, grade=False, locked=False))
    return cell


def _solution_source(function) -> str:
    """A function's source with its body (after the docstring) inside nbgrader's solution markers."""
    lines = dedent(inspect.getsource(function)).rstrip("\n").split("\n")
    node = ast.parse("\n".join(lines)).body[0]
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)
    split = first.end_lineno if has_doc else first.lineno - 1  # lines 1..split stay in the release
    body = lines[split:]
    indent = " " * (len(body[0]) - len(body[0].lstrip()))
    return "\n".join([*lines[:split], f"{indent}### BEGIN SOLUTION", *body, f"{indent}### END SOLUTION"])


def solution(grade_id: str, *functions, before: str = "", after: str = "") -> nbformat.NotebookNode:
    """An answer cell made from reference functions (``autograde/reference/``): one copy of each answer.

    The student sees each signature and docstring and writes the body; the solution is the very code the
    reference's unit tests and the kit's own commands run. ``before``/``after`` add plain lines (imports).
    """
    parts = [_clean(before)] if before else []
    parts += [_solution_source(function) for function in functions]
    if after:
        parts.append(_clean(after))
    return answer(grade_id, "\n\n\n".join(parts))


def tests(grade_id: str, points: float, src: str) -> nbformat.NotebookNode:
    """An autograded, read-only test cell; ``### BEGIN/END HIDDEN TESTS`` stays out of the release."""
    cell = nbformat.v4.new_code_cell(_clean(src))
    cell.metadata.update(_nbgrader(grade_id, solution=False, grade=True, locked=True, points=points))
    return cell


def written(grade_id: str, points: float, text: str) -> nbformat.NotebookNode:
    """A manually graded prose answer: the model answer and rubric are replaced in the release."""
    cell = nbformat.v4.new_markdown_cell(_clean(text))
    cell.metadata.update(_nbgrader(grade_id, solution=True, grade=True, locked=False, points=points))
    return cell


def written_code(grade_id: str, points: float, src: str) -> nbformat.NotebookNode:
    """A manually graded answer written as code (e.g. a reflection in a string an autograded test can count)."""
    cell = nbformat.v4.new_code_cell(_clean(src))
    cell.metadata.update(_nbgrader(grade_id, solution=True, grade=True, locked=False, points=points))
    return cell


def locked_md(grade_id: str, text: str) -> nbformat.NotebookNode:
    """Instructions the student cannot edit (nbgrader restores them when grading)."""
    cell = nbformat.v4.new_markdown_cell(_clean(text))
    cell.metadata.update(_nbgrader(grade_id, solution=False, grade=False, locked=True))
    return cell


def notebook_sources() -> list[Path]:
    """Every notebook source, as ``sources/<assignment>/<notebook>.py``."""
    return sorted(p for p in SOURCES.glob("*/*.py") if not p.name.startswith("_"))


def build(source: Path) -> nbformat.NotebookNode:
    sys.path.insert(0, str(source.parent))  # sections of a notebook import each other by name
    sys.path.insert(0, str(SOURCES.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"source_{source.stem}", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(source.parent))
        sys.path.remove(str(SOURCES.parent))
    nb = nbformat.v4.new_notebook(cells=module.CELLS)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{source.stem[:12]}-{i:03d}"
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (finetune-kit)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def target(source: Path) -> Path:
    return ROOT / "solutions" / source.parent.name / f"{source.stem}.ipynb"


_MARKER_LINE = ("### BEGIN SOLUTION", "### END SOLUTION")


def _solution_lines(source: str) -> list[str]:
    """The non-blank lines a student writes: those inside the solution markers, comments excluded."""
    inside, lines = False, []
    for line in source.split("\n"):
        text = line.strip()
        if text in _MARKER_LINE:
            inside = text == _MARKER_LINE[0]
        elif inside and text and not text.startswith("#"):
            lines.append(text)
    return lines


def hands_on_stats(notebooks: list[nbformat.NotebookNode]) -> dict[str, float]:
    """How much of the course the student writes: lines of code, and autograded points on code.

    An autograded test counts as testing code when the answer cell it follows (the nearest cell above it
    that a student fills) is a code answer with a function or class in it; tests of concept-check answers
    and word counts of written answers are the rest.
    """
    lines = code_points = other_points = 0.0
    for nb in notebooks:
        last_answer = None
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                last_answer = cell
                if cell.cell_type == "code" and not meta.get("grade"):
                    lines += len(_solution_lines(cell.source))
            elif meta.get("grade") and cell.cell_type == "code":
                written = last_answer is not None and last_answer.cell_type == "code" \
                    and not last_answer.metadata["nbgrader"].get("grade") \
                    and any(ln.startswith(("def ", "class ")) for ln in last_answer.source.split("\n"))
                if written:
                    code_points += meta["points"]
                else:
                    other_points += meta["points"]
    total = code_points + other_points
    return {"student_code_lines": lines, "autograded_points": total, "code_points": code_points,
            "code_share": code_points / total if total else 0.0}


def main(argv: list[str] | None = None) -> int:
    if argv and argv[0] == "--stats":
        stats = hands_on_stats([build(source) for source in notebook_sources()])
        print(f"student-written code: {stats['student_code_lines']:.0f} lines; autograded points on code: "
              f"{stats['code_points']:g} of {stats['autograded_points']:g} ({stats['code_share']:.0%})")
        return 0
    for source in notebook_sources():
        if argv and source.parent.name not in argv:
            continue
        path = target(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(source), path)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
