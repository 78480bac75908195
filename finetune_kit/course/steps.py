"""Letting a notebook run to its end when one of the student's steps failed.

Under nbgrader every cell runs even after an error, and each test calls the student's function on
inputs it builds itself, so a broken step costs only its own points. The cells *between* tests use the
results of earlier steps (``splits``, ``train_ds``, ``trainer`` ...): ``need`` makes such a cell stop at
once with one line that names the missing step, instead of a long ``NameError`` traceback.
"""

from __future__ import annotations


class StepSkipped(RuntimeError):
    """A cell was skipped because an earlier step it builds on did not produce its result."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"StepSkipped: {self}"]


def need(namespace: dict, *names: str, step: str = "an earlier step") -> None:
    """Raise ``StepSkipped`` unless every name is defined (and not None) in ``namespace`` (``globals()``)."""
    missing = [name for name in names if namespace.get(name) is None]
    if missing:
        raise StepSkipped(f"this cell needs {', '.join(missing)} from {step}, which did not run. "
                          "Fix that step above (its test says what is wrong), then run this cell again.")
