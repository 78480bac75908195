"""Average precision: the area under the precision-recall curve, as a weighted mean of precisions.

Computed with scikit-learn ``average_precision_score``. The Hub has no canonical module of this
name, so online and offline runs both load this one.
"""

from sklearn.metrics import average_precision_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

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
    >>> ap = evaluate.load("finetune_kit/sentiment/metric_modules/average_precision")
    >>> ap.compute(references=[0, 0, 1, 1], prediction_scores=[0.1, 0.4, 0.35, 0.8])
    {'average_precision': 0.8333333333333333}
"""

AveragePrecision = sklearn_metric("AveragePrecision", "average_precision", average_precision_score, "scores",
                                  _DESCRIPTION, _KWARGS_DESCRIPTION)
