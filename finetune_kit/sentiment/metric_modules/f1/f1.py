"""F1: the harmonic mean of precision and recall (scikit-learn ``f1_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/f1``.
"""

from sklearn.metrics import f1_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

_DESCRIPTION = "F1 = 2 * precision * recall / (precision + recall) = 2TP / (2TP + FP + FN)."

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted labels.
    references (`list` of `int`): true labels.
    labels (`list` of `int`): labels to include when `average` is not "binary".
    pos_label (`int`): the class that counts as positive when `average="binary"` (default 1).
    average (`str`): "binary" (default), "micro", "macro", "weighted" or None (one score per class).
    sample_weight (`list` of `float`): optional weight per example.
Returns:
    f1 (`float`, or an array of floats with average=None): between 0 and 1.
Example:
    >>> f1 = evaluate.load("finetune_kit/sentiment/metric_modules/f1")
    >>> f1.compute(references=[0, 1, 1, 0, 1], predictions=[0, 1, 0, 1, 1])
    {'f1': 0.6666666666666666}
"""

F1 = sklearn_metric("F1", "f1", f1_score, "labels", _DESCRIPTION, _KWARGS_DESCRIPTION)
