"""Where Part 1's small trainers (the captioner, the sentence extractor) train: a scratch folder and CPU threads.

Both save nothing, so their ``output_dir`` is a temporary folder that goes as soon as they have trained; both are
small enough that a second CPU thread costs more than it gives when other work shares the machine.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SCRATCH: set[str] = set()


def scratch_folder(prefix: str) -> str:
    """A temporary folder for a trainer that saves nothing: ``release_scratch`` removes it once the
    trainer has trained, and the process's exit removes one that an interrupted run left.

    ``save_strategy="no"`` still makes the trainer create its ``output_dir``; without this each
    notebook run, test and graded submission left an empty folder in the system's temp directory.
    The exit alone is not enough: a kernel is often stopped with SIGKILL, which runs no exit handler.
    """
    path = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
    _SCRATCH.add(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def release_scratch(trainer: Any) -> None:
    """Remove the trainer's ``output_dir`` if it is one of ``scratch_folder``'s (nothing is saved there)."""
    path = os.path.realpath(str(trainer.args.output_dir))
    if path in _SCRATCH:
        shutil.rmtree(path, ignore_errors=True)
        _SCRATCH.discard(path)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run torch on ``n`` CPU threads for a while, then restore the previous setting.

    A model this small gains nothing from a second thread, and when other work shares the two cores,
    two spinning threads made each step about seven times slower on the course machine.
    """
    import torch

    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train(trainer: Any, threads: int | None) -> float:
    """``trainer.train()`` on ``threads`` CPU threads, its scratch folder removed after; the wall time in seconds."""
    start = time.perf_counter()
    try:
        with torch_threads(threads):
            trainer.train()
    finally:
        release_scratch(trainer)
    return time.perf_counter() - start
