"""ROC-AUC: the chance that a random positive review scores above a random negative one.

Computed with scikit-learn ``roc_auc_score``; same name, inputs, arguments and output as the Hub's
``evaluate-metric/roc_auc`` (binary configuration: one score per example).
"""

from sklearn.metrics import roc_auc_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

_DESCRIPTION = (
    "Area under the ROC curve (true-positive rate against false-positive rate over every threshold). "
    "0.5 is chance, 1.0 ranks every positive above every negative. It needs scores, not labels."
)

_KWARGS_DESCRIPTION = """
Args:
    references (`list` of `int`): true labels, 0 or 1.
    prediction_scores (`list` of `float`): the model's score for the positive class.
    average (`str`): ignored for binary labels (kept for the Hub module's signature).
    sample_weight (`list` of `float`): optional weight per example.
    max_fpr (`float`): if set, the standardised partial AUC over false-positive rates [0, max_fpr].
Returns:
    roc_auc (`float`): between 0 and 1.
Example:
    >>> roc_auc = evaluate.load("finetune_kit/sentiment/metric_modules/roc_auc")
    >>> roc_auc.compute(references=[0, 0, 1, 1], prediction_scores=[0.1, 0.4, 0.35, 0.8])
    {'roc_auc': 0.75}
"""

ROCAUC = sklearn_metric("ROCAUC", "roc_auc", roc_auc_score, "scores", _DESCRIPTION, _KWARGS_DESCRIPTION)
