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
