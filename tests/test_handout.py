"""The students' hand-out (``finetune_kit.course.handout``): complete, answer-free, and it runs on its own."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from finetune_kit.course import handout

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def handout_dir(tmp_path_factory) -> Path:
    return handout.build(tmp_path_factory.mktemp("handout") / "course")


def _released() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*/*.ipynb"))


# --- contents and scan -----------------------------------------------------------------------------------


def test_handout_holds_what_students_need_and_nothing_of_the_instructor(handout_dir):
    """Does the hand-out hold the release, the package, data and setup files, and none of the rest?"""
    files = {p.relative_to(handout_dir).as_posix() for p in handout_dir.rglob("*") if p.is_file()}
    for needed in ("README.md", "pyproject.toml", "requirements.txt", "environment.yml", "finetune_kit/__init__.py",
                   "finetune_kit/course/reference.py", "finetune_kit/course/steps.py", "data/reviews/reviews.csv",
                   "azure/score/score.py", "azure/setup_instance.sh", "finetune_kit/course/hardware.py"):
        assert needed in files, f"{needed} is missing from the hand-out"
    assert sorted(f for f in files if f.endswith(".ipynb")) == _released(), "the hand-out's notebooks are the release"
    for name in _released():
        assert (handout_dir / name).read_bytes() == (ROOT / name).read_bytes(), f"{name} differs from the release"
    tops = {f.split("/")[0] for f in files}
    assert not tops & {"autograde", "solutions", "tests", "benchmarks", ".ci", ".git", "labextension", "outputs"}
    assert not [f for f in files if "__pycache__" in f or f.startswith(("finetune_kit/grading/", "azure/grade/"))]
    readme = (handout_dir / "README.md").read_text()
    assert handout.POINTS_PLACEHOLDER not in readme
    assert all(f"`{name.removeprefix('notebooks/')}`" in readme or f"`{name}`" in readme for name in _released())


def test_scan_finds_nothing_in_a_built_handout(handout_dir):
    assert handout.scan(handout_dir) == []


def test_scan_finds_planted_answers_hidden_tests_and_rubrics(handout_dir, tmp_path):
    """Can the scan fail? Each planted leak is found, in the file it was planted in."""
    known = handout.secrets()
    assert known.lines, "solutions/ has solution regions to look for"
    leaky = shutil.copytree(handout_dir, tmp_path / "leaky")
    notebook = leaky / _released()[0]
    nb = json.loads(notebook.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [max(known.lines, key=len) + "\n"]})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                        "source": ["### BEGIN HIDDEN TESTS\n", "assert True\n", "### END HIDDEN TESTS"]})
    notebook.write_text(json.dumps(nb))
    (leaky / "data" / "notes.md").write_text("# Rubric (2 points): mentions leakage\n")
    biggest = max(known.groups, key=lambda origin: len(known.groups[origin]))
    (leaky / "finetune_kit" / "leak.py").write_text("\n".join(sorted(known.groups[biggest])) + "\n")
    (leaky / "solutions").mkdir()
    (leaky / "solutions" / "x.txt").write_text("hello\n")

    found = {}
    for finding in handout.scan(leaky, known):
        found.setdefault(finding.path, []).append(finding.what)
    nb_name = notebook.relative_to(leaky).as_posix()
    assert any(what.startswith("a line of solutions/") for what in found.get(nb_name, [])), found
    assert any("hidden-test marker" in what for what in found.get(nb_name, [])), found
    assert found.get("data/notes.md") == ["a rubric line"]
    assert any(biggest in what for what in found.get("finetune_kit/leak.py", [])), found
    assert any("instructor's tree" in what for what in found.get("solutions/x.txt", [])), found


def _fake_repo(root: Path, package_line: str) -> Path:
    """The smallest course a hand-out can be built from; ``package_line`` goes into its package."""
    def notebook(source: str, solution: bool) -> str:
        meta = {"nbgrader": {"grade": False, "grade_id": "answer", "locked": False, "schema_version": 3,
                             "solution": solution}}
        cell = {"cell_type": "code", "metadata": meta, "outputs": [], "execution_count": None, "source": source}
        return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    for folder in ("notebooks/part", "solutions/part", "finetune_kit", "data", "azure", "autograde/handout"):
        (root / folder).mkdir(parents=True)
    answer = "    return sorted(reviews, key=len)[: len(reviews) // 2]"
    (root / "solutions/part/part.ipynb").write_text(
        notebook(f"def half(reviews):\n    ### BEGIN SOLUTION\n{answer}\n    ### END SOLUTION", True))
    (root / "notebooks/part/part.ipynb").write_text(
        notebook("def half(reviews):\n    # YOUR CODE HERE\n    raise NotImplementedError()", True))
    (root / "finetune_kit/__init__.py").write_text(package_line + "\n")
    for name in ("environment.yml", "requirements.txt", "pyproject.toml", ".amlignore", ".gitignore"):
        (root / name).write_text("\n")
    (root / "autograde/handout/README.md").write_text("# Course\n\n{{points_table}}\n")
    return root


def test_build_refuses_a_leaky_handout_and_keeps_the_previous_one(tmp_path):
    """Is a hand-out that fails the scan never written, and the previous one left whole?"""
    repo = _fake_repo(tmp_path / "repo", "VERSION = 1")
    out = tmp_path / "out" / "handout"
    handout.build(out, repo=repo)
    assert (out / "finetune_kit/__init__.py").read_text() == "VERSION = 1\n"
    (repo / "finetune_kit/__init__.py").write_text("def half(reviews):\n"
                                                   "    return sorted(reviews, key=len)[: len(reviews) // 2]\n")
    with pytest.raises(handout.HandoutLeak, match=r"finetune_kit/__init__.py:2: 1 of the 1 lines of solutions"):
        handout.build(out, repo=repo)
    with pytest.raises(handout.HandoutLeak):
        handout.build(tmp_path / "out" / "handout.zip", repo=repo)
    assert (out / "finetune_kit/__init__.py").read_text() == "VERSION = 1\n", "the previous hand-out is intact"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["handout"], "no temporary folder left"


def test_build_writes_a_zip_and_never_replaces_a_folder_it_did_not_write(tmp_path):
    repo = _fake_repo(tmp_path / "repo", "VERSION = 1")
    archive = handout.build(tmp_path / "handout.zip", repo=repo)
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "handout/README.md" in names and "handout/notebooks/part/part.ipynb" in names
    with zipfile.ZipFile(archive) as zf:
        assert "| `notebooks/part/part.ipynb` | practice, no points |" in zf.read("handout/README.md").decode()
    assert handout.scan(archive, repo=repo) == []
    assert handout.summary(archive)[0] == len([n for n in names if not n.endswith("/")])
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work\n")
    with pytest.raises(ValueError, match="not a hand-out this command wrote"):
        handout.build(precious, repo=repo)
    with pytest.raises(ValueError, match="cannot be written over or inside"):
        handout.build(repo / "data" / "handout", repo=repo)
    assert (precious / "thesis.tex").is_file()


# --- the hand-out on its own: a venv made from it runs every released notebook ---------------------------


def _student_names(solution: Path) -> set[str]:
    """Names a source notebook's answer cells define at top level (undefined while they are empty)."""
    names: set[str] = set()
    if not solution.is_file():
        return names
    for cell in json.loads(solution.read_text())["cells"]:
        if cell["cell_type"] != "code" or not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:
            continue
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
    return names


def _venv_from_handout(root: Path, venv: Path) -> Path:
    """A venv whose third-party packages are the project's .venv's and whose finetune_kit is the hand-out's.

    A directory added by a ``.pth`` line is not scanned for ``.pth`` files of its own, so the instructor's
    editable install (``__editable__.finetune_kit-*.pth`` in the .venv) stays out.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "handout.pth").write_text(f"{root}\n{sysconfig.get_paths()['purelib']}\n")
    return python


def _failures(nb, answers: set[str]) -> list[str]:
    """Error outputs of an executed released notebook that a missing student answer does not explain."""
    problems = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            missing = re.match(r"name '(\w+)' is not defined", out["evalue"])
            unanswered = re.match(r"(\w+) is not set: run the answer cell above", out["evalue"])  # a concept check
            if out["ename"] in ("NotImplementedError", "StepSkipped") or (
                    out["ename"] == "NameError" and missing and missing.group(1) in answers) or (
                    out["ename"] == "AssertionError" and unanswered and unanswered.group(1) in answers):
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            problems.append(f"cell {index} {grade_id}: {out['ename']}: {out['evalue'][:300]}")
    return problems


PROBE = ("import json, sys, finetune_kit, finetune_kit.course.reference\n"
         "print(json.dumps({'file': finetune_kit.__file__, 'reference': finetune_kit.course.reference.available(),"
         " 'path': sys.path}))")


@pytest.mark.slow
def test_released_notebooks_run_in_a_venv_made_from_the_handout(handout_dir, tmp_path, monkeypatch):
    """Does each released notebook run to its end with only the hand-out, failing only for missing answers?

    One kernel per notebook, smoke profile; the assignments run two at a time (each in its own outputs
    folder, its notebooks one after the other, as grading runs them). Part 3 evaluates the model Part 2
    saves: the test puts the reference recipe's there, as a student who finished Part 2 would have.
    """
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    started = time.monotonic()
    assignments: dict[str, list[str]] = {}
    for name in _released():
        assignments.setdefault(Path(name).parent.name, []).append(name)
    needs_model = sorted(a for a, names in assignments.items()
                         if any("ensure_model(" in (handout_dir / name).read_text() for name in names))

    def part2_model() -> float:
        """What a student's Part 2 leaves for Part 3: the fine-tuned model, here the reference recipe's."""
        from finetune_kit.course import config
        from finetune_kit.sentiment import train

        clock = time.monotonic()
        for assignment in needs_model:
            folder = tmp_path / "outputs" / assignment / "smoke" / train.MODEL_FOLDER
            train.ensure_model(config.PROFILES["smoke"], folder)
        return time.monotonic() - clock

    trainer = ThreadPoolExecutor(1)
    model_ready = trainer.submit(part2_model)  # the longest step: it starts first, beside the rest
    python = _venv_from_handout(handout_dir, tmp_path / "venv")
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):  # kernels inherit this process's environment
        monkeypatch.delenv(name, raising=False)
    env = dict(os.environ, FINETUNE_KIT_PROFILE="smoke", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg")

    cli = subprocess.run([python, "-m", "finetune_kit", "grade", "x", "--output", "y"], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert cli.returncode == 2 and "instructor's repository" in cli.stderr, cli.stderr

    kernels = tmp_path / "venv" / "share" / "jupyter" / "kernels"
    monkeypatch.setenv("JUPYTER_PATH", str(kernels.parent))
    for assignment in assignments:  # a kernel per assignment, writing to its own folders (not the shared /tmp)
        (kernels / assignment).mkdir(parents=True)
        (kernels / assignment / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"hand-out {assignment}", "language": "python",
            "env": dict(env, FINETUNE_KIT_OUTPUTS=str(tmp_path / "outputs" / assignment),
                        FINETUNE_KIT_COLLECT_DIR=str(tmp_path / "collected" / assignment))}))

    async def run(assignment: str, gate: asyncio.Semaphore) -> list[tuple[str, object, float]]:
        done = []
        if assignment in needs_model:  # waits outside the gate: the other assignments run meanwhile
            print(f"Part 2's model trained in {await asyncio.wrap_future(model_ready):.0f} s")
        async with gate:
            for name in assignments[assignment]:
                path = handout_dir / name
                nb = nbformat.read(path, as_version=4)
                nb.cells.append(nbformat.v4.new_code_cell(PROBE))
                clock = time.monotonic()
                await NotebookClient(nb, kernel_name=assignment, timeout=300, allow_errors=True,
                                     resources={"metadata": {"path": str(path.parent)}}).async_execute()
                done.append((name, nb, time.monotonic() - clock))
        return done

    order = sorted(assignments, key=lambda a: (-len(assignments[a]), a))  # the longest first

    async def run_all():
        gate = asyncio.Semaphore(2)
        return await asyncio.gather(*(run(assignment, gate) for assignment in order))

    try:
        lanes = asyncio.run(run_all())
    finally:
        trainer.shutdown()
    problems = []
    for name, nb, seconds in [item for lane in lanes for item in lane]:
        print(f"{name}: {seconds:.0f} s")
        report = json.loads(nb.cells[-1].outputs[0]["text"])
        assert Path(report["file"]).resolve().is_relative_to(handout_dir.resolve()), report["file"]
        assert report["reference"] is False, "the hand-out's kit must not find the reference answers"
        on_path = [p for p in report["path"] if p and Path(p).resolve() == ROOT]
        assert not on_path, "the instructor's tree is on the kernel's sys.path"
        answers = _student_names(ROOT / "solutions" / Path(name).relative_to("notebooks"))
        problems += [f"{name} {problem}" for problem in _failures(nb, answers)]
    assert not problems, "cells failing for another reason than a missing answer:\n" + "\n".join(problems)
    print(f"hand-out notebooks ran in {time.monotonic() - started:.0f} s")
