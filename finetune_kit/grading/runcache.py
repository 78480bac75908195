"""The grader's cache of the kit's own runs: same kit, settings and data give the same result, so compute it once.

Grading executes every notebook again for every student. The students' own steps (their Trainer in
Parts 2 and 3, their fold training, their scoring script) always run for real; what the kit does for
them is the same for everyone and is cached: the model Part 3 evaluates (``ensure_model``, trained by the
instructor's reference recipe, which student kernels cannot see), its scores (``predict_proba``), its
ONNX export (``export_onnx``) and Part 1's sentence extractor trained on the labels the student's own
labeller gives (``train_extractor``: same labels, same run). ``python -m finetune_kit grade`` therefore
runs the solution notebooks once with this cache writable, and every student's kernel then finds those
runs here instead of repeating them. The key is a hash of everything a result depends on: the kit's
source code, the profile, the arguments and the exact rows of data (for an export, the model files'
bytes; for scores, the weights and the tokenizer). The reference answers are not visible to kernels, so
they are not in the key: the grader empties the cache when they change (``reference_digest``).

Only the trusted grader writes (``FINETUNE_KIT_RUN_CACHE_WRITE=1``); the sandbox shows the folder to
student kernels read-only. Nothing is cached unless ``FINETUNE_KIT_RUN_CACHE`` names a folder, so
students, CI and the demo always compute.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

#: The kit's calls that consult the cache: a solution notebook without any of them is not run ahead.
CACHED_CALLS = ("ensure_model", "export_onnx", "train_extractor", "predict_proba",
                "train", "cross_validate")  # a Trainer's train(), directly or in each fold (trainer_runs)
CACHE_ENV = "FINETUNE_KIT_RUN_CACHE"
WRITE_ENV = "FINETUNE_KIT_RUN_CACHE_WRITE"
DONE = "complete"  # written last: an entry without it is incomplete


def folder() -> Path | None:
    value = os.environ.get(CACHE_ENV)
    return Path(value) if value else None


def active() -> bool:
    """Is there a cache to consult? Without one, callers skip hashing their inputs altogether."""
    return folder() is not None


def writable() -> bool:
    return folder() is not None and os.environ.get(WRITE_ENV) == "1"


@functools.lru_cache(maxsize=1)
def kit_digest() -> str:
    """A hash of the package's source: a cache written by another version of the kit never matches."""
    root = Path(__file__).resolve().parents[1]  # the whole package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def reference_digest() -> str:
    """A hash of the instructor's reference answers (``autograde/reference``), "" where they are absent.

    ``ensure_model`` trains with them; kernels cannot see them, so the grader compares this digest with
    the one its cache was filled under and empties the cache when they differ.
    """
    from finetune_kit.course import reference

    if not reference.available():
        return ""
    digest = hashlib.sha256()
    for path in sorted(reference.REFERENCE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """The exact rows (text and label, in order) a run sees."""
    rows = pd.util.hash_pandas_object(frame[["text", "label"]], index=False).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def rows_digest(rows: list[dict]) -> str:
    """Rows of plain values (text, label, ...), in order."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def weights_digest(model: Any) -> str:
    """Every parameter and buffer of a torch model, names and bytes: the weights a run starts from.

    A notebook asks for the same weights several times (each ``predict`` of one model), so the SHA-256
    is remembered under a fast non-cryptographic hash of the same bytes (xxh3, 20x faster): a repeat
    costs one pass of xxh3; new weights, one of each."""
    import torch
    import xxhash

    parts = []
    for name, tensor in sorted(model.state_dict().items()):
        raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()  # any dtype, no copy
        parts.append((name.encode() + b"\0" + str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode(), raw))
    quick = xxhash.xxh3_128()
    for header, raw in parts:
        quick.update(header)
        quick.update(raw)
    seen = _WEIGHTS.get(quick.hexdigest())
    if seen is None:
        digest = hashlib.sha256()
        for header, raw in parts:
            digest.update(header)
            digest.update(raw)
        seen = _WEIGHTS[quick.hexdigest()] = digest.hexdigest()
    return seen


#: ``weights_digest``'s answers by the xxh3 of the same bytes (a process asks about a few models only).
_WEIGHTS: dict[str, str] = {}


def key(kind: str, **parts: Any) -> str:
    """``parts`` must name everything the result depends on besides the kit's code."""
    text = json.dumps({"kind": kind, "kit": kit_digest(), **parts}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def lookup(run_key: str | None) -> Path | None:
    """The cached run's folder, or None (no cache, or not this run).

    A writer (the grader's warm-up, which runs the solutions side by side) that misses claims the
    run until its ``store``: another writer asking for the same run waits here and then reuses it,
    so Part 3 finds the model Part 2 is still training instead of training it a second time.
    """
    base = folder()
    if base is None or not run_key:
        return None
    entry = base / run_key
    if not (entry / DONE).is_file() and writable() and run_key not in _claims:
        _claims[run_key] = _lock(base, run_key)  # blocks while another writer computes this run
        if (entry / DONE).is_file():
            _release(run_key)
    return entry if (entry / DONE).is_file() else None


def store(run_key: str | None, fill: Any) -> Path | None:
    """Write a run (``fill(folder)`` puts the files in) if this process may; atomic, first writer wins."""
    base = folder()
    if base is None or not run_key or not writable():
        return None
    try:
        base.mkdir(parents=True, exist_ok=True)
        entry = base / run_key
        if (entry / DONE).is_file():
            return entry
        staging = base / f".{run_key}.{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            fill(staging)
            _readable_by_all(staging)
            (staging / DONE).write_text("")
            os.replace(staging, entry)
        except OSError:  # another writer won the race (the target exists): theirs is as good
            shutil.rmtree(staging, ignore_errors=True)
        return entry if (entry / DONE).is_file() else None
    finally:
        _release(run_key)


#: Runs this process has claimed (``lookup`` missed) and not stored yet: run key -> locked file.
#: A claim that is never stored ends with the process (the kernel of a failed solution).
_claims: dict[str, int] = {}
LOCKS = ".locks"


def release(run_key: str) -> None:
    """Give up a claim ``lookup`` took without storing the run (it failed, or cannot be stored)."""
    _release(run_key)


def _lock(base: Path, run_key: str) -> int:
    import fcntl

    (base / LOCKS).mkdir(parents=True, exist_ok=True)
    fd = os.open(base / LOCKS / run_key, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _release(run_key: str) -> None:
    fd = _claims.pop(run_key, None)
    if fd is not None:
        os.close(fd)  # closing the file drops its lock


def _readable_by_all(root: Path) -> None:
    """Kernels run under uids of their own: every file must be readable by others (safetensors writes 0600)."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def note(entry: Path) -> None:
    """Say so in the notebook: a reader of the feedback should know the run was not repeated."""
    print(f"(reused the grader's cached run {entry.name}: same kit, settings and data as a run it "
          "already did for this class, so the result is the same)")
