"""nbgrader preprocessor for feedback: students see their grades, not the answer key.

nbgrader's autograde puts the full test cells (hidden tests included) back into the graded
notebook, and stock ``generate_feedback`` renders them as they are. This preprocessor removes the
hidden region and replaces the traceback of a failing test cell by its error name and message:
a traceback quotes the failing line, which for a hidden test is the answer key.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
WITHHELD = "(hidden tests are not shown in feedback)"


def strip_hidden(source: str) -> tuple[str, bool]:
    """Drop every hidden-test region from a cell's source; say whether there was one."""
    kept, hiding, found = [], False, False
    for line in source.split("\n"):
        if BEGIN in line:
            hiding, found = True, True
        elif END in line:
            hiding = False
        elif not hiding:
            kept.append(line)
    if found:
        kept.append(f"# {WITHHELD}")
    return "\n".join(kept), found


class StripHiddenTests(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        cell.source, had_hidden = strip_hidden(cell.source)
        if had_hidden:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}",
                                           WITHHELD]
        return cell, resources
