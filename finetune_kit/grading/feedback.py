"""nbgrader preprocessor for feedback: students see their grades, not the answer key.

nbgrader's autograde puts the full test cells (hidden tests included) back into the graded notebook,
and stock ``generate_feedback`` renders them as they are. nbgrader's own ``ClearHiddenTests`` (what
``generate_assignment`` uses) removes the hidden region; on top of it, the traceback of a failing test
cell is replaced by its error name and message: a traceback quotes the failing line, which for a hidden
test is the answer key.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests

WITHHELD = "(hidden tests are not shown in feedback)"


class WithholdHiddenTests(ClearHiddenTests):
    def preprocess_cell(self, cell, resources, index):  # noqa: ANN001, ANN201 - nbconvert's signature
        if cell.cell_type != "code":
            return cell, resources
        before = cell.source
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.source != before:  # a hidden region was removed
            cell.source += f"\n# {WITHHELD}"
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}", WITHHELD]
        return cell, resources
