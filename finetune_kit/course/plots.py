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
    """Write the figure as PNG and release it (figures left open pile up in long runs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _plt().close(fig)
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


# --- evaluating a classifier: one picture per question --------------------------------------------

#: colours used for the two classes in every picture
CLASS_COLOURS = {0: "tab:orange", 1: "tab:blue"}
CLASS_NAMES = {0: "negative", 1: "positive"}


def _axes(ax: Any, figsize: tuple[float, float] = (4.6, 4.0)) -> tuple[Any, Any]:
    """The figure and axes to draw on: ``ax`` when given (a panel of a bigger figure), else a new one."""
    if ax is not None:
        return ax.figure, ax
    plt = _plt()
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def _arrays(y_true: Sequence[int], scores: Sequence[float], *, both_classes: bool = False) -> tuple[Any, Any]:
    from finetune_kit.sentiment.metrics import _check_binary

    y_true, scores = _check_binary(y_true, scores)
    if both_classes and len(set(y_true.tolist())) < 2:
        raise ValueError("this curve needs both labels (0 and 1) among the true labels")
    return y_true, scores


def confusion_matrix(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5, ax: Any = None) -> Any:
    """Counts of true vs predicted labels at ``threshold``, with the share of each true class per cell.

    Rows are what the review really is, columns what the model said: the off-diagonal cells are the
    two kinds of mistake (false positives top right, false negatives bottom left).
    """
    import numpy as np

    from finetune_kit.sentiment.metrics import _confusion_counts

    y_true, scores = _arrays(y_true, scores)
    c = _confusion_counts(y_true, (scores >= threshold).astype(int))
    grid = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    fig, ax = _axes(ax)
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(1, grid.max()))
    names = [CLASS_NAMES[0], CLASS_NAMES[1]]
    cell_names = [["true negative", "false positive"], ["false negative", "true positive"]]
    for i in range(2):
        row_total = max(1, grid[i].sum())
        for j in range(2):
            colour = "white" if grid[i, j] > 0.6 * grid.max() else "black"
            ax.text(j, i - 0.08, f"{grid[i, j]}", ha="center", va="center", fontsize=15, weight="bold",
                    color=colour)
            ax.text(j, i + 0.14, f"{cell_names[i][j]}\n{grid[i, j] / row_total:.0%} of the {names[i]}s",
                    ha="center", va="center", fontsize=8.5, color=colour)
    ax.set_xticks([0, 1], [f"said {n}" for n in names])
    ax.set_yticks([0, 1], [f"is {n}" for n in names])
    ax.set_title(f"Confusion matrix (threshold {threshold:g})")
    return fig


def precision_recall_curve(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5,
                           ax: Any = None) -> Any:
    """Precision against recall over every threshold; the dot is where ``threshold`` puts us.

    The dashed line is a model that guesses (precision = share of positives); the area under the
    curve is the average precision.
    """
    from sklearn.metrics import average_precision_score
    from sklearn.metrics import precision_recall_curve as pr_curve

    from finetune_kit.sentiment.metrics import _confusion_counts

    y_true, scores = _arrays(y_true, scores, both_classes=True)
    precision, recall, _ = pr_curve(y_true, scores)
    ap = average_precision_score(y_true, scores)
    c = _confusion_counts(y_true, (scores >= threshold).astype(int))
    fig, ax = _axes(ax)
    ax.step(recall, precision, where="post", color="tab:blue", label=f"model (AP {ap:.3f})")
    ax.axhline(y_true.mean(), color="grey", ls="--", lw=1, label=f"guessing ({y_true.mean():.2f})")
    if c["tp"] + c["fp"]:
        ax.plot(c["tp"] / max(1, c["tp"] + c["fn"]), c["tp"] / (c["tp"] + c["fp"]), "o", color="black",
                label=f"threshold {threshold:g}")
    ax.set(xlabel="recall (positives found)", ylabel="precision (said positive and right)",
           xlim=(0, 1.02), ylim=(0, 1.02), title="Precision-recall curve")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def roc_curve(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5, ax: Any = None) -> Any:
    """True-positive rate against false-positive rate over every threshold, with the area under it."""
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    from finetune_kit.sentiment.metrics import _confusion_counts

    y_true, scores = _arrays(y_true, scores, both_classes=True)
    fpr, tpr, _ = sk_roc(y_true, scores)
    c = _confusion_counts(y_true, (scores >= threshold).astype(int))
    fig, ax = _axes(ax)
    ax.plot(fpr, tpr, color="tab:blue", label=f"model (AUC {roc_auc_score(y_true, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="guessing (AUC 0.5)")
    ax.plot(c["fp"] / max(1, c["fp"] + c["tn"]), c["tp"] / max(1, c["tp"] + c["fn"]), "o", color="black",
            label=f"threshold {threshold:g}")
    ax.set(xlabel="false-positive rate (negatives called positive)", ylabel="true-positive rate (recall)",
           xlim=(-0.02, 1.02), ylim=(0, 1.02), title="ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def reliability_diagram(y_true: Sequence[int], scores: Sequence[float], *, n_bins: int = 10,
                        ax: Any = None) -> Any:
    """Does a score of 0.8 mean "positive 8 times in 10"? Share positive per score bin vs the diagonal.

    Points below the diagonal are over-confident, above it under-confident. Each point's size and
    label give how many reviews fell in its bin, and its whiskers the 95 % interval of that share:
    a bin of 2 reviews says almost nothing. ECE is the gap averaged over reviews.
    """
    import numpy as np

    from finetune_kit.sentiment.analysis import wilson_interval
    from finetune_kit.sentiment.metrics import calibration_table, expected_calibration_error

    y_true, scores = _arrays(y_true, scores)
    table = calibration_table(y_true, scores, n_bins=n_bins)
    ece = expected_calibration_error(y_true, scores, n_bins=n_bins)
    positives = (table["positive_rate"] * table["count"]).round().astype(int)
    bounds = np.array([wilson_interval(k, n) for k, n in zip(positives, table["count"], strict=True)])
    fig, ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
    ax.errorbar(table["mean_score"], table["positive_rate"], fmt="none", ecolor="tab:blue", alpha=0.5, capsize=2,
                yerr=[table["positive_rate"] - bounds[:, 0], bounds[:, 1] - table["positive_rate"]])
    sizes = 25 + 250 * np.sqrt(table["count"] / table["count"].max())
    ax.scatter(table["mean_score"], table["positive_rate"], s=sizes, color="tab:blue", alpha=0.8, zorder=3,
               label="model (size = reviews in bin)")
    for _, row in table.iterrows():
        ax.annotate(f"{int(row['count'])}", (row["mean_score"], row["positive_rate"]), textcoords="offset points",
                    xytext=(9, -10), fontsize=7, color="dimgrey")
    ax.set(xlabel="mean score in bin (P(positive))", ylabel="share truly positive", xlim=(-0.03, 1.03),
           ylim=(-0.05, 1.08), title=f"Reliability diagram (ECE {ece:.3f})")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def score_histogram(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5,
                    ax: Any = None) -> Any:
    """How the scores of truly negative and truly positive reviews spread: overlap is where errors live."""
    import numpy as np

    y_true, scores = _arrays(y_true, scores)
    fig, ax = _axes(ax)
    bins = np.linspace(0, 1, 21)
    for label in (0, 1):
        values = scores[y_true == label]
        ax.hist(values, bins=bins, alpha=0.4, color=CLASS_COLOURS[label],
                label=f"truly {CLASS_NAMES[label]} ({len(values)})")
        ax.hist(values, bins=bins, histtype="step", lw=1.5, color=CLASS_COLOURS[label])
    ax.axvline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:g}")
    # A fine-tuned model piles most reviews at 0 and 1; a log scale keeps the few in between visible.
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7)
    ax.set(xlabel="score = P(positive)", ylabel="reviews (log scale)", xlim=(0, 1), title="Scores per true class")
    ax.legend(loc="upper center", fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return fig


def threshold_curve(y_true: Sequence[int], scores: Sequence[float], *, chosen: float | None = None,
                    ax: Any = None) -> Any:
    """Precision, recall and F1 as the threshold moves; marks the best-F1 threshold (and ``chosen``).

    Pick the threshold on *validation* scores; drawing it on test scores is fine for looking, not for
    choosing.
    """
    import numpy as np

    from finetune_kit.sentiment.metrics import best_f1_threshold, threshold_sweep

    y_true, scores = _arrays(y_true, scores)
    sweep = threshold_sweep(y_true, scores)
    best = best_f1_threshold(y_true, scores)
    fig, ax = _axes(ax)
    for column, colour in (("precision", "tab:green"), ("recall", "tab:purple"), ("f1", "tab:blue")):
        ax.plot(sweep["threshold"], sweep[column], color=colour, lw=2 if column == "f1" else 1.2,
                label=column.upper() if column == "f1" else column)
    best_f1 = float(sweep.loc[sweep["threshold"] == best, "f1"].iloc[0])
    ax.axvline(best, color="tab:blue", ls=":", lw=1)
    ax.plot(best, best_f1, "o", color="tab:blue", label=f"best F1 {best_f1:.3f} at {best:g}")
    if chosen is not None:
        ax.axvline(chosen, color="black", ls="--", lw=1, label=f"chosen {chosen:g}")
    # Zoom in on where the curves are: a good model's lie between 0.9 and 1.
    lowest = float(sweep.loc[sweep["threshold"].between(0.05, 0.95), ["precision", "recall", "f1"]].min().min())
    ax.set(xlabel="threshold (say positive if score ≥ threshold)", ylabel="value", xlim=(0, 1),
           ylim=(max(0.0, np.floor((lowest - 0.02) * 10) / 10), 1.005), title="Choosing a threshold")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


#: picture name -> function(y_true, scores, threshold=..., ax=...) ; the order of the dashboard panels
EVALUATION_PLOTS = {
    "confusion_matrix": lambda y, s, t, ax: confusion_matrix(y, s, threshold=t, ax=ax),
    "precision_recall_curve": lambda y, s, t, ax: precision_recall_curve(y, s, threshold=t, ax=ax),
    "roc_curve": lambda y, s, t, ax: roc_curve(y, s, threshold=t, ax=ax),
    "reliability_diagram": lambda y, s, t, ax: reliability_diagram(y, s, ax=ax),
    "score_histogram": lambda y, s, t, ax: score_histogram(y, s, threshold=t, ax=ax),
    "threshold_curve": lambda y, s, t, ax: threshold_curve(y, s, chosen=t, ax=ax),
}


def evaluation_dashboard(y_true: Sequence[int], scores: Sequence[float], *, threshold: float = 0.5,
                         title: str | None = None) -> Any:
    """All six evaluation pictures in one figure (2 rows of 3), for a notebook."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.2))
    for draw, ax in zip(EVALUATION_PLOTS.values(), axes.flat, strict=True):
        draw(y_true, scores, threshold, ax)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    return fig


def save_evaluation_plots(y_true: Sequence[int], scores: Sequence[float], directory: Path | str, *,
                          threshold: float = 0.5) -> list[Path]:
    """Each evaluation picture as ``<name>.png`` in ``directory``, plus ``dashboard.png``; returns the paths."""
    plt = _plt()
    directory = Path(directory)
    paths = []
    for name, draw in EVALUATION_PLOTS.items():
        fig = draw(y_true, scores, threshold, None)
        fig.tight_layout()
        paths.append(save(fig, directory / f"{name}.png"))
        plt.close(fig)
    fig = evaluation_dashboard(y_true, scores, threshold=threshold)
    paths.append(save(fig, directory / "dashboard.png"))
    plt.close(fig)
    return paths


# --- error analysis and cross-validation ----------------------------------------------------------


def slice_accuracy(report: Any, *, overall: float | None = None) -> Any:
    """Accuracy per slice group with its 95 % interval and size, one panel per slice.

    ``report`` is ``analysis.slice_report(...)`` (columns slice, group, n, accuracy, low, high). Wide
    whiskers mean few reviews: do not read much into them.
    """
    plt = _plt()
    slices = list(dict.fromkeys(report["slice"]))
    heights = [max(1.2, 0.38 * (report["slice"] == s).sum() + 0.7) for s in slices]
    fig, axes = plt.subplots(len(slices), 1, figsize=(7.5, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    low_end = max(0.0, min(0.5, float(report["low"].min()) - 0.05))
    for name, ax in zip(slices, axes[:, 0], strict=True):
        part = report[report["slice"] == name].iloc[::-1]  # worst at the top
        y = range(len(part))
        ax.barh(list(y), part["accuracy"], color="tab:blue", alpha=0.35, height=0.6)
        ax.errorbar(part["accuracy"], list(y), xerr=[part["accuracy"] - part["low"], part["high"] - part["accuracy"]],
                    fmt="o", color="tab:blue", capsize=3, ms=4)
        ax.set_yticks(list(y), [f"{g}  (n={n})" for g, n in zip(part["group"], part["n"], strict=True)], fontsize=8)
        if overall is not None:
            ax.axvline(overall, color="black", ls="--", lw=1, label=f"all reviews {overall:.3f}")
            ax.legend(loc="lower left", fontsize=7)
        ax.set_xlim(low_end, 1.0)
        ax.set_title(f"accuracy by {name}", fontsize=10, loc="left")
        ax.grid(alpha=0.3, axis="x")
    axes[-1, 0].set_xlabel("accuracy (dot) with 95% interval (whiskers)")
    fig.tight_layout()
    return fig


def bias_probe(summary: Any) -> Any:
    """Mean and largest score change per identity swap, labelled with how many predictions flipped.

    ``summary`` is ``analysis.bias_summary(...)``. A fair model has bars near zero and no flips.
    """
    plt = _plt()
    part = summary.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(part) + 1.2))
    y = list(range(len(part)))
    ax.barh(y, part["max_abs_change"], color="tab:red", alpha=0.25, height=0.6, label="largest change")
    ax.barh(y, part["mean_abs_change"], color="tab:red", alpha=0.8, height=0.35, label="mean change")
    for yi, (_, row) in zip(y, part.iterrows(), strict=True):
        ax.text(row["max_abs_change"], yi, f"  {row['flipped']}/{row['pairs']} flipped", va="center", fontsize=8)
    ax.set_yticks(y, part["swap"], fontsize=8)
    ax.set_xlim(0, max(0.1, float(part["max_abs_change"].max()) * 1.35))
    ax.set(xlabel="|change in P(positive)| when only the identity term changes", title="Bias probe")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def cross_validation(folds: Any, *, single: Mapping[str, float] | None = None,
                     metrics: Sequence[str] = ("accuracy", "f1", "roc_auc")) -> Any:
    """Each fold's score (dots), their mean ± one standard deviation (bar), and the single split's (×).

    ``folds`` has one row per fold and a column per metric (``CrossValidation.folds``).
    """
    import numpy as np

    plt = _plt()
    metrics = [m for m in metrics if m in folds.columns]
    fig, ax = plt.subplots(figsize=(1.9 * len(metrics) + 4.5, 3.8))
    rng = np.random.default_rng(0)
    for i, metric in enumerate(metrics):
        values = folds[metric].to_numpy(dtype=float)
        mean, std = float(np.nanmean(values)), float(np.nanstd(values, ddof=1)) if len(values) > 1 else 0.0
        ax.errorbar(i, mean, yerr=std, fmt="s", color="tab:blue", capsize=8, ms=7,
                    label="mean ± std over folds" if i == 0 else None)
        ax.plot(i + rng.uniform(-0.12, 0.12, len(values)), values, "o", color="tab:blue", alpha=0.45, ms=5,
                label="one fold" if i == 0 else None)
        ax.annotate(f"{mean:.3f} ± {std:.3f}", (i, mean), textcoords="offset points", xytext=(14, -3), fontsize=8)
        if single and metric in single:
            ax.plot(i, single[metric], "x", color="black", ms=9, mew=2,
                    label="single 80/10/10 split (test)" if i == 0 else None)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_xlim(-0.6, len(metrics) - 0.1)
    ax.set(ylabel="score", title=f"Cross-validation: {len(folds)} folds")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
