"""The nbgrader preprocessors a worker adds around autograde, in the order they run.

nbgrader's ``Autograde`` converter runs two lists of preprocessors on every notebook: *sanitize*
(put the instructor's cells back) and *autograde* (execute, then save the grades). The worker
(``finetune_kit.grading.worker``) uses nbgrader's own lists with four additions:

* ``CheckSubmittedCells`` (first): grading metadata is made to match the gradebook, so forged or
  edited metadata (extra points, a made-up graded cell, a test cell marked unlocked) changes
  nothing, and every edited or deleted locked cell is noted before nbgrader restores it;
* ``GuardTests`` (before execution): a first cell installs ``finetune_kit.grading.guard``, the grading
  profile is pinned after the ``parameters`` cell, and each test cell becomes a sealed guard call;
* ``SandboxExecute`` (replaces nbgrader's ``Execute``): runs the notebook in a ``sandbox.Jail``; per
  cell and per notebook time limits; a kernel that dies (``os._exit``, a limit) or ignores the
  interrupt is restarted and the cells that ran before are replayed, so one bad cell costs only
  itself; output beyond a byte budget is dropped as it arrives;
* ``CheckProofs`` (after execution): a test cell scores only if the guard proved it ran to the end;
  injected cells, proofs and injected partial-credit results are removed; test sources are restored.

What happened is written to ``JOURNAL`` for the worker to report (failures and their reasons).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Instance, Unicode

from finetune_kit.grading import guard
from finetune_kit.grading.sandbox import Jail, Limits, SandboxKernelManager, describe_exit

#: Events of the notebook being graded: dicts with notebook, cell, kind and detail.
JOURNAL: list[dict] = []
#: How many times one notebook's kernel may be restarted before the rest of it is not run.
MAX_RESTARTS = 3
#: Seconds a healthy kernel needs to answer an empty execute request after a cell.
PROBE_TIMEOUT = 10.0


class KernelWedged(RuntimeError):
    """The kernel is alive but no longer answers execute requests."""
_META = "finetune_kit"


def _trace(message: str) -> None:
    """Timings for ``logs/<student>.log`` (the worker's stderr)."""
    print(f"[worker] {message}", file=sys.stderr, flush=True)


def note(resources: dict, kind: str, detail: str, cell: str | None = None) -> None:
    JOURNAL.append({"notebook": resources.get("nbgrader", {}).get("notebook"), "cell": cell,
                    "kind": kind, "detail": detail})


def _error_output(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _released(source: str) -> str:
    """A locked cell as students got it: nbgrader's ClearHiddenTests removes the hidden region."""
    kept, hiding = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            hiding = True
        elif "END HIDDEN TESTS" in line:
            hiding = False
        elif not hiding:
            kept.append(line)
    return "\n".join(kept)


def _plain_python(source: str) -> str:
    """A cell without its IPython magics and shell lines, for ``ast``."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _imported_modules(source: str) -> set[str]:
    """Modules a cell imports, and ``module.attr`` for every attribute it reads off one (maybe a submodule)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    aliases, found = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                    alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            for alias in node.names:
                found.add(f"{node.module}.{alias.name}")  # a submodule, if it is one
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.add(f"{aliases[node.value.id]}.{node.attr}")
    return found


class CheckSubmittedCells(NbGraderPreprocessor):
    """Make every cell's grading metadata what the gradebook says; note what the student changed."""

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201 - nbconvert's signature
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            try:
                source_nb = gb.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            sources = {c.name: (c.cell_type, c.locked, c.source) for c in source_nb.source_cells}
            points = {c.name: c.max_score for c in source_nb.grade_cells}
            tasks = {c.name: c.max_score for c in source_nb.task_cells}
            solutions = {c.name for c in source_nb.solution_cells}
        seen = set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if grade_id not in sources:
                if isinstance(meta, dict) and (meta.get("grade") or meta.get("locked") or meta.get("solution")):
                    note(resources, "forged-cell", f"a cell claims to be graded cell {grade_id!r}, which the "
                                                   "assignment does not have: graded as plain student work")
                del cell.metadata["nbgrader"]
                continue
            seen.add(grade_id)
            cell_type, locked, source = sources[grade_id]
            canonical = {"grade_id": grade_id, "grade": grade_id in points, "solution": grade_id in solutions,
                         "locked": locked, "schema_version": 3}
            if grade_id in points:
                canonical["points"] = points[grade_id]
            if grade_id in tasks:
                canonical.update(task=True, points=tasks[grade_id])
            changed = sorted(k for k in canonical if meta.get(k) != canonical[k])
            if changed:
                note(resources, "edited-metadata", f"grading metadata changed ({', '.join(changed)}): reset",
                     grade_id)
            if locked and (cell.get("source") not in (source, _released(source))
                           or cell.get("cell_type") != cell_type):
                note(resources, "edited-cell", "a locked cell was edited: the instructor's version was "
                                               "restored", grade_id)
            cell.metadata["nbgrader"] = {k: v for k, v in meta.items() if k in ("checksum", "cell_type")} | canonical
        for grade_id in [*points, *tasks]:
            if grade_id not in seen:
                note(resources, "deleted-cell", "a graded cell was deleted: the instructor's version was "
                                                "restored", grade_id)
        return nb, resources


#: Watched whether or not a test imports them: the random generators are where a student rigs the cases a
#: test would draw (issue 17), so a patched generator is named in the report even where no test draws.
ALWAYS_WATCHED = ("numpy.random", "random")


class GuardTests(NbGraderPreprocessor):
    """Install the guard first, pin the grading profile, and seal every test cell."""

    release_dir = Unicode(None, allow_none=True, help="the released notebooks of the assignment being graded: "
                          "what the release's own cells import is what the guard puts back under those names "
                          "before each test").tag(config=True)
    block_network = Bool(False, help="the guard blocks sockets itself (isolation 'none': no network namespace)"
                         ).tag(config=True)
    profile = Unicode("smoke", help="the profile every graded notebook runs under").tag(config=True)

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201
        secret = secrets.token_bytes(32)
        resources[_META] = {"secret": secret.hex()}
        bindings, watch = self._relied_on(nb, resources)
        setup = nbformat.v4.new_code_cell(
            f"__import__('finetune_kit.grading.guard', fromlist=['install']).install("
            f"{secret.hex()!r}, block_network={self.block_network}, "
            f"bindings={bindings!r}, watch={watch!r})\n"
            # a figure is drawn once, not twice (bbox_inches="tight" lays it out again to crop it): the kit's
            # figures call tight_layout themselves, and grading draws every student's figures
            "get_ipython().run_line_magic('config', \"InlineBackend.print_figure_kwargs = {'bbox_inches': None}\")")
        cells = [self._injected(setup)]
        for cell in nb.cells:
            cells.append(cell)
            if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
                cells.append(self._injected(nbformat.v4.new_code_cell(f"PROFILE = {self.profile!r}  # the grading "
                                                                      "profile")))
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                nonce = secrets.token_hex(8)
                grade_id = cell.metadata.nbgrader["grade_id"]
                cell.metadata[_META] = {"nonce": nonce, "source": cell.source}
                cell.source = (f"{guard.GUARD_NAME}.run({grade_id!r}, {nonce!r}, "
                               f"{guard.seal(secret, nonce, cell.source)!r})")
        nb.cells = cells
        return nb, resources

    def _relied_on(self, nb, resources) -> tuple[dict, list[str]]:  # noqa: ANN001
        """The names the release's own cells import, and the libraries the test cells import (with the
        submodules they reach by attribute, ``_np.random``): what the guard keeps as it found them."""
        release = Path(self.release_dir) / f"{resources.get('nbgrader', {}).get('notebook')}.ipynb" \
            if self.release_dir else None
        sources = []
        if release is not None and release.is_file():
            sources = [_plain_python(c.source) for c in nbformat.read(release, as_version=4).cells
                       if c.cell_type == "code" and not utils.is_solution(c) and not utils.is_grade(c)]
        bindings = {k: list(v) for k, v in guard.import_bindings(sources).items()}
        watch = set(ALWAYS_WATCHED)
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                watch |= _imported_modules(_plain_python(cell.source))
        return bindings, sorted(m for m in watch if not m.startswith("finetune_kit"))

    @staticmethod
    def _injected(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
        cell.metadata[_META] = {"injected": True}
        return cell


class SandboxExecute(Execute):
    """nbgrader's Execute, run in a jail, surviving kernels that die, hang or flood the output."""

    limits = Instance(Limits, args=(), help="time, output and resource limits").tag(config=True)

    def __init__(self, **kw):  # noqa: ANN003
        kw["kernel_manager_class"] = SandboxKernelManager
        super().__init__(**kw)

    # -- the execution loop ------------------------------------------------------------------------
    def preprocess(self, nb, resources, km=None):  # noqa: ANN001, ANN201
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        limits = self.limits
        deadline = monotonic() + limits.notebook_timeout
        self.timeout = limits.cell_timeout
        self.shutdown_kernel = "immediate"  # nothing to save: a polite shutdown only costs seconds
        self.timeout_func = lambda cell: max(1, int(min(limits.cell_timeout, deadline - monotonic())))
        self._kept: dict[int, int] = {}
        order = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        done: list[int] = []
        restarts, pos, stop_reason = 0, 0, None
        self._start()
        try:
            while pos < len(order):
                index = order[pos]
                if monotonic() >= deadline:
                    stop_reason = f"the notebook time limit ({limits.notebook_timeout} s) was reached"
                    break
                try:
                    finished = self._run(index)
                    if not self._responsive():
                        raise KernelWedged()
                    if finished:  # a cell stopped by its time limit is not run again after a restart
                        done.append(index)
                except (DeadKernelError, CellTimeoutError, KernelWedged) as err:
                    self._kernel_lost(index, err)
                    restarts += 1
                    pos += 1
                    if restarts > MAX_RESTARTS:
                        stop_reason = f"the kernel was lost {restarts} times"
                        break
                    stop_reason = self._restart_and_replay(done)
                    if stop_reason:
                        break
                    continue
                pos += 1
            resources.setdefault(_META, {})["audit"] = self._audit() if restarts == 0 else "restarted"
        finally:
            self._stop()
        for index in order[pos:]:
            cell = nb.cells[index]
            if not cell.metadata.get(_META, {}).get("injected"):
                cell.outputs.append(_error_output("NotRun", f"not run by the grader: {stop_reason}"))
        if order[pos:]:
            note(resources, "not-run", f"{len(order[pos:])} cell(s) not run: {stop_reason}")
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _run(self, index: int) -> bool:
        """Execute one cell; False if it was interrupted at its time limit."""
        cell = self.nb.cells[index]
        self._kept.pop(index, None)
        injected = bool(cell.metadata.get(_META, {}).get("injected"))
        started = monotonic()
        self.execute_cell(cell, index, store_history=not injected)
        first = next((line for line in cell.source.splitlines() if line.strip()), "")[:60]
        _trace(f"cell {index} ({self._cell_name(cell) or 'code'}): {monotonic() - started:.2f} s  {first}")
        if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            note(self.resources, "timeout", f"a cell ran longer than {self.timeout} s and was interrupted",
                 self._cell_name(cell))
            return False
        return True

    async def _async_reply(self, timeout: float = PROBE_TIMEOUT, **expressions: str) -> dict | None:
        """Run nothing, silently, evaluating ``expressions`` (``user_expressions``: outside any cell, so
        no input transformer sees them); the kernel's reply, or None if it does not answer in time."""
        try:
            msg_id = await ensure_async(self.kc.execute("", silent=True, store_history=False,
                                                        user_expressions=expressions))
        except Exception:  # noqa: BLE001 - a kernel that is gone does not answer
            return None
        deadline = monotonic() + timeout
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                break
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    _reply = run_sync(_async_reply)

    def _responsive(self) -> bool:
        """Does the kernel still run code? A cell can leave it alive but unable to answer (for
        example by breaking a builtin the kernel's own message handling uses)."""
        return self._reply() is not None

    def _audit(self) -> str | None:
        """Ask the guard which tests it ran (``guard.audit``); None: no answer (the kernel was changed)."""
        import ast

        reply = self._reply(audit=f"{guard.GUARD_NAME}.audit()")
        found = (reply or {}).get("content", {}).get("user_expressions", {}).get("audit", {})
        if found.get("status") != "ok":
            return None
        try:
            return ast.literal_eval(found.get("data", {}).get("text/plain", ""))
        except (ValueError, SyntaxError):
            return None

    def _kernel_lost(self, index: int, err: Exception) -> None:
        cell = self.nb.cells[index]
        if isinstance(err, DeadKernelError):
            why = describe_exit(self.km.exit_status() if self.km is not None else None)
            ename, kind = "KernelDied", "kernel-died"
        elif isinstance(err, KernelWedged):
            why = "after this cell the kernel could not run anything else"
            ename, kind = "KernelBroken", "kernel-broken"
        else:
            why = "the cell hit the time limit and the kernel ignored the interrupt"
            ename, kind = "CellTimeoutError", "kernel-stuck"
        cell.outputs.append(_error_output(ename, f"{why}; the grader restarted the kernel and re-ran the "
                                                 "cells above, skipping this one"))
        note(self.resources, kind, why, self._cell_name(cell))

    def _restart_and_replay(self, done: list[int]) -> str | None:
        self._stop()
        self._start()
        try:
            for index in done:
                self._run(index)
            if done and not self._responsive():
                raise KernelWedged()
        except (DeadKernelError, CellTimeoutError, KernelWedged):
            return "the kernel was lost again while re-running earlier cells"
        return None

    def _start(self) -> None:
        started = monotonic()
        if self.km is None:
            self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        info = self.wait_for_reply(self.kc.kernel_info())
        if info is not None and "language_info" in info["content"]:
            self.nb.metadata["language_info"] = info["content"]["language_info"]
        _trace(f"kernel started: {monotonic() - started:.2f} s")

    def _stop(self) -> None:
        started = monotonic()
        jail = getattr(self.km, "jail", None)
        if self.km is not None:
            try:
                self._cleanup_kernel()
            except Exception as err:  # noqa: BLE001 - a kernel that will not stop is killed below
                self.log.warning("kernel cleanup: %s", err)
            self.km = self.kc = None
        if jail is not None:
            jail.kill_leftovers()
        _trace(f"kernel stopped: {monotonic() - started:.2f} s")

    @staticmethod
    def _cell_name(cell: nbformat.NotebookNode) -> str | None:
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    # -- output budget -----------------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):  # noqa: ANN001, ANN201
        content = msg.get("content", {})
        data = content.get("data") or {}
        if msg["msg_type"] == "error" or guard.PROOF_MIME in data or guard.REPAIR_MIME in data:
            return super().output(outs, msg, display_id, cell_index)
        size = len(content.get("text", "")) + sum(len(str(v)) for v in data.values())
        budget = self.limits.output_bytes
        kept = self._kept.get(cell_index, 0)
        if kept + size > budget:
            if kept <= budget:
                self._kept[cell_index] = budget + 1
                outs.append(nbformat.v4.new_output(
                    "stream", name="stdout", text=f"\n[output truncated by the grader after {budget:,} bytes]\n"))
                note(self.resources, "output-truncated", f"output over {budget:,} bytes was dropped",
                     self._cell_name(self.nb.cells[cell_index]))
            return None
        self._kept[cell_index] = kept + size
        return super().output(outs, msg, display_id, cell_index)


class CheckProofs(NbGraderPreprocessor):
    """A test cell counts only with the guard's proof; then the notebook is put back as it was."""

    def preprocess(self, nb, resources):  # noqa: ANN001, ANN201
        secret = bytes.fromhex(resources[_META]["secret"])
        audit_text = resources[_META].get("audit")
        audit = guard.read_audit(secret, audit_text) if isinstance(audit_text, str) and audit_text != "restarted" \
            else None
        if audit_text is None or (audit is None and audit_text != "restarted"):
            note(resources, "audit-missing", "the grader could not ask the kernel which tests ran (its answer "
                                             "was missing or not the guard's)")
        for found in (audit or {}).get("found", []):
            note(resources, found["kind"], f"still in place after the last cell: {found['detail']}")
        kept_cells = []
        for cell in nb.cells:
            meta = cell.metadata.pop(_META, {})
            if meta.get("injected"):
                continue
            if cell.cell_type == "code":
                self._check_cell(cell, meta, secret, resources, audit)
            kept_cells.append(cell)
        nb.cells = kept_cells
        return nb, resources

    def _check_cell(self, cell, meta: dict, secret: bytes, resources: dict,  # noqa: ANN001
                    audit: dict | None = None) -> None:
        is_test = "nonce" in meta
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        proofs, outputs = [], []
        for out in cell.get("outputs", []):
            data = out.get("data", {}) if out.output_type in ("display_data", "execute_result") else {}
            if guard.PROOF_MIME in data:
                proofs.append((data[guard.PROOF_MIME].get("cell"), data[guard.PROOF_MIME].get("proof")))
            elif guard.REPAIR_MIME in data:
                report = data[guard.REPAIR_MIME]
                kinds: dict[str, list[str]] = {}
                for found in report.get("kinds") or [{"kind": "tampering", "detail": r}
                                                     for r in report.get("repairs", [])]:
                    kinds.setdefault(found["kind"], []).append(found["detail"])
                for kind, details in kinds.items():
                    note(resources, kind, "; ".join(details[:8]), grade_id)
                if report.get("hidden_names"):
                    note(resources, "shadowed-builtins", "notebook variables named like builtins were hidden "
                                                         f"during the test: {', '.join(report['hidden_names'])}",
                         grade_id)
            elif not (is_test and out.output_type == "execute_result"):  # no partial credit smuggled in
                outputs.append(out)
        if proofs and not is_test:
            note(resources, "forged-proof", "a cell that is not a test published a test's proof", grade_id)
        if is_test:
            cell.source = meta["source"]
            valid = (grade_id, guard.proof(secret, grade_id, meta["nonce"]))
            failed = any(o.output_type == "error" for o in outputs)
            forged = valid in proofs and (failed or len(proofs) > 1
                                         or (audit is not None and grade_id not in audit.get("ran", [])))
            if forged:  # the guard publishes one proof, last, and only after the test ran without error
                proofs = []
                outputs.append(_error_output("ForgedProof", "this test cell's proof was not produced by the "
                                                            "grader's run of the test"))
                note(resources, "forged-proof", "a proof the guard did not produce (with an error, twice, or "
                                                "for a test the guard never ran)", grade_id)
            elif valid not in proofs and not failed:
                outputs.append(_error_output("TestIncomplete", "this test cell did not run to its end under the "
                                                               "grader (its code was replaced or its failure hidden)"))
                note(resources, "no-proof", "a test cell did not run to its end under the guard", grade_id)
        cell.outputs = outputs


#: The pipelines, as data: nbgrader's own lists with the additions above (see the module docstring).
def sanitize_preprocessors() -> list:
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    return [CheckSubmittedCells, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
            CheckCellMetadata]


def autograde_preprocessors() -> list:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    return [GuardTests, SandboxExecute, CheckProofs, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


__all__ = ["JOURNAL", "CheckProofs", "CheckSubmittedCells", "GuardTests", "Jail", "SandboxExecute",
           "autograde_preprocessors", "sanitize_preprocessors"]
