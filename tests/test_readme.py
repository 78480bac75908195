"""Does the README's points table say what the course's notebooks carry?"""

import json
import re

from conftest import ROOT


def _points(notebook) -> tuple[float, float]:
    """(autograded, by hand): a graded code cell that is not also an answer cell is autograded."""
    auto = manual = 0.0
    for cell in json.loads(notebook.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            if cell["cell_type"] == "code" and not meta.get("solution"):
                auto += meta.get("points", 0)
            else:
                manual += meta.get("points", 0)
    return auto, manual


def test_the_points_per_notebook_table_matches_the_solutions():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (?:`(\w+)`)? *\| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \|$", readme, re.MULTILINE)
    assert rows, "README: the points table (assignment | notebook | autograded | by hand | total) is gone"
    stated, assignment = {}, None
    for name, notebook, auto, manual, total in rows:
        assignment = name or assignment
        assert int(auto) + int(manual) == int(total), f"README points table, {notebook}: the total is not the sum"
        stated[f"{assignment}/{notebook}"] = (float(auto), float(manual))
    actual = {f"{nb.parent.name}/{nb.stem}": _points(nb) for nb in sorted((ROOT / "solutions").glob("*/*.ipynb"))}
    assert stated == actual, "README's points table differs from solutions/ (update the table)"
    bold = r"\*\*(\d+)\*\*"
    course = re.search(rf"^\| \*\*course\*\* \| \| {bold} \| {bold} \| {bold} \|$", readme, re.MULTILINE)
    assert course and (float(course[1]), float(course[2])) == tuple(map(sum, zip(*actual.values(), strict=True)))
