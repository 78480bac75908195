"""The notebook as the student ran it: a read-only page of their own saved outputs, never executed.

Grading re-runs every notebook under the ``smoke`` profile, so the graded copy formgrader shows has the
grader's outputs; a reflection that quotes numbers from the student's own run (their accuracy, their
loss curve) can only be checked against the outputs the student saved. This page shows those, next to
the graded notebook: ``OUTPUT/as-submitted/<student>/<assignment>/<notebook>.html`` (the submitted
``.ipynb`` itself is in ``OUTPUT/submitted/``), linked from ``report.html``.

Nothing in the file is trusted: it is read as JSON, not with nbformat's validation (a broken notebook
still shows what can be read), every text is escaped, only PNG/JPEG/GIF images whose data decode as
base64 are embedded, HTML and JavaScript outputs are not rendered (their plain-text form is shown),
outputs are cut at a size, and the page forbids scripts itself (Content-Security-Policy).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import shutil
from pathlib import Path

FOLDER = "as-submitted"
MAX_TEXT = 20_000  # characters of one output or cell shown; the rest is cut, with a note
MAX_IMAGE = 2 * 2**20  # bytes of one embedded image
_IMAGES = ("image/png", "image/jpeg", "image/gif")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STYLE = ("body{font-family:sans-serif;margin:2em;max-width:1000px}pre{white-space:pre-wrap;margin:0;"
          "padding:6px;font-size:12px}.in{background:#f5f5f5;border-left:3px solid #4c72b0}"
          ".md{background:#fffdf3;border-left:3px solid #ccb}.out{border-left:3px solid #ddd}"
          ".err{color:#a00;border-left:3px solid #c44}.note{color:#777;font-size:12px}.cell{margin:10px 0}"
          "img{max-width:100%}")
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _text(value: object) -> str:
    text = "".join(value) if isinstance(value, list) else str(value or "")
    text = _ANSI.sub("", text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"\n… ({len(text) - MAX_TEXT} more characters not shown)"
    return text


def _pre(text: str, css: str) -> str:
    return f"<pre class='{css}'>{html.escape(text)}</pre>"


def _image(mime: str, data: object) -> str | None:
    encoded = "".join(data) if isinstance(data, list) else str(data or "")
    encoded = re.sub(r"\s+", "", encoded)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) > MAX_IMAGE:
        return None
    return f"<img alt='{mime}' src='data:{mime};base64,{base64.b64encode(raw).decode()}'>"


def _output(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _pre(_text(output.get("text")), "out")
    if kind == "error":
        lines = output.get("traceback") or [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return _pre(_text("\n".join(map(str, lines)) if isinstance(lines, list) else lines), "err")
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    for mime in _IMAGES:
        if mime in data and (shown := _image(mime, data[mime])):
            return shown
    parts = []
    if "text/plain" in data:
        parts.append(_pre(_text(data["text/plain"]), "out"))
    hidden = sorted(m for m in data if m not in ("text/plain", *_IMAGES))
    if hidden:
        parts.append(f"<p class='note'>not rendered here ({html.escape(', '.join(hidden))}): "
                     "it could run code in your browser</p>")
    return "".join(parts)


def page(notebook: Path, title: str) -> str:
    """The HTML of one submitted notebook (or of why it cannot be read)."""
    head = (f"<!doctype html><meta charset='utf-8'><meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style><h1>{html.escape(title)}</h1>"
            "<p class='note'>As submitted: the outputs the student saved from their own run. Nothing here "
            "was executed by the grader; the graded notebook (re-run) is the one formgrader shows.</p>")
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8", errors="replace"))
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError("field 'cells' is not a list")
    except (OSError, ValueError, KeyError, TypeError) as err:
        return head + f"<p class='err'>{html.escape(notebook.name)} cannot be read as a notebook: " \
                      f"{html.escape(type(err).__name__)}: {html.escape(str(err))}</p>"
    body = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "code":
            count = cell.get("execution_count")
            body.append(f"<div class='cell'><pre class='in'>In [{html.escape(str(count or ' '))}]: "
                        f"{html.escape(source)}</pre>")
            body += [_output(o) for o in cell.get("outputs") or [] if isinstance(o, dict)]
            body.append("</div>")
        else:
            body.append(f"<div class='cell'>{_pre(source, 'md')}</div>")
    return head + "\n".join(body)


def render(output: Path, student: str, assignment: str, only_missing: bool = False) -> list[Path]:
    """Write the as-submitted page of each notebook in ``OUTPUT/submitted/<student>/<assignment>/``."""
    source = Path(output) / "submitted" / student / assignment
    dest = Path(output) / FOLDER / student / assignment
    if not only_missing:  # a notebook no longer submitted leaves no page behind
        shutil.rmtree(dest, ignore_errors=True)
    written = []
    for notebook in sorted(source.glob("*.ipynb")) if source.is_dir() else []:
        target = dest / f"{notebook.stem}.html"
        if only_missing and target.exists():
            continue
        dest.mkdir(parents=True, exist_ok=True)
        target.write_text(page(notebook, f"{student} — {assignment}/{notebook.name}"), encoding="utf-8")
        written.append(target)
    return written
