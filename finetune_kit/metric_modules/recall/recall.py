"""Recall: of the positive reviews, the share the model finds (scikit-learn ``recall_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/recall``.
"""

import datasets
import evaluate
from sklearn.metrics import recall_score

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
    >>> recall = evaluate.load("finetune_kit/metric_modules/recall")
    >>> recall.compute(references=[0, 1, 1, 0, 1], predictions=[0, 1, 0, 1, 1])
    {'recall': 0.6666666666666666}
"""

_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, pp. 2825-2830, 2011."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Recall(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.recall_score.html"],
        )

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary",
                 sample_weight=None, zero_division="warn"):
        score = recall_score(references, predictions, labels=labels, pos_label=pos_label, average=average,
                             sample_weight=sample_weight, zero_division=zero_division)
        # scikit-learn >= 1.6 returns a plain float for one score, an array for several
        return {"recall": score if getattr(score, "size", 1) > 1 else float(score)}
