"""Which architecture fits which task (Part 1, application task).

Part 1 asks students to pick a pre-trained model for three tasks. The choice that matters is the
*architecture family*, because it decides what the model can output at all:

* an **encoder** (BERT, DistilBERT, MiniLM) turns text into vectors: perfect for classification,
  and for *extractive* summarisation (score each sentence, keep the best); a BERT *classifier* cannot
  write new sentences;
* an **encoder-decoder** (T5, BART, Pegasus, LED, or BERT2BERT: two BERT checkpoints joined in
  ``EncoderDecoderModel``) reads a document and *generates* a new text: the right family for
  abstractive summaries of legal documents;
* a **vision encoder + text decoder** (ViT + GPT-2 in ``VisionEncoderDecoderModel``) reads pixels and
  writes a caption.

``tiny_model`` builds a randomly initialised model of whatever class the student picked, with a tiny
configuration of that class's family, so a forward pass runs offline in milliseconds. Which class fits
which task is the student's exercise: its answer is in the instructor's reference, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    task: str
    checkpoints: tuple[str, ...]  # real pre-trained checkpoints worth fine-tuning on Azure
    output: str
    default_family: str  # the tiny config an Auto class gets for this task (a ``model_type``)


TASKS: dict[str, Task] = {
    "sentiment-analysis": Task(
        task="sentiment-analysis",
        checkpoints=("distilbert-base-uncased", "bert-base-uncased", "roberta-base"),
        output="one score per label",
        default_family="bert",
    ),
    "legal-summarization": Task(
        task="legal-summarization",
        checkpoints=("t5-small", "facebook/bart-large-cnn", "google/pegasus-billsum", "allenai/led-base-16384"),
        output="a newly written summary (token ids)",
        default_family="t5",
    ),
    "image-captioning": Task(
        task="image-captioning",
        checkpoints=("google/vit-base-patch16-224-in21k + gpt2", "nlpconnect/vit-gpt2-image-captioning"),
        output="a generated caption (token ids)",
        default_family="vision-encoder-decoder",
    ),
}

VOCAB = 1000  # every tiny text model has this vocabulary; ids 0 (pad/start) and 1 (end) are special
_TEXT = {"vocab_size": VOCAB, "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 0}


def _bert(**extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, pad_token_id=0, **extra)


def _bart_like(config_class: Any) -> Any:
    return config_class(**_TEXT, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=64, decoder_start_token_id=0)


def _tiny_family(model_type: str) -> Any:
    """A configuration of one family (``model_type``), small enough to build and run in milliseconds."""
    import transformers as tf

    if model_type == "bert":
        return _bert(num_labels=2)
    if model_type == "distilbert":
        return tf.DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=2)
    if model_type == "roberta":
        return tf.RobertaConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=64, num_labels=2, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    if model_type == "t5":
        return tf.T5Config(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                           num_heads=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    if model_type in ("bart", "pegasus"):
        return _bart_like(tf.BartConfig if model_type == "bart" else tf.PegasusConfig)
    if model_type == "led":
        return tf.LEDConfig(**_TEXT, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                            max_encoder_position_embeddings=64, max_decoder_position_embeddings=64,
                            attention_window=8, decoder_start_token_id=0)
    if model_type == "encoder-decoder":  # BERT2BERT: a BERT encoder and a BERT decoder with cross-attention
        config = tf.EncoderDecoderConfig.from_encoder_decoder_configs(_bert(), _bert())
        config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 0, 0, 1
        return config
    if model_type == "vision-encoder-decoder":
        encoder = tf.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                               num_attention_heads=2, intermediate_size=64)
        decoder = tf.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=1)
        config = tf.VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
        config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 0, 1, 1
        return config
    raise ValueError(f"the kit has no tiny {model_type!r} configuration; tiny families: {', '.join(TINY_FAMILIES)}")


#: The families ``tiny_model`` can build (an Auto class gets its task's ``default_family``).
TINY_FAMILIES = ("bert", "distilbert", "roberta", "t5", "bart", "pegasus", "led", "encoder-decoder",
                 "vision-encoder-decoder")


def _tiny_config(task: str, model_class: Any) -> Any:
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}")
    model_type = getattr(getattr(model_class, "config_class", None), "model_type", "") or TASKS[task].default_family
    return _tiny_family(model_type)


def tiny_model(task: str, model_class: Any) -> Any:
    """Build a randomly initialised model of ``model_class`` with a tiny config for ``task``.

    ``model_class`` is what the student picked: a concrete class (``BartForConditionalGeneration``) gets a
    tiny config of its own family, an Auto class (``AutoModelForSeq2SeqLM``) the task's default family.
    A class that does not fit the task raises the library's own error (for example BERT's config in a
    sequence-to-sequence Auto class), or fails in ``forward_once``.
    """
    import torch

    if not isinstance(model_class, type):
        raise TypeError(f"model_class must be a class from transformers, got {type(model_class).__name__}")
    config = _tiny_config(task, model_class)
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


def bert_for_summaries() -> str:
    """What transformers builds when we ask for a BERT that writes text: three tries, the library's own answers.

    1. ``AutoModelForSeq2SeqLM`` from a plain ``BertConfig``: refused, BERT alone is an encoder.
    2. ``BertLMHeadModel`` (``is_decoder=True``): a BERT *decoder* that generates left to right.
    3. BERT2BERT: ``EncoderDecoderModel`` joining a BERT encoder and a BERT decoder (with cross-attention),
       which ``AutoModelForSeq2SeqLM`` also builds from an ``EncoderDecoderConfig``.
    """
    import torch
    from transformers import AutoModelForSeq2SeqLM, BertLMHeadModel, logging

    lines = []
    try:
        AutoModelForSeq2SeqLM.from_config(_bert())
        lines.append("1. AutoModelForSeq2SeqLM + BertConfig: built (unexpected for this library version)")
    except ValueError as err:
        lines.append(f"1. AutoModelForSeq2SeqLM + BertConfig: refused: {str(err).splitlines()[0]}")
    torch.manual_seed(0)
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # no advice on stderr about generation settings
    try:
        decoder = BertLMHeadModel(_bert(is_decoder=True)).eval()
        bert2bert = AutoModelForSeq2SeqLM.from_config(_tiny_family("encoder-decoder")).eval()
        with torch.no_grad():
            ids = torch.randint(2, VOCAB, (1, 6))
            written = decoder.generate(input_ids=ids, max_new_tokens=4, do_sample=False, pad_token_id=0)
            summary = bert2bert.generate(input_ids=torch.randint(2, VOCAB, (1, 20)), max_new_tokens=4,
                                         do_sample=False)
    finally:
        logging.set_verbosity(verbosity)
    lines.append(f"2. {type(decoder).__name__} (a BERT decoder): wrote {written.shape[1] - ids.shape[1]} new tokens")
    lines.append(f"3. {type(bert2bert).__name__} (BERT2BERT: BERT encoder + BERT decoder): wrote a "
                 f"{summary.shape[1]}-token output")
    return "\n".join(lines)
