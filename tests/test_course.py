"""Does the nbgrader course work end to end: release, autograde, feedback?"""

import re

import nbformat
import pytest

from conftest import ROOT
from finetune_kit.course import classroom

pytestmark = pytest.mark.slow
ASSIGNMENTS = classroom.available_assignments()


def _cells(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def _notebook_names(assignment):
    return [p.name for p in classroom.assignment_notebooks(ROOT / "solutions" / assignment)]


def _solution_lines(assignment):
    """Every non-trivial line inside a BEGIN/END SOLUTION or HIDDEN TESTS region of the source."""
    cells = []
    for name in _notebook_names(assignment):
        cells += nbformat.read(ROOT / "solutions" / assignment / name, as_version=4).cells
    lines = []
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "markdown":
            lines += [ln for ln in cell.source.splitlines() if len(ln.strip()) > 20]
        inside = False
        for line in cell.source.splitlines():
            if re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line):
                inside = "BEGIN" in line
            elif inside and len(line.strip()) > 8 and not re.fullmatch(r'\w+ = """', line.strip()):
                lines.append(line)  # an opening `name = """` alone carries no answer
    return lines


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    classroom.release(ASSIGNMENTS, release_dir=out, work_dir=tmp_path_factory.mktemp("work"))
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_up_to_date(fresh_release, assignment):
    released = classroom.assignment_notebooks(ROOT / "notebooks" / assignment)
    assert _notebook_names(assignment) == [p.name for p in released]
    for name in _notebook_names(assignment):
        assert _cells(ROOT / "notebooks" / assignment / name) == _cells(fresh_release / assignment / name), \
            "notebooks/ is stale: run `make release` and commit"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solutions_or_answer_key(assignment, tmp_path):
    """The hand-out's scanner (any telling line of a solution region or hidden test) finds nothing."""
    import shutil

    from finetune_kit.course import handout

    for name in _notebook_names(assignment):
        text = (ROOT / "notebooks" / assignment / name).read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME", "Model answer", "Rubric"):
            assert marker not in text, f"{marker!r} in notebooks/{assignment}/{name}"
    shutil.copytree(ROOT / "notebooks" / assignment, tmp_path / "notebooks" / assignment)
    assert handout.scan(tmp_path) == [], f"solution lines found in notebooks/{assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_earn_full_marks_and_release_earns_zero(tmp_path, assignment):
    classroom.submit(ROOT / "solutions" / assignment, "teacher", assignment, tmp_path)
    classroom.submit(ROOT / "notebooks" / assignment, "blank", assignment, tmp_path)
    full = classroom.autograde("teacher", assignment, tmp_path)
    blank = classroom.autograde("blank", assignment, tmp_path)
    assert full.auto_max > 0
    assert full.auto_score == full.auto_max, full.by_cell
    assert blank.auto_score == 0, blank.by_cell

    feedback_dir = classroom.feedback("blank", assignment, tmp_path)
    html = "".join(p.read_text() for p in feedback_dir.glob("*.html"))
    assert "BEGIN HIDDEN TESTS" not in html and "hidden tests are not shown" in html
    hidden = [ln for ln in _solution_lines(assignment) if ln.strip().startswith("assert")]
    assert not [ln for ln in hidden if ln.strip() in html]
