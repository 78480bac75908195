"""Does the instructor see the student's own saved outputs, safely, linked from the report?"""

import base64
import json

from finetune_kit.grading import report, submitted_view

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def _submitted(output, student="ana", assignment="part2_finetuning", cells=None, text=None):
    path = output / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else json.dumps(
        {"cells": cells or [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_the_page_shows_the_students_own_outputs_and_runs_nothing(tmp_path):
    cells = [
        {"cell_type": "markdown", "source": "My accuracy was <b>91.2 %</b>", "metadata": {}},
        {"cell_type": "code", "execution_count": 7, "source": "print(acc)", "metadata": {}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "accuracy 0.912\n"},
            {"output_type": "display_data", "metadata": {}, "data": {
                "image/png": PNG, "text/plain": "<Figure>"}},
            {"output_type": "execute_result", "execution_count": 7, "metadata": {}, "data": {
                "text/html": "<script>steal()</script>", "application/javascript": "steal()", "text/plain": "0.912"}},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad",
             "traceback": ["\x1b[0;31mValueError\x1b[0m: bad <img src=x onerror=steal()>"]}]}]
    _submitted(tmp_path, cells=cells)
    (page,) = submitted_view.render(tmp_path, "ana", "part2_finetuning")
    assert page == tmp_path / "as-submitted" / "ana" / "part2_finetuning" / "part2_finetuning.html"
    text = page.read_text()
    assert "accuracy 0.912" in text and "In [7]: print(acc)" in text and f"data:image/png;base64,{PNG}" in text
    assert "My accuracy was &lt;b&gt;91.2 %&lt;/b&gt;" in text  # markdown shown as text, not as HTML
    assert "<script" not in text and "<img src=x" not in text
    assert "&lt;img src=x onerror=steal()&gt;" in text and "\x1b" not in text
    assert "not rendered here (application/javascript, text/html)" in text
    assert "default-src 'none'" in text  # the browser runs no script even if one slipped through


def test_an_unreadable_submission_gets_a_page_that_says_why(tmp_path):
    _submitted(tmp_path, text="{not json")
    (page,) = submitted_view.render(tmp_path, "ana", "part2_finetuning")
    assert "cannot be read as a notebook: JSONDecodeError" in page.read_text()


def test_huge_outputs_are_cut_and_a_withdrawn_notebook_leaves_no_page(tmp_path):
    cells = [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "x" * (submitted_view.MAX_TEXT + 500)}]}]
    path = _submitted(tmp_path, cells=cells)
    (page,) = submitted_view.render(tmp_path, "ana", "part2_finetuning")
    assert "(500 more characters not shown)" in page.read_text()
    path.unlink()
    assert submitted_view.render(tmp_path, "ana", "part2_finetuning") == [] and not page.exists()
    _submitted(tmp_path, cells=cells)
    submitted_view.render(tmp_path, "ana", "part2_finetuning")
    page.write_text("kept")
    assert submitted_view.render(tmp_path, "ana", "part2_finetuning", only_missing=True) == []
    assert page.read_text() == "kept"


def test_the_report_links_feedback_and_the_notebook_as_submitted(tmp_path):
    _submitted(tmp_path)
    submitted_view.render(tmp_path, "ana", "part2_finetuning")
    feedback = tmp_path / "feedback" / "ana" / "part2_finetuning" / "part2_finetuning.html"
    feedback.parent.mkdir(parents=True)
    feedback.write_text("feedback")
    row = {"student": "ana", "name": "ana", "assignment": "part2_finetuning", "status": "graded", "score": 5.0,
           "max_score": 10.0, "auto_score": 5.0, "auto_max_score": 10.0, "needs_manual_grade": False,
           "problems": "", "cells": {}, "events": [], "submission_problems": []}
    html = report.write_report(tmp_path, [row], ["part2_finetuning"], []).read_text()
    assert "href='feedback/ana/part2_finetuning/part2_finetuning.html'" in html
    assert "href='as-submitted/ana/part2_finetuning/part2_finetuning.html'>part2_finetuning as submitted" in html
