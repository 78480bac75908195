"""Do the committed solution notebooks match their sources in autograde/sources/?"""

import sys

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "autograde"))
import notebook_source  # noqa: E402

SOURCES = notebook_source.notebook_sources()
IDS = [f"{s.parent.name}/{s.stem}" for s in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_solution_matches_source(source):
    committed = nbformat.read(notebook_source.target(source), as_version=4)
    built = notebook_source.build(source)
    assert [(c.cell_type, c.source, c.metadata) for c in committed.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in built.cells], \
        f"{notebook_source.target(source)} is stale: run `make sources` and commit"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_every_graded_cell_has_unique_id_and_points(source):
    nb = notebook_source.build(source)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert meta["points"] > 0


def test_students_write_the_course():
    """Is the course hands-on? Students write >= 150 lines, and >= 60 % of autograded points test their code."""
    stats = notebook_source.hands_on_stats([notebook_source.build(source) for source in SOURCES])
    assert stats["student_code_lines"] >= 150, stats
    assert stats["code_share"] >= 0.6, stats


def test_hands_on_stats_count_code_answers_not_concept_checks():
    code = notebook_source.solution("f_answer", notebook_source._solution_source)  # any function will do
    checks = [notebook_source.answer("q_answer", 'q = "A"  # comment'),
              notebook_source.tests("q_tests", 1, "assert q"),
              code, notebook_source.tests("f_tests", 3, "assert f"),
              notebook_source.written_code("r_answer", 2, '### BEGIN SOLUTION\nr = """words"""\n### END SOLUTION'),
              notebook_source.tests("r_length", 1, "assert r")]
    stats = notebook_source.hands_on_stats([nbformat.v4.new_notebook(cells=checks)])
    assert stats["code_points"] == 3 and stats["autograded_points"] == 5
    assert stats["student_code_lines"] == len(notebook_source._solution_lines(code.source)) > 3
