"""Executing course notebooks headless, the way CI and the demo do: resumable, and showing progress.

A slow machine must not throw real training away. No cell has a wall-clock limit unless one is asked for
(``cell_timeout``); the kernel's own output (the Trainer's progress in plain lines, the kit's prints) is shown
as it happens, prefixed with the notebook's name; and a notebook already executed with the same inputs
(its source, the profile, the kit's code and data) is not executed again, so rerunning the demo after a
failure resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from finetune_kit.course.config import DATA_DIR, REPO_ROOT

#: What the kernel runs when it starts (IPython's ``exec_lines``, before the first cell): the Trainer reports in
#: plain lines that reach the terminal, not in the HTML table a notebook shows (``text_progress``).
PLAIN_PROGRESS = "--IPKernelApp.exec_lines=from finetune_kit.course import text_progress; text_progress.install()"

#: Written next to an executed notebook once it ran to its end: what it was executed from.
INPUTS_SUFFIX = ".inputs.json"


class NotebookFailed(RuntimeError):
    """A notebook stopped in a cell: which notebook, which cell, why, and how to go on."""


def solution_notebooks() -> list[Path]:
    return sorted((REPO_ROOT / "solutions").glob("*/*.ipynb"))


def inputs_digest(notebook: Path, profile: str, parameters: dict | None = None) -> str:
    """Everything an execution depends on: the notebook, its parameters, the kit's code and its datasets.

    A parameter that names a file (``REAL_REVIEWS``) counts by its content too: the same path with a new
    file in it is a new input.
    """
    given = json.dumps(parameters or {}, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{profile}\0{given}\0".encode() + notebook.read_bytes())
    for name, value in sorted((parameters or {}).items()):
        if isinstance(value, (str, Path)) and Path(value).is_file():
            digest.update(f"{name}\0".encode() + Path(value).read_bytes())
    package = Path(__file__).resolve().parents[1]
    for root in (package, DATA_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def already_executed(notebook: Path, output: Path, profile: str, parameters: dict | None = None) -> bool:
    record = output.with_name(output.name + INPUTS_SUFFIX)
    try:
        return (output.is_file()
                and json.loads(record.read_text())["digest"] == inputs_digest(notebook, profile, parameters))
    except (OSError, ValueError, KeyError):
        return False


class EncryptedKernelManager(AsyncKernelManager):
    """A kernel whose sockets are encrypted (CurveZMQ keys from the manager) wherever pyzmq can.

    Since ipykernel 7 a kernel on plain TCP warns, on the terminal of whoever started it, that its traffic
    "is susceptible to eavesdropping", once per notebook of the demo; jupyter_client's ``transport_encryption``
    (off by default) provisions the keys when the kernelspec declares ``curve``, as ipykernel's does.
    """

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"


class _Prefixed:
    """A text stream that starts every line with ``prefix`` (the kernel's output, shown live)."""

    def __init__(self, stream: TextIO, prefix: str) -> None:
        self.stream, self.prefix, self.at_start = stream, prefix, True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self.at_start:
                self.stream.write(self.prefix)
            self.stream.write(piece)
            self.at_start = piece.endswith(("\n", "\r"))
        self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def execute(notebook: Path, output: Path, profile: str, *, cell_timeout: int | None = None,
            cwd: Path | None = None, show: TextIO | None = None, force: bool = False,
            say: Callable[[str], None] = print, parameters: dict | None = None) -> Path:
    """Run a notebook top to bottom with papermill, the profile as its PROFILE parameter, into ``output``.

    ``cell_timeout``: seconds a cell may run (None or 0: no limit). ``show``: where the kernel's output
    goes as it happens (default: this process's stdout). Skipped when ``output`` was executed from the
    very same inputs before, unless ``force``. It runs in its own folder unless ``cwd`` says otherwise.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if not force and already_executed(notebook, output, profile, parameters):
        say(f"  {notebook.name}: already executed with the same inputs ({output}); skipped")
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    record = output.with_name(output.name + INPUTS_SUFFIX)
    record.unlink(missing_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    live = _Prefixed(show or sys.stdout, f"  {notebook.stem} | ")
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters={"PROFILE": profile, **(parameters or {})},
            cwd=str(cwd or notebook.parent),
            kernel_name="python3", progress_bar=False, log_output=False, stdout_file=live, stderr_file=live,
            execution_timeout=cell_timeout or None, extra_arguments=[PLAIN_PROGRESS],
            kernel_manager_class=EncryptedKernelManager)
    except PapermillExecutionError as err:
        first = next((line for line in err.source.splitlines() if line.strip()), "")
        raise NotebookFailed(f"{notebook.name}: the cell starting {first!r} (cell {err.cell_index} of the executed "
                             f"copy, {output}) raised {err.ename}: {err.evalue}") from None
    except Exception as err:
        if type(err).__name__ != "CellTimeoutError":
            raise
        raise NotebookFailed(
            f"{notebook.name}: a cell ran longer than the {cell_timeout} s limit ({err}); the executed copy up to "
            f"there is {output}. Run again with a longer limit (--cell-timeout, 0 for none): the notebooks "
            "already executed are skipped") from None
    record.write_text(json.dumps({"digest": inputs_digest(notebook, profile, parameters), "profile": profile}) + "\n")
    return output


def to_html(notebook: Path) -> Path:
    """A copy anyone can open in a browser, without Jupyter."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html
