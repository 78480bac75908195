"""What the kit's metric modules share: an ``evaluate.Metric`` around one scikit-learn score.

Each module (``accuracy/accuracy.py``, ...) keeps what makes it itself (its name, the scikit-learn
function, its description and arguments) and gets the rest here. ``evaluate.load`` takes the first
metric class a module defines, so a module holds exactly one, made by ``sklearn_metric``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets
import evaluate

CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, pp. 2825-2830, 2011."

#: The two kinds of input: predicted labels (accuracy, F1, ...) or scores of the positive class (AUC, AP).
INPUTS = {
    "labels": {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")},
    "scores": {"references": datasets.Value("int32"), "prediction_scores": datasets.Value("float")},
}


def sklearn_metric(class_name: str, key: str, score: Callable[..., Any], inputs: str, description: str,
                   kwargs_description: str) -> type[evaluate.Metric]:
    """A metric class whose ``compute`` passes its arguments on to ``score(references, predictions or
    prediction_scores, **arguments)`` (scikit-learn's defaults are the Hub modules' defaults) and answers
    ``{key: value}``: a ``float``, or an array where scikit-learn gives one score per class."""
    predicted = "predictions" if inputs == "labels" else "prediction_scores"
    url = f"https://scikit-learn.org/stable/modules/generated/sklearn.metrics.{score.__name__}.html"

    def _info(self: evaluate.Metric) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(description=description, citation=CITATION, inputs_description=kwargs_description,
                                   features=datasets.Features(INPUTS[inputs]), reference_urls=[url])

    def _compute(self: evaluate.Metric, references: Any, **arguments: Any) -> dict[str, Any]:
        value = score(references, arguments.pop(predicted), **arguments)
        # scikit-learn >= 1.6 returns a plain float for one score, an array for several
        return {key: value if getattr(value, "size", 1) > 1 else float(value)}

    metric = type(class_name, (evaluate.Metric,), {"_info": _info, "_compute": _compute, "__module__": __name__})
    return evaluate.utils.file_utils.add_start_docstrings(description, kwargs_description)(metric)
