"""Accuracy: the share of predictions equal to the reference label (scikit-learn ``accuracy_score``).

Same name, inputs, arguments and output as the Hub's ``evaluate-metric/accuracy``.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score

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
    >>> accuracy = evaluate.load("finetune_kit/metric_modules/accuracy")
    >>> accuracy.compute(references=[0, 1, 1, 0], predictions=[0, 1, 0, 0])
    {'accuracy': 0.75}
"""

_CITATION = "Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, pp. 2825-2830, 2011."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html"],
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        score = accuracy_score(references, predictions, normalize=normalize, sample_weight=sample_weight)
        return {"accuracy": float(score)}
