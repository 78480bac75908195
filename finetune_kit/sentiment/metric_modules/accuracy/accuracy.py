"""Accuracy: the share of predictions equal to the reference label (scikit-learn ``accuracy_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/accuracy``.
"""

from sklearn.metrics import accuracy_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

_DESCRIPTION = "Accuracy = (TP + TN) / (TP + TN + FP + FN): the share of predictions that are correct."

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted labels.
    references (`list` of `int`): true labels.
    normalize (`bool`): return the share (default) or, with False, the count of correct predictions.
    sample_weight (`list` of `float`): optional weight per example.
Returns:
    accuracy (`float`): between 0 and 1 (or a count with normalize=False).
Example:
    >>> accuracy = evaluate.load("finetune_kit/sentiment/metric_modules/accuracy")
    >>> accuracy.compute(references=[0, 1, 1, 0], predictions=[0, 1, 0, 0])
    {'accuracy': 0.75}
"""

Accuracy = sklearn_metric("Accuracy", "accuracy", accuracy_score, "labels", _DESCRIPTION, _KWARGS_DESCRIPTION)
