"""Grade one student in a throw-away nbgrader course, inside the sandbox (a separate process).

The parent (``runner``) prepares a scratch folder per student and starts
``python -m finetune_kit.grading.worker SCRATCH`` through ``sandbox.worker_prefix``::

    SCRATCH/                       (root, 0711: a kernel may pass through, not list)
      job.json                     what to grade, limits, isolation level, folders to hide
      course/                      (0700) a private nbgrader course:
        gradebook.db               a copy of the template: assignments and their cells, no students
        release/<assignment>/      the released files (copied next to the kernel)
        submitted/<student>/<assignment>/<notebook>.ipynb
      home/                        the kernel's home and working folders (its own uid)
      result.json                  written last, atomically: scores, events, file paths

The worker runs nbgrader's real ``autograde`` and ``generate_feedback`` with the pipeline of
``finetune_kit.grading.pipeline``. Nothing it writes is trusted blindly: the parent re-reads the
autograded notebooks and stores grades in the instructor's gradebook itself.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
import traceback
from pathlib import Path

RESULT = "result.json"
JOB = "job.json"


def write_json_atomic(path: Path, data: dict) -> None:
    """Write-then-rename, so a reader sees the old file or the complete new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _become_init() -> None:
    """PID 1 of a namespace must reap orphans; fork so the real work runs as an ordinary process."""
    child = os.fork()
    if child == 0:
        return
    status = 0
    while True:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        if pid == child:
            status = os.waitstatus_to_exitcode(raw)
            break
    os._exit(status if status >= 0 else 128 - status)


def _course_config(raw_config, course: Path):  # noqa: ANN001, ANN202 - a traitlets Config
    from traitlets.config import Config

    from finetune_kit.grading import pipeline

    cfg = Config(raw_config)
    cd = cfg.CourseDirectory
    cd.root = str(course)
    cd.source_directory = "release"
    cd.release_directory = "release"
    cd.submitted_directory = "submitted"
    cd.autograded_directory = "autograded"
    cd.feedback_directory = "feedback"
    cd.solution_directory = "solution"
    cd.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cfg.Autograde.sanitize_preprocessors = pipeline.sanitize_preprocessors()
    cfg.Autograde.autograde_preprocessors = pipeline.autograde_preprocessors()
    cfg.Autograde.create_student = True
    return cfg


def _check_notebook(path: Path) -> str | None:
    """Why a submitted file is not a notebook nbgrader can read, or None."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any parse failure is the student's file, reported as such
        return f"{path.name} is not a readable notebook: {str(err).splitlines()[0][:200]}"
    if not isinstance(nb.get("cells"), list):
        return f"{path.name} has no list of cells"
    return None


def _scores(db_url: str, assignment: str, student: str) -> dict[str, dict[str, list]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return {nb.name: {g.name: [g.auto_score, g.max_score] for g in nb.grades} for nb in sub.notebooks}


def grade(scratch: Path) -> dict:
    """Grade every assignment of the job in ``scratch``; returns the result (also written to disk)."""
    from traitlets.config.loader import PyFileConfigLoader

    from finetune_kit import runcache
    from finetune_kit.course import AUTOGRADE_DIR, _ensure_tools_on_path
    from finetune_kit.grading import pipeline, sandbox

    job = json.loads((scratch / JOB).read_text(encoding="utf-8"))
    _ensure_tools_on_path()
    raw_config = PyFileConfigLoader("nbgrader_config.py", path=str(AUTOGRADE_DIR)).load_config()
    limits = sandbox.Limits(**job["limits"])
    level = job["isolation"]
    if level in ("full", "user"):
        sandbox.loopback_up()
        scratch = sandbox.private_view(scratch, job["visibility"])
    os.environ["JUPYTER_RUNTIME_DIR"] = str(scratch / "runtime")
    os.environ["TMPDIR"] = os.environ["IPYTHONDIR"] = str(scratch / "runtime")
    (scratch / "runtime").mkdir(exist_ok=True)
    course = scratch / "course"
    cfg = _course_config(raw_config, course)
    extra_env = {runcache.CACHE_ENV: job["run_cache"]} if job.get("run_cache") else {}
    factory = _start_prefork(scratch, job, limits, extra_env) if job.get("prefork") else None

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    student = job["student"]
    result = {"student": student, "isolation": level, "assignments": {}}
    pipeline.SandboxExecute.limits = limits
    for assignment, spec in job["assignments"].items():
        started = time.perf_counter()
        pipeline.JOURNAL.clear()
        entry = {"status": "graded", "events": [], "notebooks": {}, "scores": {}}
        submitted = course / "submitted" / student / assignment
        for name in spec["notebooks"]:
            problem = _check_notebook(submitted / name)
            if problem:
                (submitted / name).unlink()
                entry["events"].append({"notebook": Path(name).stem, "cell": None, "kind": "invalid-notebook",
                                        "detail": problem})
        if not any(submitted.glob("*.ipynb")):
            entry["status"] = "invalid" if spec["notebooks"] else "missing"
            result["assignments"][assignment] = entry
            continue
        home = scratch / "home" / assignment
        jail = sandbox.Jail(home=home, cwd=home / "work", limits=limits,
                            uid=job["uid"] if level == "full" else None,
                            block_network=level == "none", profile=job["profile"],
                            extra_env=extra_env)
        release = course / "release" / assignment
        if release.is_dir():
            shutil.copytree(release, jail.cwd, ignore=shutil.ignore_patterns("*.ipynb"), dirs_exist_ok=True)
        jail.prepare()
        sandbox.SandboxKernelManager.jail = jail
        api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
        outcome = api.autograde(assignment, student, force=True, create=True)
        print(f"[worker] {assignment}: autograde {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if not outcome.get("success"):
            entry["status"] = "error"
            log = (outcome.get("error") or "") + "\n" + (outcome.get("log") or "")
            print(log, file=sys.stderr)  # the parent keeps the worker's stderr in logs/<student>.log
            entry["events"].append({"notebook": None, "cell": None, "kind": "autograde-error",
                                    "detail": _last_error_line(log)})
        else:
            feedback = api.generate_feedback(assignment, student, force=True)
            if not feedback.get("success"):
                entry["events"].append({"notebook": None, "cell": None, "kind": "feedback-error",
                                        "detail": _last_error_line(feedback.get("log") or "")})
            entry["scores"] = _scores(cfg.CourseDirectory.db_url, assignment, student)
            for nb in sorted((course / "autograded" / student / assignment).glob("*.ipynb")):
                html = course / "feedback" / student / assignment / f"{nb.stem}.html"
                entry["notebooks"][nb.stem] = {
                    "autograded": str(nb.relative_to(scratch)),
                    "feedback": str(html.relative_to(scratch)) if html.exists() else None,
                }
        print(f"[worker] {assignment}: done {time.perf_counter() - started:.1f} s", file=sys.stderr)
        entry["events"] += list(pipeline.JOURNAL)
        entry["seconds"] = round(time.perf_counter() - started, 2)
        jail.kill_leftovers()
        result["assignments"][assignment] = entry
    if factory is not None:
        print(f"[worker] prefork: imports took {factory.ready_seconds} s", file=sys.stderr)
        factory.close()
    write_json_atomic(scratch / RESULT, result)
    return result


def _start_prefork(scratch: Path, job: dict, limits, extra_env: dict):  # noqa: ANN001, ANN202
    """One process per student that imports the libraries once; kernels are forked from it
    (``finetune_kit.grading.prefork``). Started here, while the worker has a single thread."""
    from finetune_kit.grading import prefork, sandbox

    home = scratch / "home" / "prefork"  # the worker's: kernels (another uid) can read it, not write it
    jail = sandbox.Jail(home=home, cwd=home, limits=limits, block_network=job["isolation"] == "none",
                        profile=job["profile"], extra_env=extra_env)
    jail.prepare()
    for folder in (scratch / "home", home):
        os.chmod(folder, 0o755)
    factory = prefork.Prefork.start(jail.env(), str(home))
    sandbox.SandboxKernelManager.prefork = factory
    return factory


def _last_error_line(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or ["nbgrader failed without a message"])[-1][:300]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m finetune_kit.grading.worker SCRATCH", file=sys.stderr)
        return 2
    if os.getpid() == 1:
        _become_init()
    job = json.loads((Path(args[0]) / JOB).read_text(encoding="utf-8"))
    # the worker parses untrusted notebooks and kernel messages: bound its memory too
    memory = job["limits"]["memory_bytes"] + 2 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        grade(Path(args[0]))
    except Exception:  # noqa: BLE001 - the parent reads the traceback from our stderr
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
