"""Precision: of the reviews predicted positive, the share that are positive (scikit-learn ``precision_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/precision``.
"""

from sklearn.metrics import precision_score

from finetune_kit.sentiment.metric_modules._sklearn import sklearn_metric

_DESCRIPTION = "Precision = TP / (TP + FP): of everything predicted positive, the share that really is."

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
    precision (`float`, or an array of floats with average=None): between 0 and 1.
Example:
    >>> precision = evaluate.load("finetune_kit/sentiment/metric_modules/precision")
    >>> precision.compute(references=[0, 1, 1, 0, 1], predictions=[0, 1, 0, 1, 1])
    {'precision': 0.6666666666666666}
"""

Precision = sklearn_metric("Precision", "precision", precision_score, "labels", _DESCRIPTION, _KWARGS_DESCRIPTION)
