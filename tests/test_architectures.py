"""Does each task get an architecture that can produce its kind of output, whatever fitting class is picked?"""

import pytest
import transformers
from transformers import AutoModelForSeq2SeqLM, AutoModelForSequenceClassification, VisionEncoderDecoderModel

from finetune_kit.tasks import architectures

AUTO = {
    "sentiment-analysis": (AutoModelForSequenceClassification, "BertForSequenceClassification"),
    "legal-summarization": (AutoModelForSeq2SeqLM, "T5ForConditionalGeneration"),
    "image-captioning": (VisionEncoderDecoderModel, "VisionEncoderDecoderModel"),
}


@pytest.mark.parametrize("task", list(AUTO))
def test_an_auto_class_gets_the_tasks_default_family(task):
    cls, built = AUTO[task]
    model = architectures.tiny_model(task, cls)
    out = architectures.forward_once(model, task)
    assert type(model).__name__ == built
    expected_kind = "label scores" if task == "sentiment-analysis" else "generated token ids"
    assert out["kind"] == expected_kind
    assert out["shape"][0] == 1


@pytest.mark.parametrize("task, name", [
    ("sentiment-analysis", "DistilBertForSequenceClassification"),
    ("sentiment-analysis", "RobertaForSequenceClassification"),
    ("legal-summarization", "BartForConditionalGeneration"),
    ("legal-summarization", "PegasusForConditionalGeneration"),
    ("legal-summarization", "LEDForConditionalGeneration"),
    ("legal-summarization", "EncoderDecoderModel"),  # BERT2BERT
    ("image-captioning", "AutoModelForImageTextToText"),
])
def test_a_concrete_class_gets_a_tiny_config_of_its_own_family(task, name):
    model = architectures.tiny_model(task, getattr(transformers, name))
    out = architectures.forward_once(model, task)
    assert out["kind"] == ("label scores" if task == "sentiment-analysis" else "generated token ids")
    if not name.startswith("Auto"):
        assert type(model).__name__ == name


def test_the_package_does_not_say_which_class_fits_which_task():
    """Is the model-class exercise's answer absent from the package (it lives in autograde/reference)?"""
    for task in architectures.TASKS.values():
        assert not hasattr(task, "model_class")


def test_bert_writes_text_only_as_a_decoder_or_bert2bert():
    message = architectures.bert_for_summaries()
    first, second, third = message.splitlines()
    assert "refused" in first and "BertConfig" in first
    assert "BertLMHeadModel" in second and "EncoderDecoderModel" in third


def test_not_a_class_is_a_clear_error():
    with pytest.raises(TypeError, match="must be a class"):
        architectures.tiny_model("sentiment-analysis", "AutoModel")


def test_unknown_task_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown task"):
        architectures.tiny_model("translation", AutoModelForSeq2SeqLM)
