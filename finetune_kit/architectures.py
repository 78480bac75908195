"""Which architecture fits which task (Part 1, application task).

Part 1 asks students to pick a pre-trained model for three tasks. The choice that matters is the
*architecture family*, because it decides what the model can output at all:

* an **encoder** (BERT, DistilBERT, MiniLM) turns text into vectors: perfect for classification,
  and for *extractive* summarisation (score each sentence, keep the best), but it has no decoder, so
  it cannot write new sentences;
* an **encoder-decoder** (T5, BART, Pegasus, LED) reads a document and *generates* a new text:
  the right family for abstractive summaries of legal documents;
* a **vision encoder + text decoder** (ViT + GPT-2 in ``VisionEncoderDecoderModel``) reads pixels and
  writes a caption.

The tiny configurations below are randomly initialised so a forward pass runs offline in
milliseconds; the real, pre-trained checkpoints are listed in ``TASKS`` for the Azure profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskChoice:
    task: str
    model_class: str  # the transformers class that loads a model for this task
    family: str
    checkpoints: tuple[str, ...]  # real pre-trained checkpoints worth fine-tuning on Azure
    output: str


TASKS: dict[str, TaskChoice] = {
    "sentiment-analysis": TaskChoice(
        task="sentiment-analysis",
        model_class="AutoModelForSequenceClassification",
        family="encoder (BERT family) + a classification head",
        checkpoints=("distilbert-base-uncased", "bert-base-uncased", "roberta-base"),
        output="one score per label",
    ),
    "legal-summarization": TaskChoice(
        task="legal-summarization",
        model_class="AutoModelForSeq2SeqLM",
        family="encoder-decoder (sequence-to-sequence)",
        checkpoints=("t5-small", "facebook/bart-large-cnn", "google/pegasus-billsum", "allenai/led-base-16384"),
        output="a newly written summary (token ids)",
    ),
    "image-captioning": TaskChoice(
        task="image-captioning",
        model_class="VisionEncoderDecoderModel",
        family="vision encoder (ViT) + text decoder (GPT-2)",
        checkpoints=("google/vit-base-patch16-224-in21k + gpt2", "nlpconnect/vit-gpt2-image-captioning"),
        output="a generated caption (token ids)",
    ),
}


def _tiny_config(task: str) -> Any:
    """A configuration of the right family, small enough to build and run in milliseconds."""
    from transformers import BertConfig, GPT2Config, T5Config, VisionEncoderDecoderConfig, ViTConfig

    if task == "sentiment-analysis":
        return BertConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, num_labels=2,
        )
    if task == "legal-summarization":
        return T5Config(
            vocab_size=1000, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
            num_heads=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
        )
    if task == "image-captioning":
        encoder = ViTConfig(
            image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64,
        )
        decoder = GPT2Config(vocab_size=1000, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=1)
        config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
        config.decoder_start_token_id = 0
        config.pad_token_id = 1
        config.eos_token_id = 1
        return config
    raise ValueError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}")


def tiny_model(task: str, model_class: Any) -> Any:
    """Build a randomly initialised model of ``model_class`` with a tiny config for ``task``.

    ``model_class`` is what the student picked; a class that does not fit the task raises the
    library's own error (for example BERT's config in a sequence-to-sequence class).
    """
    import torch

    if not isinstance(model_class, type):
        raise TypeError(f"model_class must be a class from transformers, got {type(model_class).__name__}")
    config = _tiny_config(task)
    torch.manual_seed(0)
    from_config = getattr(model_class, "from_config", None)
    model = from_config(config) if from_config is not None else model_class(config)
    return model.eval()


def forward_once(model: Any, task: str) -> dict[str, Any]:
    """Run one forward pass (or a short generation) on dummy input and describe what came out."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        if task == "sentiment-analysis":
            logits = model(input_ids=torch.randint(2, 1000, (1, 12))).logits
            return {"kind": "label scores", "shape": tuple(logits.shape), "tensor": logits}
        if task == "legal-summarization":
            ids = model.generate(input_ids=torch.randint(2, 1000, (1, 40)), max_new_tokens=8, do_sample=False)
            return {"kind": "generated token ids", "shape": tuple(ids.shape), "tensor": ids}
        if task == "image-captioning":
            ids = model.generate(pixel_values=torch.rand(1, 3, 32, 32), max_new_tokens=8, do_sample=False)
            return {"kind": "generated token ids", "shape": tuple(ids.shape), "tensor": ids}
    raise ValueError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}")


def why_bert_cannot_summarize() -> str:
    """Ask transformers for a sequence-to-sequence BERT and return the library's own refusal."""
    from transformers import AutoModelForSeq2SeqLM, BertConfig

    try:
        AutoModelForSeq2SeqLM.from_config(BertConfig(hidden_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=64))
    except ValueError as err:
        first_line = str(err).splitlines()[0]
        return f"transformers refuses: {first_line}"
    return "transformers built a sequence-to-sequence BERT (unexpected for this library version)"
