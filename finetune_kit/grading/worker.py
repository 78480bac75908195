"""Grade students in throw-away nbgrader courses, inside the sandbox: one long-lived process per worker slot.

The parent (``runner``) starts ``python -m finetune_kit.grading.worker SLOT`` through
``sandbox.worker_command`` once per slot, then hands it one student at a time: it prepares a scratch
folder ``SLOT/<student>`` and writes the student's folder name on the worker's stdin; the worker
answers ``done <student>`` on stdout once ``result.json`` is written. ``SLOT/slot.json`` says how the
slot is confined. The worker sets that up once: its namespaces, the private view in which ``SLOT``
becomes ``/tmp`` (bubblewrap builds both where it is installed, else ``unshare`` and
``sandbox.private_view``), and the prefork process whose kernels start with the
libraries imported (``prefork``). Between students it kills every process of the slot's sandbox uid and
empties ``/dev/shm`` and ``/var/tmp``; the parent deletes the student's scratch folder. A student whose
grading overruns its deadline or crashes the worker costs the slot a restart, nothing more::

    SLOT/                          (root, 0711: a kernel may pass through, not list)
      slot.json                    isolation level, folders to hide, the kernels' uid and environment
      .prefork/                    the prefork process's home (kernels can read it, not write it)
      <student>/                   (0711) one student's scratch folder:
        job.json                   the student and what to grade (how: ``slot.json``)
        worker.log                 this student's part of the worker's log (copied to logs/<student>.log)
        course/                    (0700) a private nbgrader course:
          gradebook.db             a copy of the template: assignments and their cells, no students
          release/<assignment>/    the released files (copied next to the kernel)
          submitted/<student>/<assignment>/<notebook>.ipynb
        home/                      the kernels' homes and working folders (the slot's uid)
        result.json                written last, atomically: scores, events, file paths

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
SLOT = "slot.json"
CONFIG = "nbgrader_config.py"  # the course's nbgrader config, copied into each slot by the parent
LOG = "worker.log"


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


def _jail(setup: dict, home: Path, cwd: Path, uid: int | None):  # noqa: ANN202 - a sandbox.Jail
    """Where a kernel (or the prefork process) of this slot runs: limits, network, profile, run cache."""
    from finetune_kit.grading import runcache, sandbox

    extra_env = {runcache.CACHE_ENV: setup["run_cache"]} if setup.get("run_cache") else {}
    return sandbox.Jail(home=home, cwd=cwd, limits=sandbox.Limits(**setup["limits"]), uid=uid,
                        block_network=setup["isolation"] == "none", profile=setup["profile"], extra_env=extra_env)


def _kernel_uid(setup: dict) -> int | None:
    """The slot's sandbox uid, which only isolation ``full`` (root) can switch kernels to."""
    return setup["uid"] if setup["isolation"] == "full" else None


def grade(scratch: Path, raw_config, setup: dict) -> dict:  # noqa: ANN001 - the course's traitlets Config
    """Grade every assignment of the job in ``scratch`` as the slot's ``setup`` says; returns the result
    (also written to disk)."""
    from finetune_kit.grading import pipeline, sandbox

    job = json.loads((scratch / JOB).read_text(encoding="utf-8"))
    level = setup["isolation"]
    os.environ["JUPYTER_RUNTIME_DIR"] = str(scratch / "runtime")
    os.environ["TMPDIR"] = os.environ["IPYTHONDIR"] = str(scratch / "runtime")
    (scratch / "runtime").mkdir(exist_ok=True)
    course = scratch / "course"
    cfg = _course_config(raw_config, course)

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    student = job["student"]
    result = {"student": student, "isolation": level, "assignments": {}}
    cfg.SandboxExecute.limits = sandbox.Limits(**setup["limits"])
    cfg.SandboxKernelManager.prefork = _PREFORK.get("factory")
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
        bounded = level in ("full", "user")
        home_bytes = setup["limits"].get("home_bytes", sandbox.Limits().home_bytes)
        if bounded:  # the home is a tmpfs of its own: filling it fails this assignment only
            sandbox.bound_home(home, home_bytes)
        cache = str(scratch / job["model_cache"]) if job.get("model_cache") else setup.get("run_cache")
        jail = _jail({**setup, "run_cache": cache}, home, home / "work", _kernel_uid(setup))
        release = course / "release" / assignment
        if release.is_dir():
            shutil.copytree(release, jail.cwd, ignore=shutil.ignore_patterns("*.ipynb"), dirs_exist_ok=True)
        jail.prepare()
        cfg.SandboxKernelManager.jail = jail
        cfg.GuardTests.release_dir = str(release)
        cfg.GuardTests.block_network, cfg.GuardTests.profile = jail.block_network, jail.profile
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
        if bounded and sandbox.release_home(home):
            entry["events"].append({"notebook": None, "cell": None, "kind": "home-full",
                                    "detail": f"the notebooks filled their home ({home_bytes} bytes); "
                                              "writes beyond it failed"})
        result["assignments"][assignment] = entry
    write_json_atomic(scratch / RESULT, result)
    return result


def serve(slot: Path, jobs=sys.stdin, answers=sys.stdout) -> None:  # noqa: ANN001 - text streams
    """Confine this process as ``slot.json`` says, then grade each student named on ``jobs``."""
    from traitlets.config.loader import PyFileConfigLoader

    from finetune_kit.course.classroom import _ensure_tools_on_path
    from finetune_kit.grading import sandbox

    setup = json.loads((slot / SLOT).read_text(encoding="utf-8"))
    _ensure_tools_on_path()
    # the course's config, copied into the slot by the parent (0600): the repository is hidden from here on
    # (bubblewrap hides it before this process starts)
    raw_config = PyFileConfigLoader(CONFIG, path=str(slot)).load_config()
    level = setup["isolation"]
    if level in ("full", "user") and os.environ.get(sandbox.CONFINED_ENV) != "bubblewrap":
        sandbox.loopback_up()
        slot = sandbox.private_view(slot, setup["visibility"])
    if setup.get("prefork"):
        _start_prefork(slot / ".prefork", setup)
    from nbgrader.apps import NbGraderAPI  # noqa: F401

    from finetune_kit.grading import pipeline  # noqa: F401 - nbgrader and nbclient, before the first student
    for line in jobs:
        name = line.strip()
        if not name:
            continue
        scratch = slot / name
        saved = os.dup(1), os.dup(2)
        with open(scratch / LOG, "ab") as log:
            for fd in (1, 2):  # this student's log, native libraries' messages included
                os.dup2(log.fileno(), fd)
            try:
                grade(scratch, raw_config, setup)
            except Exception:  # noqa: BLE001 - the parent reads the traceback from the student's log
                traceback.print_exc()
            finally:
                factory = _PREFORK.get("factory")
                if factory is not None and factory.ready_seconds is not None:
                    print(f"[worker] prefork: imports took {factory.ready_seconds} s (once per slot)", file=sys.stderr)
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, copy in zip((1, 2), saved, strict=True):
                    os.dup2(copy, fd)
                    os.close(copy)
        _between_students(_kernel_uid(setup), level)
        print(f"done {name}", file=answers, flush=True)


def _between_students(uid: int | None, level: str) -> None:
    """Nothing of one student may reach the next: their processes die, shared scratch space is emptied."""
    from finetune_kit.grading import sandbox

    if uid is not None:
        sandbox.kill_user(uid)
    if level in ("full", "user"):  # our own tmpfs mounts (``private_view``); elsewhere they are the machine's
        for folder in (Path("/dev/shm"), Path("/var/tmp")):
            for entry in folder.iterdir() if folder.is_dir() else ():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


#: The slot's prefork process (``factory``), started once; every student's kernels are forked from it.
_PREFORK: dict[str, object] = {}


def _start_prefork(home: Path, setup: dict) -> None:
    """One process per slot that imports the libraries once; kernels are forked from it
    (``finetune_kit.grading.prefork``). Started here, while the worker has a single thread."""
    from finetune_kit.grading import prefork

    jail = _jail(setup, home, home, uid=None)  # the worker's own folder: kernels can read it, not write it
    jail.prepare()
    os.chmod(home, 0o755)
    _PREFORK["factory"] = prefork.Prefork.start(jail.env(), str(home))


def _last_error_line(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or ["nbgrader failed without a message"])[-1][:300]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m finetune_kit.grading.worker SLOT  (student folder names on stdin)", file=sys.stderr)
        return 2
    if os.getpid() == 1:
        _become_init()
    setup = json.loads((Path(args[0]) / SLOT).read_text(encoding="utf-8"))
    # the worker parses untrusted notebooks and kernel messages: bound its memory too
    memory = setup["limits"]["memory_bytes"] + 2 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    answers = os.fdopen(os.dup(1), "w", buffering=1)  # the parent's channel: nothing else may write there
    os.dup2(2, 1)
    try:
        serve(Path(args[0]), sys.stdin, answers)
    except Exception:  # noqa: BLE001 - the parent reads the traceback from the slot's log
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
