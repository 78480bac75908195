"""Reference answers to Part 1's code exercises (``part1_fundamentals`` and ``part1_applications``).

Each function's docstring is what the student sees above ``# YOUR CODE HERE``; its body is the solution
(``notebook_source.solution``). The kit's own commands use them too: ``summarize-train`` labels sentences
with ``label_sentences`` and ``caption-train`` builds its captioner with ``caption_config``.
"""

from __future__ import annotations

from transformers import (
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
)

from finetune_kit import summarization

#: The transformers classes the model-class test accepts per task (concrete classes of the right family too).
ACCEPTED_MODEL_CLASSES = {
    "sentiment-analysis": ("AutoModelForSequenceClassification", "BertForSequenceClassification",
                           "DistilBertForSequenceClassification", "RobertaForSequenceClassification"),
    "legal-summarization": ("AutoModelForSeq2SeqLM", "EncoderDecoderModel", "T5ForConditionalGeneration",
                            "BartForConditionalGeneration", "PegasusForConditionalGeneration",
                            "LEDForConditionalGeneration"),
    "image-captioning": ("VisionEncoderDecoderModel", "AutoModelForImageTextToText"),
}


def model_class_for(task: str):
    """Return the transformers class (not a string, not an instance) to load for `task`.

    `task` is "sentiment-analysis", "legal-summarization" (an abstractive summary: new text) or
    "image-captioning". An Auto class imported in the cell above works; so does any transformers
    class of the right family (for example `BartForConditionalGeneration`).
    """
    choices = {
        "sentiment-analysis": AutoModelForSequenceClassification,
        "legal-summarization": AutoModelForSeq2SeqLM,
        "image-captioning": VisionEncoderDecoderModel,
    }
    return choices[task]


def label_sentences(sentences: list[str], summary: str, k: int = 3) -> list[int]:
    """Return one int per sentence: 1 for each sentence the greedy ROUGE oracle selects (at most k), else 0.

    Score a candidate with `summarization.overlap_score(candidate, summary)`, where `candidate` joins
    the selected sentences with spaces in document order (sort the indices). Keep adding the sentence
    that raises the score most (the earlier one on a tie); stop when none raises it or k are selected.
    """
    chosen = []
    best = 0.0
    while len(chosen) < k:
        best_i, best_score = None, best
        for i in range(len(sentences)):
            if i in chosen:
                continue
            candidate = " ".join(sentences[j] for j in sorted(chosen + [i]))
            score = summarization.overlap_score(candidate, summary)
            if score > best_score:
                best_i, best_score = i, score
        if best_i is None:
            break
        chosen.append(best_i)
        best = best_score
    return [1 if i in chosen else 0 for i in range(len(sentences))]


def caption_config(encoder_config, decoder_config, tokenizer):
    """Return a VisionEncoderDecoderConfig joining the two configs, with the decoder's special ids set.

    Use `VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)`, then
    set `decoder_start_token_id` to the tokenizer's `bos_token_id`, and both `eos_token_id` and
    `pad_token_id` to its `eos_token_id` (GPT-2 has no padding token).
    """
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.eos_token_id
    return config
