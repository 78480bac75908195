"""Does every concept-check pick land in its answer cell in a real JupyterLab, and does formgrader open?

JupyterLab (the kit's environment, its extension on JUPYTER_PATH) runs on 127.0.0.1 with a token;
Debian's chromium, driven by Playwright, plays the student: run the pickers, pick an answer in each, save.
The pickers are found by scanning the course's solution notebooks for ``fk.widgets.choice(``, so a new
concept check anywhere in the course is covered; each is shown next to its answer cell as the student
copy has it (nbgrader's own ClearSolutions), and what the picker wrote must pass that cell's visible test.
"""

import ast
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from finetune_kit.course import widgets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOK = "pickers.ipynb"
PICKER_CALL = re.compile(r"fk\.widgets\.choice\(")


def course_pickers() -> list[dict]:
    """Every picker of the course: its variable, options, answer cell and visible test (student copies)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    found = []
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb, _ = ClearSolutions().preprocess(nb, {})
        nb, _ = ClearHiddenTests().preprocess(nb, {})
        cells = nb.cells
        for i, cell in enumerate(cells):
            if cell.cell_type != "code" or not PICKER_CALL.search(cell.source):
                continue
            call = next(node for node in ast.walk(ast.parse(cell.source))
                        if isinstance(node, ast.Call) and ast.unparse(node.func) == "fk.widgets.choice")
            name, options = ast.literal_eval(call.args[0]), ast.literal_eval(call.args[1])
            answer = next(c for c in cells[i + 1:] if c.metadata.get("nbgrader", {}).get("solution"))
            test = next(c for c in cells[i + 1:] if c.metadata.get("nbgrader", {}).get("grade"))
            # the cell the extension picks: the first solution cell that mentions the name
            target = next((c for c in cells if c.metadata.get("nbgrader", {}).get("solution")
                           and c.cell_type == "code" and name in c.source), None)
            found.append({"notebook": path.stem, "name": name, "options": options, "picker": cell,
                          "answer": answer, "test": test, "target": target})
    return found


def _label(key: object, text: str) -> str:
    return f"{key}) {text}" if isinstance(key, str) else text


def test_the_course_has_pickers_and_each_names_its_variable_in_its_answer_cell():
    pickers = course_pickers()
    assert {"q1_benefit", "q2_deploy_tool", "qa_abstractive"} <= {p["name"] for p in pickers}
    assert len({p["name"] for p in pickers}) == len(pickers), "two pickers write the same variable"
    for p in pickers:
        # the extension writes into the solution cell that mentions the name (the student copy's comment)
        assert p["name"] in p["answer"].source, f"{p['notebook']}: the answer cell of {p['name']} must name it"
        assert p["target"] is p["answer"], f"{p['notebook']}: the picker of {p['name']} would write into another cell"
        assert p["name"] in p["test"].source, f"{p['notebook']}: the test after {p['name']}'s picker does not check it"
        for key in p["options"]:  # every option the picker can write passes the answer's visible test
            namespace = {}
            exec(widgets.answer_line(p["name"], key), namespace)
            exec(p["test"].source, namespace)


def test_answer_line_and_built_extension():
    assert widgets.answer_line("q1_benefit", "A") == "q1_benefit = 'A'"
    assert widgets.answer_line("tf1_no_metrics", False) == "tf1_no_metrics = False"
    ext = widgets.LABEXTENSIONS / "labextensions" / "finetune-kit-answers"
    meta = json.loads((ext / "package.json").read_text())
    assert (ext / meta["jupyterlab"]["_build"]["load"]).exists(), "rebuild it: make labextension"
    source = json.loads((ROOT / "labextension" / "package.json").read_text())
    assert (meta["name"], meta["version"]) == (source["name"], source["version"])
    built = "".join(p.read_text() for p in (ext / "static").glob("*.js"))
    assert widgets.ANSWER_TARGET in built, "the built extension is stale: make labextension"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pickers_notebook(pickers: list[dict]) -> nbformat.NotebookNode:
    """One notebook with every picker, then every answer cell as the student gets it (Run All stops there)."""
    cells = [nbformat.v4.new_code_cell("import finetune_kit as fk")]
    cells += [p["picker"] for p in pickers] + [p["answer"] for p in pickers]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python (finetune-kit)", "language": "python", "name": "finetune-kit"}
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{k:03d}"
    return nb


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free port with a token, serving a temp folder with the student notebook."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("chromium is missing: apt-get install -y chromium (.ci/run does it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    nbformat.write(_pickers_notebook(course_pickers()), tmp_path / NOTEBOOK)
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(tmp_path / 'course')!r}\n"
        "c.CourseDirectory.course_id = 'browser-test'\n")
    port, token = _free_port(), secrets.token_hex(16)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, JUPYTER_PATH=str(widgets.LABEXTENSIONS), JUPYTER_CONFIG_DIR=str(tmp_path / ".config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / ".runtime"), PATH=bin_dir + os.pathsep + os.environ["PATH"])
    cmd = [str(Path(bin_dir) / "jupyter"), "lab", "--ServerApp.open_browser=False", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={tmp_path}", "--ServerApp.allow_root=True", "--LabApp.news_url=None"]
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, token, tmp_path
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.slow
def test_every_picker_writes_its_answer_cell_and_formgrader_opens(lab):
    from playwright.sync_api import sync_playwright

    base, token, folder = lab
    pickers = course_pickers()
    # pick the last option of each (not a default): the line the answer cell must hold afterwards
    expected = {p["name"]: widgets.answer_line(p["name"], list(p["options"])[-1]) for p in pickers}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector("text=Python (finetune-kit) | Idle", timeout=120_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            for p in pickers:
                key, text = list(p["options"].items())[-1]
                cell = page.locator(".jp-CodeCell", has_text=f'choice("{p["name"]}"')
                radio = cell.get_by_label(_label(key, text), exact=True)
                radio.wait_for(timeout=180_000)
                radio.scroll_into_view_if_needed()
                radio.check()
                cell.get_by_text("Written into the answer cell below").wait_for(timeout=60_000)
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while True:
                nb = nbformat.read(folder / NOTEBOOK, as_version=4)
                by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
                saved = {p["name"]: by_id[p["answer"].metadata["nbgrader"]["grade_id"]] for p in pickers}
                if all(expected[name] in source for name, source in saved.items()) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            for p in pickers:
                source = saved[p["name"]]
                assert expected[p["name"]] in source, f"{p['notebook']}: {p['name']}'s answer cell holds {source!r}"
                assert "NotImplementedError" not in source
                namespace = {}
                exec(source, namespace)  # the written cell runs and passes its visible test
                exec(p["test"].source, namespace)

            page.goto(f"{base}/formgrader?token={token}")
            page.wait_for_selector("text=Manage Assignments", timeout=60_000)
        finally:
            browser.close()


def test_a_pick_sets_the_answer_only_once_it_is_in_the_answer_cell(monkeypatch):
    """Outside JupyterLab no extension writes the answer cell: a pick that set the variable anyway let the visible
    check pass while the graded run, which reads only the answer cell, scored 0. Now the session gets the value
    when the extension reports the cell written, and until then the picker says what to type."""
    from types import SimpleNamespace

    import IPython

    shell = SimpleNamespace(user_ns={})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    asked = []
    monkeypatch.setattr(widgets, "write_answer_cell",
                        lambda name, value, on_written=None: asked.append((name, value, on_written)))
    picker, hint = widgets.choice("q9_answer", {"A": "one", "B": "two"}).children
    picker.value = "B"
    assert [(name, value) for name, value, _ in asked] == [("q9_answer", "B")]
    assert "q9_answer" not in shell.user_ns
    assert "Type this in the answer cell below and run it: <code>q9_answer = 'B'</code>" in hint.value
    written = asked[0][2]
    written(False)  # the front end could not write the cell
    assert "q9_answer" not in shell.user_ns
    written(True)
    assert shell.user_ns["q9_answer"] == "B"
    assert "Written into the answer cell below" in hint.value


def test_a_check_run_before_its_answer_says_to_run_the_answer_cell():
    """Without the extension a pick sets nothing, so a student who picked and ran the check got a bare NameError;
    every picker's check now says what to do."""
    for p in course_pickers():
        with pytest.raises(AssertionError, match=f"{p['name']} is not set: run the answer cell above"):
            exec(p["test"].source, {})
