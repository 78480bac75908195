"""Does a concept-check pick land in the answer cell in a real JupyterLab, and does formgrader open?

JupyterLab (the kit's environment, its extension on JUPYTER_PATH) runs on 127.0.0.1 with a token;
Debian's chromium, driven by Playwright, plays the student: run the notebook, pick an answer, save.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT
from finetune_kit import widgets

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOK = "part1_fundamentals.ipynb"
PICK = "A) It reduces the need for computational resources"


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


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free port with a token, serving a temp folder with the student notebook."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("chromium is missing: apt-get install -y chromium (.ci/run does it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    shutil.copy(ROOT / "notebooks" / "part1_fundamentals" / NOTEBOOK, tmp_path / NOTEBOOK)
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
def test_picking_an_answer_writes_the_answer_cell_and_formgrader_opens(lab):
    from playwright.sync_api import sync_playwright

    base, token, folder = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector("text=Python 3 (finetune-kit) | Idle", timeout=120_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            # Run All stops at the first unanswered cell, after the first picker is on screen.
            radio = page.get_by_label(PICK)
            radio.wait_for(timeout=180_000)
            radio.check()
            page.wait_for_selector("text=Written into the answer cell below", timeout=60_000)
            answer = page.locator(".jp-CodeCell", has_text="# Type one letter as a string").first
            assert "q1_benefit = 'A'" in answer.inner_text()
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            saved = ""
            while "q1_benefit = 'A'" not in saved and time.monotonic() < deadline:
                time.sleep(0.5)
                nb = json.loads((folder / NOTEBOOK).read_text())
                saved = next("".join(c["source"]) for c in nb["cells"]
                             if c["metadata"].get("nbgrader", {}).get("grade_id") == "q1_answer")
            assert "q1_benefit = 'A'" in saved and "NotImplementedError" not in saved

            page.goto(f"{base}/formgrader?token={token}")
            page.wait_for_selector("text=Manage Assignments", timeout=60_000)
        finally:
            browser.close()
