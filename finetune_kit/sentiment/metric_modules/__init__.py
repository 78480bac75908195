"""``evaluate`` metric modules shipped with the kit, so ``evaluate.load`` works with no Hub access.

``evaluate.load("accuracy")`` downloads the metric's script from the Hugging Face Hub, which fails
offline. ``evaluate.load`` also takes a local directory holding ``<name>/<name>.py`` with an
``evaluate.Metric`` subclass: each folder here is one, written like the Hub's own modules (they
compute with scikit-learn and take the same arguments), so the numbers are the same either way.
``finetune_kit.sentiment.metrics.metric_location`` decides which one a run loads.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The folder of the shipped module ``name`` (what ``evaluate.load`` takes)."""
    folder = HERE / name
    if not (folder / f"{name}.py").is_file():
        shipped = ", ".join(available())
        raise ValueError(f"No metric module {name!r} in {HERE}: shipped modules are {shipped}")
    return folder


def available() -> list[str]:
    """Names of the shipped metric modules."""
    return sorted(p.name for p in HERE.iterdir() if (p / f"{p.name}.py").is_file())
