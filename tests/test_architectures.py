"""Does each task get an architecture that can produce its kind of output?"""

import pytest
from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, VisionEncoderDecoderModel

from finetune_kit import architectures

RIGHT = {
    "sentiment-analysis": AutoModelForSequenceClassification,
    "legal-summarization": AutoModelForSeq2SeqLM,
    "image-captioning": VisionEncoderDecoderModel,
}


@pytest.mark.parametrize("task", list(RIGHT))
def test_right_class_runs_forward(task):
    model = architectures.tiny_model(task, RIGHT[task])
    out = architectures.forward_once(model, task)
    assert type(model).__name__ == {"sentiment-analysis": "BertForSequenceClassification",
                                    "legal-summarization": "T5ForConditionalGeneration",
                                    "image-captioning": "VisionEncoderDecoderModel"}[task]
    expected_kind = "label scores" if task == "sentiment-analysis" else "generated token ids"
    assert out["kind"] == expected_kind
    assert out["shape"][0] == 1


def test_table_names_the_same_classes():
    for task, cls in RIGHT.items():
        assert architectures.TASKS[task].model_class == cls.__name__


def test_bert_cannot_be_a_seq2seq_model():
    message = architectures.why_bert_cannot_summarize()
    assert message.startswith("transformers refuses") and "BertConfig" in message


def test_not_a_class_is_a_clear_error():
    with pytest.raises(TypeError, match="must be a class"):
        architectures.tiny_model("sentiment-analysis", "AutoModel")


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown task"):
        architectures.tiny_model("translation", AutoModelForSeq2SeqLM)
