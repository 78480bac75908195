"""Recall: of the positive reviews, the share the model finds (scikit-learn ``recall_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/recall``.
"""

from sklearn.metrics import recall_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

_DESCRIPTION = "Recall = TP / (TP + FN): of everything truly positive, the share the model finds."

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted labels.
    references (`list` of `int`): true labels.
    labels (`list` of `int`): labels to include when `average` is not "binary".
    pos_label (`int`): the class that counts as positive when `average="binary"` (default 1).
    average (`str`): "binary" (default), "micro", "macro", "weighted" or None (one score per class).
    sample_weight (`list` of `float`): optional weight per example.
    zero_division (`"warn"`, 0 or 1): the value when the score is undefined (0/0); "warn" gives 0 and warns.
Returns:
    recall (`float`, or an array of floats with average=None): between 0 and 1.
Example:
    >>> recall = evaluate.load("finetune_kit/sentiment/metric_modules/recall")
    >>> recall.compute(references=[0, 1, 1, 0, 1], predictions=[0, 1, 0, 1, 1])
    {'recall': 0.6666666666666666}
"""

Recall = sklearn_metric("Recall", "recall", recall_score, "labels", _DESCRIPTION, _KWARGS_DESCRIPTION)
