"""Executing course notebooks headless, the way CI, the demo and graders do."""

from __future__ import annotations

import os
from pathlib import Path

from finetune_kit.course.config import REPO_ROOT


def solution_notebooks() -> list[Path]:
    return sorted((REPO_ROOT / "solutions").glob("*/*.ipynb"))


def execute(notebook: Path, output: Path, profile: str, *, timeout: int = 1800, cwd: Path | None = None) -> Path:
    """Run a notebook top to bottom with papermill, passing the profile as the PROFILE parameter.

    It runs in its own folder unless ``cwd`` says otherwise (a trimmed copy elsewhere)."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    papermill.execute_notebook(
        str(notebook), str(output), parameters={"PROFILE": profile}, cwd=str(cwd or notebook.parent),
        kernel_name="python3", progress_bar=False, execution_timeout=timeout, log_output=False,
    )
    return output


def to_html(notebook: Path) -> Path:
    """A copy anyone can open in a browser, without Jupyter."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html
