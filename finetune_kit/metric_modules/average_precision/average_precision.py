"""Average precision: the area under the precision-recall curve, as a weighted mean of precisions.

Computed with scikit-learn ``average_precision_score``. The Hub has no canonical module of this
name, so online and offline runs both load this one.
"""

import datasets
import evaluate
from sklearn.metrics import average_precision_score

_DESCRIPTION = (
    "AP = sum over thresholds of (R_n - R_{n-1}) * P_n: precision averaged over the recall levels the "
    "scores reach. A model that guesses scores the share of positives; a perfect ranking scores 1.0. "
    "It needs scores, not labels."
)

_KWARGS_DESCRIPTION = """
Args:
    references (`list` of `int`): true labels, 0 or 1.
    prediction_scores (`list` of `float`): the model's score for the positive class.
    pos_label (`int`): the positive class (default 1).
    sample_weight (`list` of `float`): optional weight per example.
Returns:
    average_precision (`float`): between 0 and 1.
Example:
    >>> ap = evaluate.load("finetune_kit/metric_modules/average_precision")
    >>> ap.compute(references=[0, 0, 1, 1], prediction_scores=[0.1, 0.4, 0.35, 0.8])
    {'average_precision': 0.8333333333333333}
"""

_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, pp. 2825-2830, 2011."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AveragePrecision(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"references": datasets.Value("int32"),
                                        "prediction_scores": datasets.Value("float")}),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.average_precision_score.html"
            ],
        )

    def _compute(self, references, prediction_scores, pos_label=1, sample_weight=None):
        score = average_precision_score(references, prediction_scores, pos_label=pos_label,
                                        sample_weight=sample_weight)
        return {"average_precision": float(score)}
