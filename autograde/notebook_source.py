"""Build the nbgrader source notebooks in ``solutions/`` from jupytext percent files.

Each notebook is written as ``autograde/sources/<assignment>/<notebook>.py`` in jupytext's percent format:
``# %%`` starts a code cell, ``# %% [markdown]`` a markdown one, and nbgrader's metadata (grade id,
points, locked, solution) sits in the cell's header as JSON, where a diff shows it. An instructor opens
the file in JupyterLab (jupytext, installed with the kit, shows it as a notebook), runs it, and ruff lints
it with the rest of the repository. ``make sources`` (``python autograde/notebook_source.py``) writes
``solutions/`` with jupytext; a test checks that the committed solutions match their sources.

An answer cell whose header names ``reference`` functions (``reference=["evaluation.choose_threshold"]``)
takes their code from ``autograde/reference/``: one copy of each answer, the very code the reference's
unit tests and the kit's own commands run. ``make sources`` writes those functions back into the percent
file too, so the file always runs as it will be graded; the student sees each signature and docstring and
writes the body (nbgrader's solution markers).
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path
from textwrap import dedent

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).resolve().parent / "sources"
FORMAT = "py:percent"
# The kernel azure/setup_instance.sh, the hand-out's README and the Makefile register: a notebook that
# names it opens in the kit's environment (``python3`` would be the instance's default environment).
KERNEL_NAME = "finetune-kit"
KERNELSPEC = {"display_name": "Python (finetune-kit)", "language": "python", "name": KERNEL_NAME}


def notebook_sources() -> list[Path]:
    """Every notebook source, as ``sources/<assignment>/<notebook>.py``."""
    return sorted(SOURCES.glob("*/*.py"))


def target(source: Path) -> Path:
    return ROOT / "solutions" / source.parent.name / f"{source.stem}.ipynb"


def _solution_source(function) -> str:  # noqa: ANN001 - any function
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


def _reference_function(name: str):  # noqa: ANN202
    from finetune_kit.course import reference

    module, _, function = name.partition(".")
    return getattr(reference.load(module), function)


def with_reference(source: str, names: list[str]) -> str:
    """``source`` with each named reference function's definition replaced by the reference's current one."""
    for name in names:
        function = _reference_function(name)
        lines = source.split("\n")
        node = next((n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                     and n.name == function.__name__), None)
        if node is None:
            raise ValueError(f"the cell names {name} as its reference but defines no {function.__name__}")
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        end = node.end_lineno
        while end < len(lines) and lines[end].strip() == "### END SOLUTION":
            end += 1
        source = "\n".join([*lines[:start], *_solution_source(function).split("\n"), *lines[end:]])
    return source


def read(source: Path) -> nbformat.NotebookNode:
    """The percent file as a notebook, its reference answers brought up to date."""
    nb = jupytext.read(source, fmt=FORMAT)
    for cell in nb.cells:
        if "reference" in cell.metadata:
            cell.source = with_reference(cell.source, cell.metadata["reference"])
    return nb


def build(source: Path) -> nbformat.NotebookNode:
    """The nbgrader source notebook (``solutions/``) for one percent file."""
    nb = read(source)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("reference", None)
        cell["id"] = f"{source.stem[:12]}-{i:03d}"
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info={"name": "python"})
    return nb


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
        fresh = jupytext.writes(read(source), fmt=FORMAT)
        if fresh != source.read_text(encoding="utf-8"):  # a reference answer changed: the file follows
            source.write_text(fresh, encoding="utf-8")
            print(f"wrote {source.relative_to(ROOT)} (reference answers)")
        path = target(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(source), path)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
