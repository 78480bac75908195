"""Monitoring a deployed model: log what it sees and says, then check whether that drifts.

Two different things are called "monitoring" on Azure ML, and they run on different clocks:

- **Endpoint metrics and logs are near real-time.** Requests per minute, latency, HTTP errors,
  CPU and memory of the deployment go to Azure Monitor (charts and alerts within a minute or two);
  the container's logs stream with ``az ml online-deployment get-logs``.
- **Data drift, prediction drift and data quality are scheduled jobs.** A model monitor
  (``az ml schedule create``) runs, for example, once a day: it reads the inputs and outputs the
  *data collector* stored in Blob storage and compares them with a reference window (the training
  or test data). It does not watch individual requests as they happen.

This module does both halves on your machine. ``DataCollector`` logs each request's inputs and
outputs in the shape Azure ML's data collector writes (``azureml-ai-monitoring``'s ``Collector``
when the deployment enables it, JSON lines in the same layout otherwise); ``drift_report`` is the
small version of the scheduled job: population stability index and a two-sample
Kolmogorov–Smirnov test of text length and predicted score against the test split.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

#: The collection names Azure ML's model monitors look for.
INPUTS, OUTPUTS = "model_inputs", "model_outputs"
ENV_COLLECT_DIR = "FINETUNE_KIT_COLLECT_DIR"
#: Features the drift check compares, each a column of the collected data.
FEATURES = ("n_words", "p_positive")
#: PSI below 0.1: no real change; 0.1–0.25: a moderate shift worth a look; above 0.25: a major shift.
PSI_BANDS = ((0.1, "stable"), (0.25, "moderate shift"), (float("inf"), "major shift"))


def default_collect_dir() -> Path:
    return Path(os.environ.get(ENV_COLLECT_DIR) or Path(tempfile.gettempdir()) / "finetune-kit" / "collected")


def _azure_collectors() -> tuple[Any, Any] | None:
    """Azure's ``Collector`` pair when this process runs in a deployment with data collection on, else None.

    Outside such a deployment the SDK reports "custom logging is not enabled" through ``on_error``
    as soon as a collector is built; that is how we know to fall back to local files.
    """
    try:
        from azureml.ai.monitoring import Collector
    except ImportError:  # optional: the kit works without the package
        return None
    problems: list[Exception] = []
    inputs = Collector(name=INPUTS, on_error=problems.append)
    outputs = Collector(name=OUTPUTS, on_error=problems.append)
    return None if problems else (inputs, outputs)


class DataCollector:
    """Log each request's inputs (text, length) and outputs (label, score) for monitoring.

    On an Azure deployment with ``data_collector`` enabled, the rows go through Azure's
    ``Collector`` to Blob storage. Anywhere else they are appended to
    ``<dir>/<collection>/<yyyy>/<MM>/<dd>/<HH>/<host>-<pid>.jsonl``, the layout and record shape
    Azure writes, so ``read_collected`` reads a local folder and a downloaded one alike.
    """

    def __init__(self, local_dir: Path | str | None, model_version: str, *, azure: tuple[Any, Any] | None = None):
        self.local_dir = Path(local_dir) if local_dir else None
        self.model_version = model_version
        self.azure = azure
        self.instance = f"{socket.gethostname()}-{os.getpid()}"

    @classmethod
    def from_environment(cls, model_version: str) -> DataCollector:
        azure = _azure_collectors()
        return cls(None if azure else default_collect_dir(), model_version, azure=azure)

    @property
    def destination(self) -> str:
        return "Azure ML data collector" if self.azure else f"local JSON lines under {self.local_dir}"

    def collect(self, texts: Sequence[str], predictions: Sequence[Any], *, request_id: str = "") -> None:
        inputs = [{"text": t, "n_words": len(t.split())} for t in texts]
        outputs = [{"label": p.label, "score": p.score, "p_positive": _p_positive(p)} for p in predictions]
        if self.azure:
            import pandas as pd

            inputs_collector, outputs_collector = self.azure
            context = inputs_collector.collect(pd.DataFrame(inputs))
            outputs_collector.collect(pd.DataFrame(outputs), context)
        elif self.local_dir is not None:
            correlation = request_id or str(uuid.uuid4())
            now = datetime.now(timezone.utc)
            for name, rows in ((INPUTS, inputs), (OUTPUTS, outputs)):
                self._append(name, now, _record(name, rows, correlation, self.model_version, now))

    def _append(self, collection: str, now: datetime, record: dict[str, Any]) -> None:
        folder = self.local_dir / collection / now.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        # One write() on an O_APPEND file: lines from several server workers do not interleave.
        fd = os.open(folder / f"{self.instance}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _p_positive(prediction: Any) -> float:
    return prediction.score if prediction.label == "positive" else 1.0 - prediction.score


def _record(collection: str, rows: list[dict[str, Any]], correlation: str, version: str,
            now: datetime) -> dict[str, Any]:
    """One line of collected data, as Azure ML's data collector writes it (CloudEvents envelope)."""
    from finetune_kit import __version__

    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"local/{socket.gethostname()}",
        "type": f"azureml.inference.{collection}",
        "datacontenttype": "application/json",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": rows,
        "correlationid": correlation,
        "xrequestid": correlation,
        "modelversion": version,
        "collectdatatype": "pandas.core.frame.DataFrame",
        "agent": f"finetune-kit/{__version__}",
    }


def read_collected(root: Path | str) -> Any:
    """The collected requests as one row per text: inputs joined to outputs by correlation id.

    ``root`` is a local collection folder or one downloaded from the workspace's Blob storage
    (``modelDataCollector/<endpoint>/<deployment>``); both hold ``model_inputs/`` and ``model_outputs/``.
    """
    import pandas as pd

    root = Path(root)
    frames = {}
    for name in (INPUTS, OUTPUTS):
        rows = []
        for path in sorted((root / name).rglob("*.jsonl")):
            for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}, line {line_no}: not JSON ({err.msg})") from None
                for position, row in enumerate(record.get("data", [])):
                    rows.append({"correlationid": record.get("correlationid"), "position": position,
                                 "time": record.get("time"), "modelversion": record.get("modelversion"), **row})
        frames[name] = pd.DataFrame(rows)
    if frames[INPUTS].empty or frames[OUTPUTS].empty:
        raise FileNotFoundError(f"{root}: no collected requests (expected {INPUTS}/ and {OUTPUTS}/ with .jsonl files)")
    outputs = frames[OUTPUTS].drop(columns=["time", "modelversion"])
    return frames[INPUTS].merge(outputs, on=["correlationid", "position"], how="inner")


# --- drift ----------------------------------------------------------------------------------------


def psi(reference: Sequence[float], current: Sequence[float], *, bins: int = 10) -> float:
    """Population stability index: sum over bins of (cur% − ref%) · ln(cur% / ref%).

    Bins are quantiles of the reference, (−∞, q1], (q1, q2], …, so each holds about the same share
    of it (ties permitting: word counts are whole numbers). Small windows get fewer bins (at least
    about 10 current values per bin) and every bin half a count more (additive smoothing):
    otherwise one empty bin in a window of a few dozen requests reads as a "major shift".
    """
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        raise ValueError("psi needs at least one reference and one current value")
    bins = max(2, min(bins, min(reference.size, current.size) // 10))
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=edges.size + 1) + 0.5
    cur_counts = np.bincount(np.searchsorted(edges, current, side="left"), minlength=edges.size + 1) + 0.5
    ref_share, cur_share = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def psi_verdict(value: float) -> str:
    return next(label for limit, label in PSI_BANDS if value < limit)


@dataclass
class DriftResult:
    feature: str
    psi: float
    verdict: str
    ks_statistic: float
    ks_pvalue: float
    reference_mean: float
    current_mean: float
    n_reference: int
    n_current: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def drift_report(reference: Any, current: Any, features: Sequence[str] = FEATURES) -> list[DriftResult]:
    """PSI and a two-sample KS test for each feature (columns of two data frames)."""
    from scipy.stats import ks_2samp

    results = []
    for feature in features:
        for name, frame in (("reference", reference), ("current", current)):
            if feature not in frame:
                raise ValueError(f"the {name} data has no column {feature!r}; columns: {list(frame.columns)}")
        ref, cur = reference[feature].to_numpy(float), current[feature].to_numpy(float)
        value = psi(ref, cur)
        ks = ks_2samp(ref, cur)
        results.append(DriftResult(feature, round(value, 4), psi_verdict(value), round(float(ks.statistic), 4),
                                   float(ks.pvalue), float(ref.mean()), float(cur.mean()), ref.size, cur.size))
    return results


def reference_window(classifier: Any, texts: Sequence[str]) -> Any:
    """What the model saw and said on the reference texts (the test split): the baseline of the drift check.

    Like Azure's monitor, the baseline is computed once per model and reference data, not again at
    every scheduled check: it is kept for as long as the classifier object lives.
    """
    import pandas as pd

    texts = tuple(texts)
    try:
        kept = _BASELINES.setdefault(classifier, {})
    except TypeError:  # not weak-referenceable: computed every time
        kept = {}
    if texts not in kept:
        probs = classifier.predict_proba(list(texts))
        positive = next(i for i, name in classifier.labels.items() if name == "positive")
        kept[texts] = pd.DataFrame({"text": list(texts), "n_words": [len(t.split()) for t in texts],
                                    "p_positive": probs[:, positive]})
    return kept[texts].copy()


#: Baselines by classifier (dropped with it) and reference texts.
_BASELINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def format_report(results: Sequence[DriftResult]) -> str:
    lines = [f"{'feature':<12} {'PSI':>7}  {'verdict':<15} {'KS stat':>8} {'KS p':>9}  {'mean ref → now':>18}"]
    for r in results:
        lines.append(f"{r.feature:<12} {r.psi:>7.3f}  {r.verdict:<15} {r.ks_statistic:>8.3f} {r.ks_pvalue:>9.3g}  "
                     f"{r.reference_mean:>8.2f} → {r.current_mean:<8.2f}")
    return "\n".join(lines)


def drift_check(classifier: Any, reference_texts: Sequence[str], collect_dir: Path | str,
                *, plot_path: Path | str | None = None) -> tuple[list[DriftResult], Any]:
    """The scheduled monitor in miniature: reference (test split) vs collected requests, plus a plot."""
    from finetune_kit.course import plots

    reference = reference_window(classifier, reference_texts)
    current = read_collected(collect_dir)
    results = drift_report(reference, current)
    fig = plot_drift(reference, current, results)
    if plot_path:
        plots.save(fig, plot_path)
    return results, fig


def plot_drift(reference: Any, current: Any, results: Sequence[DriftResult]) -> Any:
    """One histogram per feature, reference vs collected requests, with PSI and verdict in the title."""
    from finetune_kit.course import plots

    plt = plots._plt()
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.4), squeeze=False)
    titles = {"n_words": "text length (words)", "p_positive": "predicted P(positive)"}
    for ax, result in zip(axes[0], results, strict=True):
        ref, cur = reference[result.feature].to_numpy(float), current[result.feature].to_numpy(float)
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=20)
        ax.hist(ref, bins=edges, density=True, alpha=0.55, label=f"reference (test split, n={ref.size})")
        ax.hist(cur, bins=edges, density=True, alpha=0.55, label=f"requests (n={cur.size})")
        ax.set(title=f"{titles.get(result.feature, result.feature)}\nPSI {result.psi:.2f}: {result.verdict}",
               ylabel="density")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)  # shown once, as the value of a notebook cell, not again by the inline backend
    return fig
