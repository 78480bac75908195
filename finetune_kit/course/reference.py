"""Access to the instructor's reference answers (``autograde/reference/``), which are not in the package.

The package holds the course's machinery and never an exercise's answer: a student could otherwise pass
an exercise by calling it. The kit's own commands (``train``, ``evaluate``), the Azure job and the
benchmarks still need the complete recipe, so they load the instructor's copy through ``load``; in the
student hand-out it is absent and those commands say so.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from finetune_kit.course.config import REPO_ROOT

#: Where the instructor's repository keeps the reference answers.
REFERENCE_DIR = REPO_ROOT / "autograde" / "reference"


class ReferenceMissing(ImportError):
    """This copy of the kit is a student hand-out: the instructor's reference answers are not in it."""


def available() -> bool:
    return (REFERENCE_DIR / "__init__.py").is_file()


def load(name: str) -> ModuleType:
    """The reference module ``autograde/reference/<name>.py``, imported once per process."""
    module_name = f"finetune_kit_reference.{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = Path(REFERENCE_DIR / f"{name}.py")
    if not path.is_file():
        raise ReferenceMissing(
            f"{path}: the instructor's reference answers are not here. This is the student hand-out (or a "
            "grading sandbox): write the step yourself in the notebook, or run this command from the "
            "instructor's repository")
    if "finetune_kit_reference" not in sys.modules:
        package = ModuleType("finetune_kit_reference")
        package.__path__ = [str(REFERENCE_DIR)]
        sys.modules["finetune_kit_reference"] = package
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
