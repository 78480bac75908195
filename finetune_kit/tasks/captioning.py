"""Image captioning with a vision encoder and a text decoder (Part 1 application task, ``part1_applications``).

``VisionEncoderDecoderModel`` joins a ViT encoder (reads pixels) to a GPT-2 decoder (writes text)
through *cross-attention* layers that neither half was pre-trained with, so the pair must be
fine-tuned on image-caption pairs before it says anything useful.

* **offline / smoke**: tiny ViT and GPT-2 configurations trained from scratch, in minutes on a CPU, on
  pictures the kit draws itself (two coloured shapes, captions such as "a red circle left of a blue
  square"), with a word-level tokenizer built for that vocabulary. Nothing is downloaded.
* **azure**: ``google/vit-base-patch16-224-in21k`` + ``gpt2`` on a Flickr8k subset from the Hub.

Both are scored with corpus BLEU-4 (implemented here, as in Papineni et al. 2002) and ROUGE-L against
the best *constant* caption, the one sentence that scores highest when said for every image: a model
that does not look at the picture cannot beat it.

GPT-2 has no padding token and one token for start and end of text; the decoder's special tokens
must be set by hand (``pad = eos``, ``decoder_start_token_id = bos``), or training fails or the model
never learns to stop. Building that config is Part 1's exercise (``caption_config``): ``build_captioner``
takes it as ``config_fn``, and ``caption-train`` uses the instructor's reference (``finetune_kit.course.reference``).
``apply_special_tokens`` copies the ids onto the model.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune_kit.course.config import PROFILES, TINY_GPT2, TINY_VIT, CaptionSettings, Profile
from finetune_kit.tasks import small_trainers


def describe(profile: Profile) -> str:
    """One line for the notebook banner: what the captioning lesson uses under this profile."""
    s = profile.captioning
    if s.encoder == TINY_VIT:
        return (f"captioning: tiny ViT + GPT-2 trained from scratch on {s.train_images} pictures of shapes "
                f"drawn by the kit")
    return f"captioning: {s.encoder} + {s.decoder} fine-tuned on {s.dataset} from the Hugging Face Hub"


# --- the kit's pictures: two coloured shapes and where they are -------------------------------------

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30),
}
SHAPES = ("circle", "square", "triangle")
#: each relation and the one that says the same with the shapes swapped
RELATIONS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


@dataclass(frozen=True)
class CaptionedImage:
    """A picture and every caption that describes it correctly (references for BLEU)."""

    image: Any  # PIL.Image.Image
    captions: tuple[str, ...]


def _draw(draw: Any, shape: str, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=colour)


def make_shapes(n: int, seed: int = 0, image_size: int = 32) -> list[CaptionedImage]:
    """Draw ``n`` pictures of two different coloured shapes side by side or one above the other.

    Deterministic for a given ``seed``. Each picture has two correct captions, one naming each shape
    first ("a red circle left of a blue square" = "a blue square right of a red circle"), as real
    datasets have several captions per image.
    """
    from PIL import Image, ImageDraw

    if image_size < 24:
        raise ValueError(f"image_size must be at least 24 pixels, got {image_size}")
    rng = random.Random(seed)
    kinds = [(colour, shape) for colour in COLOURS for shape in SHAPES]
    half, out = image_size // 2, []
    for _ in range(n):
        first, second = rng.sample(kinds, 2)
        relation = rng.choice(list(RELATIONS))
        size = rng.randint(image_size * 11 // 32, image_size * 14 // 32)
        near, far = rng.randint(1, half - size), rng.randint(half + 1, image_size - size - 1)
        a, b = rng.randint(1, image_size - size - 1), rng.randint(1, image_size - size - 1)
        first_at, second_at = {
            "left of": ((near, a), (far, b)), "right of": ((far, a), (near, b)),
            "above": ((a, near), (b, far)), "below": ((a, far), (b, near)),
        }[relation]
        image = Image.new("RGB", (image_size, image_size), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        for (colour, shape), (x, y) in ((first, first_at), (second, second_at)):
            _draw(draw, shape, COLOURS[colour], (x, y, x + size, y + size))
        captions = (f"a {first[0]} {first[1]} {relation} a {second[0]} {second[1]}",
                    f"a {second[0]} {second[1]} {RELATIONS[relation]} a {first[0]} {first[1]}")
        out.append(CaptionedImage(image, captions))
    return out


def shapes_splits(settings: CaptionSettings) -> dict[str, list[CaptionedImage]]:
    """Train, validation and test pictures, each drawn from its own seed."""
    sizes = {"train": settings.train_images or 2000, "validation": settings.eval_images or 200,
             "test": settings.eval_images or 200}
    return {name: make_shapes(n, seed, settings.image_size) for seed, (name, n) in enumerate(sizes.items())}


class HubCaptions:
    """A Hub image-caption split (one ``image`` column, ``caption_0`` … ``caption_4``) as CaptionedImages."""

    def __init__(self, ds: Any):
        self.ds = ds
        self.caption_columns = sorted(c for c in ds.column_names if c.startswith("caption"))
        if "image" not in ds.column_names or not self.caption_columns:
            raise ValueError(f"expected an 'image' column and caption columns, got {ds.column_names}")

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> CaptionedImage:
        row = self.ds[int(i)]
        return CaptionedImage(row["image"].convert("RGB"), tuple(row[c] for c in self.caption_columns))


def load_hub_captions(settings: CaptionSettings) -> dict[str, HubCaptions]:
    """Flickr8k (or a dataset of the same shape) from the Hub, trimmed to the profile's sizes."""
    from datasets import load_dataset

    raw = load_dataset(settings.dataset)
    out = {}
    for name in ("train", "validation", "test"):
        ds = raw[name]
        limit = settings.train_images if name == "train" else settings.eval_images
        if limit is not None:
            ds = ds.select(range(min(limit, len(ds))))
        out[name] = HubCaptions(ds)
    return out


def load_splits(settings: CaptionSettings) -> dict[str, Any]:
    return shapes_splits(settings) if settings.dataset == "kit-shapes" else load_hub_captions(settings)


# --- tokenizer, image processor and the encoder-decoder --------------------------------------------


def caption_words(items: Any) -> list[str]:
    """Every word used in the captions, sorted: the vocabulary of the kit's word-level tokenizer."""
    return sorted({w for item in items for caption in item.captions for w in caption.split()})


def build_word_tokenizer(words: list[str]) -> Any:
    """A GPT-2-style tokenizer for a closed vocabulary: one id per word, ``<s>``/``</s>``, no pad token.

    Like GPT-2's, it adds no special tokens by itself and has no padding token: the caller decides.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def prepare_decoder_tokenizer(tokenizer: Any) -> Any:
    """GPT-2 has no padding token: pad with the end-of-text token, as the GPT-2 authors' code does."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def tiny_configs(settings: CaptionSettings, tokenizer: Any) -> tuple[Any, Any]:
    """A small ViT (8-pixel patches) and GPT-2 (2 layers each) sized for the kit's pictures and vocabulary."""
    from transformers import GPT2Config, ViTConfig

    encoder = ViTConfig(image_size=settings.image_size, patch_size=8, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=128)
    decoder = GPT2Config(vocab_size=len(tokenizer), n_positions=settings.max_caption_tokens + 4, n_embd=64,
                         n_layer=2, n_head=4, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    return encoder, decoder


def apply_special_tokens(model: Any, config: Any) -> Any:
    """Copy ``config``'s start, pad and end ids to the model's config *and* its generation config.

    ``generate`` reads ``model.generation_config``, which is made once when the model is built, so a
    model loaded with ``from_encoder_decoder_pretrained`` needs both updated.
    """
    names = ("decoder_start_token_id", "pad_token_id", "eos_token_id")
    for name in names:
        if getattr(config, name, None) is None:
            raise ValueError(f"the captioner's config has no {name}: set it from the tokenizer "
                             "(Part 1, caption_config)")
    for target in (model.config, model.generation_config):
        for name in names:
            setattr(target, name, getattr(config, name))
    model.config.decoder.pad_token_id = config.pad_token_id
    return model


def model_from_config(config: Any, seed: int = 0) -> Any:
    """A randomly initialised ``VisionEncoderDecoderModel`` (trained from scratch offline)."""
    import torch
    from transformers import VisionEncoderDecoderModel

    torch.manual_seed(seed)
    return apply_special_tokens(VisionEncoderDecoderModel(config=config), config)


ConfigFn = Callable[[Any, Any, Any], Any]


def build_captioner(settings: CaptionSettings, tokenizer: Any, config_fn: ConfigFn, seed: int = 0) -> Any:
    """The profile's captioner: tiny and from scratch offline, pre-trained ViT + GPT-2 on Azure.

    ``config_fn(encoder_config, decoder_config, tokenizer)`` joins the two halves and sets the
    special tokens (the notebook passes the student's ``caption_config``).
    """
    from transformers import AutoConfig, VisionEncoderDecoderModel

    if settings.encoder == TINY_VIT:
        return model_from_config(config_fn(*tiny_configs(settings, tokenizer), tokenizer), seed)
    # Say up front that the decoder gets cross-attention: transformers 5.24's GPT2Config has no
    # `is_decoder` attribute, and from_encoder_decoder_pretrained raises AttributeError when it checks
    # the attribute on a config it loaded itself.
    decoder_config = AutoConfig.from_pretrained(settings.decoder)
    decoder_config.is_decoder = True
    decoder_config.add_cross_attention = True
    model = VisionEncoderDecoderModel.from_encoder_decoder_pretrained(settings.encoder, settings.decoder,
                                                                      decoder_config=decoder_config)
    return apply_special_tokens(model, config_fn(model.config.encoder, model.config.decoder, tokenizer))


def load_tokenizer(settings: CaptionSettings, train_items: Any) -> Any:
    if settings.decoder == TINY_GPT2:
        return prepare_decoder_tokenizer(build_word_tokenizer(caption_words(train_items)))
    from transformers import AutoTokenizer

    return prepare_decoder_tokenizer(AutoTokenizer.from_pretrained(settings.decoder))


def load_image_processor(settings: CaptionSettings) -> Any:
    """ViT's image processor (PIL backend: no torchvision needed): resize and scale pixels to [-1, 1]."""
    from transformers import ViTImageProcessorPil

    if settings.encoder == TINY_VIT:
        size = {"height": settings.image_size, "width": settings.image_size}
        return ViTImageProcessorPil(size=size, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return ViTImageProcessorPil.from_pretrained(settings.encoder)


# --- training -----------------------------------------------------------------------------------------


def caption_labels(tokenizer: Any, caption: str, max_tokens: int) -> list[int]:
    """Token ids the decoder learns to write: the caption, then EOS so it learns to stop.

    Padding comes later as -100 (ignored by the loss): since pad = EOS for GPT-2, padding with the
    pad id would teach the model nothing about where to stop, or teach it to stop everywhere.
    """
    ids = tokenizer(caption.strip(), add_special_tokens=False)["input_ids"][: max_tokens - 1]
    return [*ids, tokenizer.eos_token_id]


class CaptionPairs:
    """Every (image, caption) pair of a split as training examples: ``pixel_values`` and ``labels``."""

    def __init__(self, items: Any, tokenizer: Any, processor: Any, max_tokens: int, *, cache_pixels: bool):
        self.items, self.tokenizer, self.processor, self.max_tokens = items, tokenizer, processor, max_tokens
        self.pairs = [(i, j) for i in range(len(items)) for j in range(len(items[i].captions))]
        # The kit's pictures are tiny: preprocess them once. Hub photos are processed when used.
        self.pixels = pixel_values(processor, [it.image for it in items]) if cache_pixels else None

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, k: int) -> dict:
        i, j = self.pairs[k]
        item = self.items[i]
        pixels = self.pixels[i] if self.pixels is not None else pixel_values(self.processor, [item.image])[0]
        return {"pixel_values": pixels, "labels": caption_labels(self.tokenizer, item.captions[j], self.max_tokens)}


@dataclass(frozen=True)
class CaptionCollator:
    """Batch (image, caption) examples for the encoder-decoder.

    Labels are padded with -100, which the loss ignores. The decoder's input is the labels shifted
    right behind ``decoder_start_token_id``, with its padded tail masked: built here explicitly (the
    model would otherwise build it and warn that the pad id, GPT-2's EOS, appears unmasked), and
    ``Seq2SeqTrainer`` drops both when it generates.
    """

    decoder_start_token_id: int
    pad_token_id: int

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        width = max(len(b["labels"]) for b in batch)
        labels = torch.tensor([b["labels"] + [-100] * (width - len(b["labels"])) for b in batch])
        start = torch.full_like(labels[:, :1], self.decoder_start_token_id)
        decoder_input_ids = torch.cat([start, labels[:, :-1].masked_fill(labels[:, :-1] == -100, self.pad_token_id)],
                                      dim=1)
        mask = torch.cat([torch.ones_like(start), (labels[:, :-1] != -100).long()], dim=1)
        return {"pixel_values": torch.stack([b["pixel_values"] for b in batch]), "labels": labels,
                "decoder_input_ids": decoder_input_ids, "decoder_attention_mask": mask}


def collator_for(model: Any) -> CaptionCollator:
    return CaptionCollator(model.config.decoder_start_token_id, model.config.pad_token_id)


def pixel_values(processor: Any, images: list) -> Any:
    return processor(images=images, return_tensors="pt")["pixel_values"]


def build_caption_trainer(model: Any, tokenizer: Any, processor: Any, splits: dict[str, Any],
                          settings: CaptionSettings, output_dir: Path | str | None = None) -> Any:
    """A ``Seq2SeqTrainer`` over (image, caption) pairs; on Azure it also evaluates every epoch.

    ``output_dir`` only holds the trainer's scratch files (nothing is saved): a temporary folder by default.
    """
    import torch
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

    cache = settings.dataset == "kit-shapes"
    train_ds = CaptionPairs(splits["train"], tokenizer, processor, settings.max_caption_tokens, cache_pixels=cache)
    eval_ds = CaptionPairs(splits["validation"], tokenizer, processor, settings.max_caption_tokens,
                           cache_pixels=cache)
    evaluate_each_epoch = settings.encoder != TINY_VIT  # offline, the final test score is enough
    args = Seq2SeqTrainingArguments(
        output_dir=str(output_dir or small_trainers.scratch_folder("captioner-")),
        num_train_epochs=settings.num_epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0.05,
        weight_decay=0.01,
        eval_strategy="epoch" if evaluate_each_epoch else "no",
        save_strategy="no",
        logging_strategy="epoch",
        predict_with_generate=evaluate_each_epoch,
        generation_max_length=settings.max_caption_tokens + 1,
        generation_num_beams=settings.num_beams,
        remove_unused_columns=False,
        fp16=torch.cuda.is_available(),
        dataloader_num_workers=0 if cache else min(4, os.cpu_count() or 1),  # decode photos in parallel
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        seed=42,
    )
    return Seq2SeqTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                          data_collator=collator_for(model), processing_class=tokenizer)


def fit(trainer: Any, settings: CaptionSettings) -> float:
    """Train with the profile's thread count; returns the wall time in seconds."""
    return small_trainers.train(trainer, settings.torch_threads)


def generate_captions(model: Any, tokenizer: Any, processor: Any, images: list, settings: CaptionSettings,
                      batch_size: int = 64) -> list[str]:
    """Write a caption for each image (greedy or beam search, as the profile says)."""
    import torch
    from transformers.utils import logging as hf_logging

    model.eval()
    out: list[str] = []
    previous = hf_logging.get_verbosity()
    # With pad = EOS, generate() warns that it cannot infer an attention mask; a picture has none to infer.
    hf_logging.set_verbosity_error()
    try:
        for start in range(0, len(images), batch_size):
            pixels = pixel_values(processor, images[start:start + batch_size]).to(model.device)
            with torch.no_grad():
                ids = model.generate(pixel_values=pixels, max_new_tokens=settings.max_caption_tokens,
                                     num_beams=settings.num_beams, do_sample=False)
            out += [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
    finally:
        hf_logging.set_verbosity(previous)
    return out


# --- BLEU, ROUGE-L and the constant-caption baseline -------------------------------------------------

_TOKEN = re.compile(r"\w+|[^\w\s]")


def bleu_tokens(text: str) -> list[str]:
    """Lower-case words and punctuation marks: "A dog." -> ["a", "dog", "."]."""
    return _TOKEN.findall(text.lower())


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class _References:
    """What BLEU needs from one image's references: clipped n-gram ceilings and their lengths."""

    max_counts: tuple[Counter, ...]  # per n: the most times any one reference uses each n-gram
    lengths: tuple[int, ...]


def _references(refs: list[str] | tuple[str, ...], max_n: int) -> _References:
    tokenized = [bleu_tokens(r) for r in refs]
    max_counts = []
    for n in range(1, max_n + 1):
        ceiling: Counter = Counter()
        for tokens in tokenized:
            ceiling |= _ngrams(tokens, n)  # | keeps the larger count of each n-gram
        max_counts.append(ceiling)
    return _References(tuple(max_counts), tuple(len(t) for t in tokenized))


def _bleu(hypotheses: list[list[str]], references: list[_References], max_n: int) -> float:
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            matches[n - 1] += sum(min(c, ref.max_counts[n - 1][g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
        hyp_len += len(hyp)
        # the reference length closest to the hypothesis; on a tie, the shorter one
        ref_len += min(ref.lengths, key=lambda r: (abs(r - len(hyp)), r))
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision)


def corpus_bleu(hypotheses: list[str], references: list[list[str] | tuple[str, ...]], max_n: int = 4) -> float:
    """Corpus BLEU-``max_n`` in percent (Papineni et al. 2002), without smoothing.

    n-gram matches are clipped per hypothesis by the most times any single reference uses that n-gram,
    then summed over the corpus before the precisions are combined (a geometric mean of n = 1..4);
    the brevity penalty compares the total hypothesis length with the total of the closest reference
    lengths. Any precision of zero gives 0, as in the original definition.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("corpus_bleu needs at least one hypothesis")
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not refs:
            raise ValueError(f"references[{i}] must be a non-empty list of strings (one image can have several)")
    return _bleu([bleu_tokens(h) for h in hypotheses], [_references(r, max_n) for r in references], max_n)


def rouge_l(hypotheses: list[str], references: list[list[str] | tuple[str, ...]]) -> float:
    """Mean ROUGE-L F1 in percent, each hypothesis scored against its best-matching reference."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    scores = [scorer.score_multi(list(refs), hyp)["rougeL"].fmeasure
              for hyp, refs in zip(hypotheses, references, strict=True)]
    return 100 * sum(scores) / len(scores)


def best_constant_caption(items: Any, max_candidates: int = 600, max_items: int = 500) -> str:
    """The one caption that scores the highest BLEU when said for every training image.

    Candidates are the most frequent training captions (ties go to the more frequent one); this is the
    baseline a captioner must beat to show that it looks at the picture at all.
    """
    items = [items[i] for i in range(min(len(items), max_items))]
    counts = Counter(c.strip() for item in items for c in item.captions)
    candidates = [c for c, _ in counts.most_common(max_candidates)]
    refs = [_references(item.captions, 4) for item in items]
    return max(candidates, key=lambda c: (_constant_bleu(bleu_tokens(c), refs, 4), counts[c]))


def _constant_bleu(hyp: list[str], refs: list[_References], max_n: int) -> float:
    """``_bleu([hyp] * len(refs), refs)``, counting the hypothesis' n-grams once instead of per image."""
    grams = [_ngrams(hyp, n) for n in range(1, max_n + 1)]
    matches = [sum(sum(min(c, r.max_counts[n][g]) for g, c in grams[n].items()) for r in refs) for n in range(max_n)]
    totals = [len(refs) * max(len(hyp) - n, 0) for n in range(max_n)]
    if not hyp or min(matches) == 0:
        return 0.0
    hyp_len = len(refs) * len(hyp)
    ref_len = sum(min(r.lengths, key=lambda x: (abs(x - len(hyp)), x)) for r in refs)
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision)


def caption_scores(hypotheses: list[str], references: list) -> dict[str, float]:
    return {"bleu4": round(corpus_bleu(hypotheses, references), 2), "rougeL": round(rouge_l(hypotheses, references), 2)}


# --- pictures with their captions ------------------------------------------------------------------


def plot_captions(images: list, captions: list[str], references: list | None = None, ncols: int = 4) -> Any:
    """A grid of pictures, each titled with the generated caption (and a reference below it)."""
    import matplotlib.pyplot as plt

    nrows = max(1, math.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, (ax, image, caption) in enumerate(zip(axes.flat, images, captions, strict=False)):
        ax.imshow(image)
        title = f"model: {caption}"
        if references is not None:
            title += f"\ntrue: {references[k][0]}"
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


# --- one entry point for the command -----------------------------------------------------------------


def evaluate_captioner(model: Any, tokenizer: Any, processor: Any, train_items: Any, test_items: Any,
                       settings: CaptionSettings) -> dict:
    """BLEU-4 and ROUGE-L of the model and of the best constant caption on the test images."""
    images = [test_items[i].image for i in range(len(test_items))]
    references = [test_items[i].captions for i in range(len(test_items))]
    with small_trainers.torch_threads(settings.torch_threads):
        predictions = generate_captions(model, tokenizer, processor, images, settings)
    constant = best_constant_caption(train_items)
    return {
        "images": len(images),
        "scores": caption_scores(predictions, references),
        "baseline": {"name": "best constant caption", "caption": constant,
                     "scores": caption_scores([constant] * len(images), references)},
        "exact_match": round(100 * sum(p in refs for p, refs in zip(predictions, references, strict=True))
                             / len(images), 2),
        "examples": [{"model": p, "references": list(r)} for p, r in list(zip(predictions, references,
                                                                                  strict=True))[:8]],
        "predictions": predictions,
    }


def results_table(result: dict) -> Any:
    """BLEU-4 and ROUGE-L of the model and of the best constant caption as one small table."""
    import pandas as pd

    rows = {"trained captioner": result["scores"],
            f"constant: \"{result['baseline']['caption']}\"": result["baseline"]["scores"]}
    return pd.DataFrame(rows).T.rename(columns={"bleu4": "BLEU-4", "rougeL": "ROUGE-L"})


def settings_table() -> Any:
    """Every profile's captioning settings as a table: one code path, three sizes."""
    import pandas as pd

    return pd.DataFrame({name: p.captioning.summary() for name, p in PROFILES.items()})


def train_and_evaluate(profile: Profile, output_dir: Path | str, *, save_model: bool = False) -> dict:
    """Train the profile's captioner, score it against the constant caption, write metrics.json and samples.png."""
    settings = profile.captioning
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    splits = load_splits(settings)
    tokenizer = load_tokenizer(settings, splits["train"])
    processor = load_image_processor(settings)
    from finetune_kit.course import reference

    model = build_captioner(settings, tokenizer, reference.load("fundamentals").caption_config)
    trainer = build_caption_trainer(model, tokenizer, processor, splits, settings, output_dir / "trainer")
    train_seconds = fit(trainer, settings)
    result = evaluate_captioner(trainer.model, tokenizer, processor, splits["train"], splits["test"], settings)
    predictions = result.pop("predictions")
    shown = min(8, len(predictions))
    fig = plot_captions([splits["test"][i].image for i in range(shown)], predictions[:shown],
                        [splits["test"][i].captions for i in range(shown)])
    fig.savefig(output_dir / "samples.png", dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    if save_model:
        trainer.model.save_pretrained(output_dir / "model")
        tokenizer.save_pretrained(output_dir / "model")
        processor.save_pretrained(output_dir / "model")
    metrics = {"task": "image-captioning", "profile": profile.name, "encoder": settings.encoder,
               "decoder": settings.decoder, "dataset": settings.dataset, "metric": "BLEU-4 and ROUGE-L F1 (%)",
               **result, "train_pairs": len(trainer.train_dataset), "train_seconds": round(train_seconds, 1),
               "settings": settings.summary()}
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
