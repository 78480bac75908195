"""finetune_kit: the machinery behind the fine-tuning course notebooks.

Notebooks import it as ``import finetune_kit as fk`` and call one function per step; everything
that can break lives here, where it is tested. Heavy libraries (torch, transformers) are imported
inside the modules that need them, so ``import finetune_kit`` stays fast.
"""

import importlib

from finetune_kit.config import PROFILES, Profile, resolve_profile, use_profile

__version__ = "0.1.0"
__all__ = ["PROFILES", "Profile", "resolve_profile", "use_profile", "__version__"]


def __getattr__(name: str):
    """Import submodules on first use (``fk.widgets``, ``fk.data``, …) to keep start-up fast."""
    try:
        return importlib.import_module(f"finetune_kit.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"finetune_kit.{name}":
            raise
        raise AttributeError(f"module 'finetune_kit' has no attribute {name!r}") from None
