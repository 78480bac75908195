"""F1: the harmonic mean of precision and recall (scikit-learn ``f1_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/f1``.
"""

import datasets
import evaluate
from sklearn.metrics import f1_score

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
    >>> f1 = evaluate.load("finetune_kit/metric_modules/f1")
    >>> f1.compute(references=[0, 1, 1, 0, 1], predictions=[0, 1, 0, 1, 1])
    {'f1': 0.6666666666666666}
"""

_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, pp. 2825-2830, 2011."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None):
        score = f1_score(references, predictions, labels=labels, pos_label=pos_label, average=average,
                         sample_weight=sample_weight)
        # scikit-learn >= 1.6 returns a plain float for one score, an array for several
        return {"f1": score if getattr(score, "size", 1) > 1 else float(score)}
