"""A whole class, in parallel, resumable: the parent process of ``python -m finetune_kit grade``.

1. ``intake`` maps the download to students and notebooks;
2. ``gradebook.prepare`` sets up the release and the gradebooks (only when the sources changed),
   and ``warm_run_cache`` runs each solution once so students' kernels reuse its training runs
   (``finetune_kit.grading.runcache``; ``--no-run-cache`` turns it off);
3. each student whose results are missing or stale becomes a job: a scratch folder with a private
   course, graded by one of ``jobs`` long-lived worker processes (``sandbox.worker_command``:
   ``worker``; each slot has its own namespaces, sandbox uid and prefork process), each job bounded
   by a deadline; a slot whose job overran or crashed is restarted for the next student;
4. as jobs finish, the parent alone merges them into the instructor's gradebook and writes
   ``results/<student>.json`` atomically (write, then rename);
5. ``report`` writes ``grades.csv``, ``questions.csv`` and ``report.html``.

Killing the command loses at most the students being graded at that moment: a result file exists
only once its student is fully merged, and a rerun skips every student whose result file carries the
same submission hash (the files' bytes, the release and the limits).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import queue
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from finetune_kit.course import classroom
from finetune_kit.course.config import REPO_ROOT
from finetune_kit.grading import gradebook, identities, intake, prefork, report, sandbox, shards, submitted_view, worker

#: Bump when grading changes in a way that should regrade finished students.
GRADER_VERSION = "1"


#: Sandbox uids a shard's slots may take (``UID_BASE`` + slot): shard I of N starts at (I - 1) * this, so
#: shards graded side by side on one machine never share a uid (a worker kills every process of its uid).
SLOTS_PER_SHARD = 256

#: What one worker may need at its peak: a kernel that trains takes up to about 5 GiB before its
#: memory limit stops it, plus the worker, its prefork process and an inference server.
WORKER_MEMORY = 6 * 1024**3


def default_jobs(cores: int | None = None, available: int | None = None) -> int:
    """One worker per core, but no more than the memory available now can carry at their peaks."""
    cores = cores or os.cpu_count() or 1
    if available is None:
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                fields = dict(line.split(":", 1) for line in f)
            available = int(fields["MemAvailable"].split()[0]) * 1024
        except (OSError, KeyError, ValueError):
            return cores
    return max(1, min(cores, available // WORKER_MEMORY))


@dataclass
class Options:
    """How to grade a class (``python -m finetune_kit grade --help`` explains each)."""

    jobs: int = field(default_factory=lambda: default_jobs())
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    isolation: str = "auto"
    assignments: list[str] | None = None
    profile: str = "smoke"
    force: bool = False
    keep_scratch: bool = False
    run_cache: bool = True  # run the solutions once first and let students' kernels reuse their training runs
    prefork: bool = True  # fork kernels from a process with the libraries imported (``grading.prefork``)
    shard: shards.Shard = field(default_factory=shards.Shard)  # this run's share of the class (``--shard I/N``)


@dataclass
class ClassRun:
    """What a run did: where things are and how long it took."""

    output: Path
    isolation: str
    students: list[str]
    graded: list[str]
    skipped: list[str]
    seconds: float  # the whole command
    prepare_seconds: float  # release and gradebooks (once per class; reused when resuming)
    student_seconds: dict[str, float]  # one worker each: scratch course, nbgrader, feedback
    warm_seconds: float = 0.0  # running the solutions once for the run cache (once per kit version)


def _log(message: str) -> None:
    print(f"[grade] {message}", flush=True)


def submission_hash(sub: intake.Submission, fingerprint: str) -> str:
    digest = hashlib.sha256(fingerprint.encode())
    for assignment in sorted(sub.files):
        for name, path in sorted(sub.files[assignment].items()):
            digest.update(f"\0{assignment}/{name}\0".encode())
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _grading_fingerprint(here: gradebook.Course, assignments: list[str], options: Options) -> str:
    stamp = (here.template / "fingerprint.json").read_text()
    from finetune_kit.grading import runcache

    data = {"grader": GRADER_VERSION, "assignments": sorted(assignments), "sources": stamp,
            "reference": runcache.reference_digest(),  # Part 3's model is trained by the reference recipe
            "limits": {k: v for k, v in options.limits.to_dict().items() if k != "threads"},  # not a grade
            "profile": options.profile}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _prepare_scratch(here: gradebook.Course, sub: intake.Submission, assignments: list[str], folder: Path,
                     model_cache: Path | None = None) -> Path:
    scratch = folder / sub.student
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "course").mkdir(parents=True)
    os.chmod(scratch, 0o711)  # a sandboxed kernel may pass through to its home, not list or read
    os.chmod(scratch / "course", 0o700)
    shutil.copy(here.template / "gradebook.db", scratch / "course" / "gradebook.db")
    job = {"student": sub.student, "assignments": {}}  # how to grade it is the slot's (``slot.json``)
    if model_cache is not None:  # no shared cache for kernels: a private copy of the model Part 3 evaluates
        from finetune_kit.grading import runcache

        private = scratch / "model-cache"
        for entry in model_cache.glob("ensure_model-*"):
            if (entry / runcache.DONE).is_file():
                shutil.copytree(entry, private / entry.name)
        if private.is_dir():
            job["model_cache"] = private.name  # relative: the worker sees the scratch folder elsewhere
    for assignment in assignments:
        shutil.copytree(here.release(assignment), scratch / "course" / "release" / assignment)
        files = sub.files.get(assignment, {})
        dest = scratch / "course" / "submitted" / sub.student / assignment
        dest.mkdir(parents=True)
        for name, path in files.items():
            shutil.copyfile(path, dest / name)
        job["assignments"][assignment] = {"notebooks": sorted(files)}
    worker.write_json_atomic(scratch / worker.JOB, job)
    return scratch


def _deadline(options: Options, notebooks: int) -> float:
    per_notebook = options.limits.notebook_timeout + 120  # kernel start, replays, feedback
    return 60 + per_notebook * max(1, notebooks)


class _Slot:
    """One long-lived worker process (``worker``) and its folder; restarted after a job that went wrong."""

    def __init__(self, number: int, scratch_root: Path, level: str, setup: dict, log_path: Path) -> None:
        self.level, self.log_path = level, log_path
        self.folder = scratch_root / f"slot-{number}"
        self.setup = {**setup, "isolation": level, "uid": sandbox.UID_BASE + number}  # each slot its own uid
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        # not emptied: the main thread may still be merging the student a crashed worker left behind
        # (it deletes that scratch folder itself); a new worker mounts a fresh view of the same folder
        self.folder.mkdir(mode=0o711, exist_ok=True)
        os.chmod(self.folder, 0o711)  # kernels pass through to their homes, never list
        shutil.rmtree(self.folder / ".keep", ignore_errors=True)  # mount points of the previous worker's view
        worker.write_json_atomic(self.folder / worker.SLOT, self.setup)
        config = self.folder / worker.CONFIG  # the worker cannot see the repository: it reads its own copy
        shutil.copyfile(classroom.AUTOGRADE_DIR / worker.CONFIG, config)
        os.chmod(config, 0o600)
        cmd = sandbox.worker_command(self.level, self.folder, self.setup["visibility"],
                                     [sys.executable, "-m", "finetune_kit.grading.worker", str(self.folder)])
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                    cwd=str(self.folder), start_new_session=True)

    def ensure_running(self) -> None:
        """Start the worker, or a new one where the last one died or was stopped."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.proc = self._start()

    def grade(self, scratch: Path, deadline: float) -> str | None:
        """Have the worker grade the student in ``scratch``; returns why it failed, or None."""
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(f"{scratch.name}\n".encode())
            proc.stdin.flush()
        except OSError:
            return self._failed(scratch, "the grading process was not running")
        expected, until = f"done {scratch.name}".encode(), time.monotonic() + deadline
        while True:
            left = until - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                self.stop(graceful=False)
                return f"grading took longer than {deadline:.0f} s and was stopped"
            line = proc.stdout.readline()
            if not line:
                return self._failed(scratch, f"the grading process failed (exit status {self.stop()})")
            if line.strip() == expected:
                break
        if not (scratch / worker.RESULT).exists():
            return self._failed(scratch, "the grading process wrote no result")
        return None

    def _failed(self, scratch: Path, why: str) -> str:
        """``why``, with the last line the student's log (or else the worker's own log) has."""
        for log in (scratch / worker.LOG, self.log_path):
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            if tail:
                return f"{why}: {tail[0][:300]}"
        return f"{why}: no output"

    def stop(self, graceful: bool = True) -> int | None:
        """End the worker (its namespace, kernels and prefork process go with it); its exit status."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None and graceful:
            try:
                proc.stdin.close()  # a worker waiting for the next student exits on end of input
                return proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
        code = proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        return code


def _merge(here: gradebook.Course, sub: intake.Submission, assignments: list[str], scratch: Path,
           failure: str | None, digest: str, level: str, seconds: float) -> dict:
    result = {} if failure else json.loads((scratch / worker.RESULT).read_text())
    record = {"student": sub.student, "name": sub.name, "hash": digest, "isolation": level,
              "layouts": sorted(sub.layouts), "problems": sub.problems, "seconds": round(seconds, 1),
              "assignments": {}}
    for assignment in assignments:
        entry = result.get("assignments", {}).get(assignment)
        if entry is None:
            entry = {"status": "error" if failure else "missing", "notebooks": {},
                     "events": [{"notebook": None, "cell": None, "kind": "worker-failed", "detail": failure}]
                     if failure else []}
        if not sub.files.get(assignment) and entry["status"] != "error":
            entry["status"] = "missing"
        try:
            scores = gradebook.merge(here, sub.student, sub.name, assignment, entry, scratch)
        except gradebook.MergeError as err:
            entry = {"status": "error", "notebooks": {}, "events": [
                {"notebook": None, "cell": None, "kind": "merge-refused", "detail": str(err)}]}
            scores = gradebook.merge(here, sub.student, sub.name, assignment, entry, scratch)
        record["assignments"][assignment] = {"status": entry["status"], "events": entry.get("events", []),
                                             "seconds": entry.get("seconds"), **scores}
    return record


def grade_class(submissions: Path, output: Path, options: Options | None = None,
                on_student: Callable[[dict], None] | None = None) -> ClassRun:
    """Grade every student in ``submissions`` into ``output`` (see the module docstring): prepare the
    course and the plan, warm the run cache, grade the students, write the report."""
    started = time.perf_counter()
    plan = _plan(Path(submissions), Path(output), options or Options())
    slots = _start_slots(plan)  # they set up their sandboxes and import the libraries while the warm-up runs
    try:
        warmed = _warm_up(plan)
        graded, seconds = _grade(plan, slots, on_student)
    finally:
        for slot in slots:  # every worker (and its kernels) ends with the run
            slot.stop()
    report.write_all(plan.output, sorted(plan.found.submissions), plan.assignments, plan.found.unattributed)
    shards.write_manifest(plan.output, plan.options.shard, plan.roster, list(plan.found.submissions),
                          plan.assignments, plan.stamp, plan.found.unattributed)  # last: the run is complete
    elapsed = time.perf_counter() - started
    _log(f"done in {elapsed:.0f} s: {plan.output / 'grades.csv'}, {plan.output / 'report.html'}")
    return ClassRun(output=plan.output, isolation=plan.level, students=sorted(plan.found.submissions),
                    graded=graded, skipped=plan.skipped, seconds=elapsed, prepare_seconds=plan.prepare_seconds,
                    student_seconds=seconds, warm_seconds=warmed)


@dataclass
class _Plan:
    """What a class run decided before grading anybody: the course, who to grade, and how."""

    output: Path
    options: Options  # resolved: threads per kernel set, the run cache off where kernels could write into it
    level: str  # the isolation
    here: gradebook.Course
    found: intake.Intake
    assignments: list[str]  # those somebody handed in
    todo: list[intake.Submission]  # the students whose results are missing or stale
    skipped: list[str]
    hashes: dict[str, str]  # student -> submission hash
    setup: dict  # every slot's ``slot.json``
    prepare_seconds: float
    roster: list[str]  # every student of the download (``found`` holds this shard's)
    stamp: dict  # what the grades depend on (``shards.stamp``), for ``grade-merge``


def _plan(submissions: Path, output: Path, options: Options) -> _Plan:
    """Check the arguments, prepare the course (release, gradebooks), read the submissions, and decide
    who is graded and how (isolation, run cache, what each slot may see)."""
    started = time.perf_counter()
    if not submissions.exists():
        raise FileNotFoundError(f"submissions not found: {submissions}")
    output = output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    classroom._ensure_tools_on_path()
    level = sandbox.detect_isolation(options.isolation)
    if not options.limits.threads:
        options = dataclasses.replace(options, limits=dataclasses.replace(options.limits,
                                                                          threads=kernel_threads(options.jobs)))
    available = classroom.available_assignments()
    wanted = options.assignments or available
    unknown = [a for a in wanted if a not in available]
    if unknown:
        raise ValueError(f"unknown assignment(s) {', '.join(unknown)}; this course has {', '.join(available)}")
    _log(f"isolation: {level}; {options.jobs} worker(s); preparing the course ...")
    here = gradebook.prepare(output, wanted)
    prepared = time.perf_counter() - started
    found = intake.read_submissions(submissions, output / ".intake", gradebook.notebook_names(here, wanted),
                                    gradebook.grade_cell_ids(here, wanted))
    if not found.submissions:
        raise ValueError(f"{submissions}: no student submissions found (layouts are listed in "
                         "finetune_kit/grading/intake.py)")
    # grade the assignments somebody handed in; a student without one of them scores 0 there
    assignments = [a for a in wanted if any(a in s.files for s in found.submissions.values())] or wanted
    roster = sorted(found.submissions)
    if options.shard.count > 1:  # after choosing the assignments: every shard grades the same ones
        found = shards.select(found, options.shard)
        _log(f"shard {options.shard}: {len(found.submissions)} of the class's {len(roster)} student(s)")
    shards.clear_manifest(output)
    fingerprint = _grading_fingerprint(here, assignments, options)
    for folder in (output / "results", output / "logs"):
        folder.mkdir(exist_ok=True)
    shutil.rmtree(output / ".scratch", ignore_errors=True)
    (output / ".scratch").mkdir(mode=0o711)
    _copy_submitted(output, found, assignments)
    identities.save(output, found)  # for ``lms_export``, which may run long after this

    todo, skipped, hashes = [], [], {}
    for student, sub in sorted(found.submissions.items()):
        hashes[student] = submission_hash(sub, fingerprint)
        previous = output / "results" / f"{student}.json"
        if not options.force and previous.exists():
            try:
                if json.loads(previous.read_text()).get("hash") == hashes[student]:
                    skipped.append(student)
                    for assignment in assignments:  # an output graded before these pages existed
                        submitted_view.render(output, student, assignment, only_missing=True)
                    continue
            except ValueError:
                pass
        todo.append(sub)
    _log(f"{len(found.submissions)} student(s), assignments {', '.join(assignments)}; "
         f"{len(skipped)} already graded, {len(todo)} to grade")
    if options.run_cache and level != "full":  # a kernel with the instructor's uid could write into the cache
        _log(f"run cache off: isolation {level} cannot keep it read-only for student code")
        options = dataclasses.replace(options, run_cache=False)
    readable = [output / RUN_CACHE] if options.run_cache else []
    for folder in readable:
        folder.mkdir(exist_ok=True)  # mounted into the workers' views now, filled by the warm-up
    visibility = sandbox.visibility_plan([output, submissions.resolve()], readable=readable) \
        if level in ("full", "user") else {}
    setup = {"visibility": visibility, "profile": options.profile, "limits": options.limits.to_dict(),
             "run_cache": str(output / RUN_CACHE) if options.run_cache else None, "prefork": options.prefork}
    stamped = shards.stamp(assignments, options.limits.to_dict(), options.profile, GRADER_VERSION)
    return _Plan(output=output, options=options, level=level, here=here, found=found, assignments=assignments,
                 todo=todo, skipped=skipped, hashes=hashes, setup=setup, prepare_seconds=prepared,
                 roster=roster, stamp=stamped)


def _warm_up(plan: _Plan) -> float:
    """Fill the run cache before grading (``warm_run_cache``); the seconds it took."""
    if not plan.todo:
        return 0.0
    started = time.perf_counter()
    options, threads = plan.options, plan.options.limits.threads
    if options.run_cache and len(plan.todo) >= 2:
        warm_run_cache(plan.output, plan.assignments, options.profile, threads=threads)
    else:  # one student, or no shared cache: running whole solutions first would only add time, but the
        # model Part 3 evaluates is the instructor's (trained by the reference recipe, which student
        # kernels cannot see): that alone is trained first (shared, or copied to each kernel without the cache)
        warm_run_cache(plan.output, plan.assignments, options.profile, calls=("ensure_model",), threads=threads)
    return time.perf_counter() - started


def _start_slots(plan: _Plan) -> list[_Slot]:
    """The workers: ``jobs`` of them (no more than students to grade), started."""
    logs = plan.output / "logs"
    first = SLOTS_PER_SHARD * (plan.options.shard.index - 1)  # shards on one machine: no uid twice
    slots = [_Slot(first + number, plan.output / ".scratch", plan.level, plan.setup, logs / f".slot-{number}.log")
             for number in range(max(1, min(plan.options.jobs, len(plan.todo))))]
    for slot in slots if plan.todo else ():
        slot.ensure_running()
    return slots


def _grade(plan: _Plan, slots: list[_Slot],
           on_student: Callable[[dict], None] | None) -> tuple[list[str], dict[str, float]]:
    """Grade ``plan.todo`` on the slots; merge each student as they finish. The students graded, in
    the order they finished, and the seconds each took."""
    output, options, logs_dir = plan.output, plan.options, plan.output / "logs"
    free: queue.Queue[_Slot] = queue.Queue()
    for slot in slots:
        free.put(slot)

    def job(sub: intake.Submission) -> tuple[intake.Submission, Path, str | None, float]:
        slot = free.get()
        t0 = time.perf_counter()
        scratch = output / ".scratch" / sub.student
        try:
            slot.ensure_running()
            scratch = _prepare_scratch(plan.here, sub, plan.assignments, slot.folder,
                                       None if options.run_cache else output / RUN_CACHE)
            notebooks = sum(len(f) for f in sub.files.values())
            failure = slot.grade(scratch, _deadline(options, notebooks))
            if (scratch / worker.LOG).exists():
                shutil.copyfile(scratch / worker.LOG, logs_dir / f"{sub.student}.log")
        except Exception as err:  # noqa: BLE001 - one student's trouble must not stop the class
            failure = f"grading could not run: {type(err).__name__}: {err}"
        finally:
            free.put(slot)
        return sub, scratch, failure, time.perf_counter() - t0

    graded, seconds = [], {}
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        pending: set[Future] = {pool.submit(job, sub) for sub in plan.todo}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                sub, scratch, failure, took = future.result()
                record = _merge(plan.here, sub, plan.assignments, scratch, failure, plan.hashes[sub.student],
                                plan.level, took)
                for assignment in plan.assignments:  # the student's own outputs, for reading next to the grades
                    submitted_view.render(output, sub.student, assignment)
                worker.write_json_atomic(output / "results" / f"{sub.student}.json", record)
                if not options.keep_scratch:
                    shutil.rmtree(scratch, ignore_errors=True)
                graded.append(sub.student)
                seconds[sub.student] = took
                _log(f"{len(graded)}/{len(plan.todo)} {sub.student}: " + ", ".join(
                    f"{a} {r.get('auto_score', 0):g}/{r.get('auto_max_score', 0):g}"
                    + ("" if r["status"] == "graded" else f" ({r['status']})") + _flags(r)
                    for a, r in record["assignments"].items()) + f" [{took:.0f} s]")
                if on_student:
                    on_student(record)
    return graded, seconds


#: The training runs of the solution notebooks (``finetune_kit.grading.runcache``), read-only to students.
RUN_CACHE = "run-cache"


def kernel_threads(jobs: int) -> int:
    """Torch threads per graded kernel: the cores shared among the workers."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def warm_run_cache(output: Path, assignments: list[str], profile: str,
                   calls: tuple[str, ...] | None = None, threads: int = 1) -> None:
    """Execute each solution notebook once, up to its last cached call, unsandboxed (it is the
    instructor's own code), with the run cache writable: every run it makes is then reused by
    students' kernels that ask for the same run. Once per kit version and assignment; a failure only
    costs speed. The notebooks run side by side; where two ask for the same run (Part 3's
    ``ensure_model`` in both Part 3 notebooks), the second waits for the first (``runcache.lookup``).
    ``calls``: only these of the cached calls (``runcache.CACHED_CALLS``), each solution cut after its last.
    ``threads``: torch threads per kernel, the graded kernels' own (``kernel_threads``): a Trainer run's
    key includes them (sums run in another order on more threads), so a warm-up on other threads is never reused."""
    from finetune_kit.grading import runcache

    calls = calls or runcache.CACHED_CALLS
    cache = output / RUN_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    stamp, reference = cache / ".reference", runcache.reference_digest()
    if stamp.exists() and stamp.read_text() != reference:  # the model Part 3 evaluates was trained by
        _log("run cache: the reference answers changed; emptying the cache")  # another reference recipe
        for entry in cache.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    stamp.write_text(reference)
    # the kernels' own environment (the grader's stays as it is): the cache writable, the profile, the threads
    env = {**os.environ, runcache.CACHE_ENV: str(cache), runcache.WRITE_ENV: "1", "FINETUNE_KIT_PROFILE": profile,
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    todo: dict[str, list[Path]] = {}
    for assignment in assignments:
        if not (cache / _warm_marker(assignment)).exists():
            solutions = sorted((REPO_ROOT / "solutions" / assignment).glob("*.ipynb"))
            makes = {nb: {c for c in calls if f"{c}(" in nb.read_text()} for nb in solutions}
            todo[assignment] = [nb for nb in solutions if makes[nb]]
            if calls != runcache.CACHED_CALLS:  # a partial warm-up (Part 3's model) skips a notebook whose
                # calls the ones kept make too: the same runs, one more start-up (a whole one runs every notebook)
                kept, covered = [], set()
                for nb in sorted(todo[assignment], key=lambda nb: -len(makes[nb])):
                    if not makes[nb] <= covered:
                        kept.append(nb)
                        covered |= makes[nb]
                todo[assignment] = sorted(kept)
    jobs = [(assignment, nb) for assignment, solutions in todo.items() for nb in solutions]
    t0 = time.perf_counter()
    factory = None
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            # side by side, the kernels forked from one process that imports the libraries once (``prefork``)
            if len(jobs) > 1:
                (output / ".warm-up").mkdir(parents=True, exist_ok=True)
                factory = prefork.Prefork.launch(env, str(output / ".warm-up"))
            failed = dict(zip(jobs, pool.map(lambda job: _warm_one(output, *job, env, calls, factory), jobs),
                              strict=True))
    finally:
        if factory is not None:
            factory.close()
        shutil.rmtree(output / ".warm-up", ignore_errors=True)
    for assignment, solutions in todo.items():
        errors = [failed[assignment, nb] for nb in solutions if failed[assignment, nb]]
        if errors:
            _log(f"run cache: the {assignment} solution failed ({errors[0]}); "
                 "students' kernels will train for themselves")
        elif calls == runcache.CACHED_CALLS:  # a partial warm-up (some calls only) leaves the rest for a later one
            (cache / _warm_marker(assignment)).write_text("")
    if jobs:
        _log(f"run cache: ran {len(jobs)} solution notebook(s) side by side ({time.perf_counter() - t0:.0f} s)")


def _flags(entry: dict) -> str:
    """What the progress line must not hide: an unreadable notebook, tampering, a lost kernel, ..."""
    kinds = sorted({e["kind"] for e in entry.get("events", []) if e["kind"] in report.REASONS})
    return f" [{', '.join(kinds)}]" if kinds else ""


def _warm_marker(assignment: str) -> str:
    from finetune_kit.grading import runcache

    return f".warmed-{assignment}-{runcache.kit_digest()[:16]}"


#: What a warm-up kernel runs when it starts (IPython's ``exec_lines``, not a cell of the notebook): the
#: solution's reusable steps and Trainer runs go into the cache.
STORE_RUNS = "--IPKernelApp.exec_lines=from finetune_kit.grading import cached_steps; cached_steps.install()"


def _warm_one(output: Path, assignment: str, nb: Path, env: dict[str, str], calls: tuple[str, ...],
              factory: prefork.Prefork | None = None) -> str | None:
    """Run one solution notebook up to its last cached call (its kernel forked from ``factory`` if
    given); the error, or None. nbclient, not papermill: nobody reads the executed copy, so it is
    written once at the end, not after every cell."""
    import nbformat
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    work = output / ".warm-up" / assignment / nb.stem  # each its own outputs: they run side by side
    try:
        notebook = nbformat.read(_up_to_last_cached_call(nb, work / f"trimmed-{nb.name}", calls=calls), as_version=4)
        manager = prefork.PreforkKernelManager(prefork=factory, kernel_name="python3")
        client = NotebookClient(notebook, km=manager, timeout=600, extra_arguments=[STORE_RUNS],
                                resources={"metadata": {"path": str(nb.parent)}})
        try:
            client.execute(env={**env, "FINETUNE_KIT_OUTPUTS": str(work / "outputs")})
        finally:
            # nbclient shuts down only kernels of a manager it created; this one is ours, and an idle
            # warm-up kernel (about 1 GB) would otherwise live as long as the grader does
            if manager.has_kernel:
                run_sync(manager.shutdown_kernel)(now=True)
            nbformat.write(notebook, work / nb.name)
    except Exception as err:  # noqa: BLE001 - without the cache every student just trains
        return f"{nb.name}: {type(err).__name__}: {err}"
    return None


def cached_call_cells(cells: list, calls: tuple[str, ...]) -> list[int]:
    """Indices of the code cells that make one of ``calls``, or call a function that an earlier cell
    defines around one (Part 3's ``predict``, which ``bias_probe`` is handed)."""
    code = [(i, cell.source) for i, cell in enumerate(cells) if cell.cell_type == "code"]
    around = {name for _, source in code if any(f"{c}(" in source for c in calls)
              for name in re.findall(r"^def (\w+)\(", source, re.MULTILINE)}
    return [i for i, source in code if any(f"{c}(" in source for c in calls)
            or any(re.search(rf"\b{name}\b", source) for name in around)]


def _up_to_last_cached_call(notebook: Path, dest: Path, calls: tuple[str, ...] | None = None) -> Path:
    """The notebook without the cells after its last cached call: the warm-up needs nothing they do."""
    import nbformat

    from finetune_kit.grading import runcache

    nb = nbformat.read(notebook, as_version=4)
    at = cached_call_cells(nb.cells, calls or runcache.CACHED_CALLS)
    if at:
        nb.cells = nb.cells[:at[-1] + 1]
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


def _copy_submitted(output: Path, found: intake.Intake, assignments: list[str]) -> None:
    """Keep what each student handed in, under nbgrader's layout, next to the grades."""
    for student, sub in found.submissions.items():
        for assignment in assignments:
            dest = output / "submitted" / student / assignment
            shutil.rmtree(dest, ignore_errors=True)
            for name, path in sub.files.get(assignment, {}).items():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / name)
