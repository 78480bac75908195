"""Every picture the course draws, in one module: readable in a notebook, saved as PNG by the CLI.

Functions take plain data (histories, arrays) and return a matplotlib ``Figure``; ``save`` writes
it. Nothing here trains or predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower().endswith("agg") is False and not _in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:
        return False


def save(fig: Any, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def _series(history: Sequence[Mapping[str, float]], key: str) -> tuple[list[float], list[float]]:
    points = [(h["epoch"], h[key]) for h in history if key in h and "epoch" in h]
    return [p[0] for p in points], [p[1] for p in points]


def training_curves(runs: Mapping[str, Sequence[Mapping[str, float]]], metric: str = "accuracy") -> Any:
    """Training loss and validation ``metric`` per epoch, one line per run (e.g. pre-trained vs scratch).

    ``runs`` maps a label to a ``Trainer`` log history (``trainer.state.log_history``).
    """
    plt = _plt()
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, history in runs.items():
        x, y = _series(history, "loss")
        ax_loss.plot(x, y, label=f"{label}: training loss")
        x, y = _series(history, "eval_loss")
        ax_loss.plot(x, y, "o--", label=f"{label}: validation loss")
        x, y = _series(history, f"eval_{metric}")
        ax_metric.plot(x, y, "o-", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_metric.set(xlabel="epoch", ylabel=metric, title=f"Validation {metric}", ylim=(0, 1.02))
    ax_metric.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    for ax in (ax_loss, ax_metric):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
