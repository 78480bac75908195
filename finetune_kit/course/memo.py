"""The one seam where a grader may reuse a slow step's result, so the steps themselves stay plain recipes.

Grading executes every notebook again for every student, and some of the kit's own steps (Part 3's model,
the scores of a test split, the ONNX export) give the same result for the same inputs every time. A step
marked ``@reusable("<kind>")`` runs as written unless a step cache is installed: only the grader installs
one, inside a graded kernel (``finetune_kit.grading.cached_steps``), and it answers with the result it
already holds for the very same inputs. The hand-out has this module and no cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

Step = TypeVar("Step", bound=Callable[..., Any])


class StepCache(Protocol):
    def run(self, kind: str, step: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        """``step(*args, **kwargs)``, or the result a run with the same inputs gave before."""


_cache: StepCache | None = None


def reusable(kind: str) -> Callable[[Step], Step]:
    """Mark a step whose result depends on its inputs alone (the cache decides what "the same" means)."""
    def mark(step: Step) -> Step:
        @functools.wraps(step)
        def run(*args: Any, **kwargs: Any) -> Any:
            cache = _cache
            return step(*args, **kwargs) if cache is None else cache.run(kind, step, args, kwargs)
        return run  # type: ignore[return-value]
    return mark


def install(cache: StepCache | None) -> None:
    """Use ``cache`` for every reusable step from now on (None: run every step again)."""
    global _cache
    _cache = cache
