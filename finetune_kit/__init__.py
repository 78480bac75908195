"""finetune_kit: the machinery behind the fine-tuning course notebooks, one sub-package per part.

=============  ===========================================================================
``sentiment``  Part 2 and 3's case study: data, models, training, metrics, cross-validation, analysis
``deploy``     Part 3's deployment: ONNX export, scoring, the local endpoint, latency, monitoring
``tasks``      Part 1's application tasks: architectures, summarisation, captioning
``course``     what every notebook shares: profiles, plots, widgets, steps, the nbgrader round trip
``grading``    everything the grader owns: sandbox, guard, run cache, feedback
``commands``   ``python -m finetune_kit <command>``
=============  ===========================================================================

Notebooks import it as ``import finetune_kit as fk`` or ``from finetune_kit import data, models`` and call
one function per step; those flat names (``PUBLIC``) stay what students type, whichever folder holds the
module. Heavy libraries (torch, transformers) are imported inside the modules that need them, so
``import finetune_kit`` stays fast.
"""

import importlib

from finetune_kit.course.config import PROFILES, Profile, resolve_profile, use_profile

__version__ = "0.1.0"
__all__ = ["PROFILES", "Profile", "resolve_profile", "use_profile", "__version__"]

#: The names notebooks use (``fk.data``, ``from finetune_kit import latency``) -> the module behind each.
PUBLIC = {
    **{name: f"sentiment.{name}" for name in ("data", "models", "train", "metrics", "crossval", "analysis",
                                              "recipe", "labelled")},
    **{name: f"deploy.{name}" for name in ("export", "serve", "endpoint", "monitoring", "latency")},
    **{name: f"tasks.{name}" for name in ("architectures", "summarization", "captioning")},
    **{name: f"course.{name}" for name in ("config", "plots", "widgets", "steps", "reference")},
}


def __getattr__(name: str):
    """A notebook's flat name (``fk.data``) or a sub-package (``fk.grading``), imported on first use.

    Not cached in this module: the grader's guard heals modules in ``sys.modules``, which is where every
    lookup of a flat name lands.
    """
    target = f"finetune_kit.{PUBLIC.get(name, name)}"
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as err:
        if err.name != target:
            raise
        raise AttributeError(f"module 'finetune_kit' has no attribute {name!r}") from None
