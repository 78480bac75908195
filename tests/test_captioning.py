"""Image captioning: are the pictures what their captions say, is BLEU right, does the command run?"""

import json
import math
import os
import re
import tempfile

import numpy as np
import pytest

from finetune_kit import cli
from finetune_kit.course import config, reference
from finetune_kit.tasks import captioning
from finetune_kit.tasks.captioning import CaptionedImage

#: Part 1's exercise builds the captioner's config; its reference is tested in test_reference_fundamentals.py
CONFIG_FN = reference.load("fundamentals").caption_config
CAPTION = re.compile(r"^a (\w+) (\w+) (left of|right of|above|below) a (\w+) (\w+)$")


@pytest.fixture(scope="module")
def pictures():
    return captioning.make_shapes(60, seed=3)


@pytest.fixture(scope="module")
def tokenizer(pictures):
    return captioning.prepare_decoder_tokenizer(captioning.build_word_tokenizer(captioning.caption_words(pictures)))


# --- the pictures -----------------------------------------------------------------------------------


def test_pictures_are_deterministic_per_seed():
    a, b, c = (captioning.make_shapes(5, seed=s) for s in (7, 7, 8))
    assert [x.captions for x in a] == [x.captions for x in b]
    assert all(np.array_equal(np.array(x.image), np.array(y.image)) for x, y in zip(a, b, strict=True))
    assert [x.captions for x in a] != [x.captions for x in c]


def _centroid(pixels, colour):
    ys, xs = np.nonzero(np.all(pixels == np.array(colour), axis=-1))
    assert len(xs) > 20, f"too few {colour} pixels"
    return xs.mean(), ys.mean()


def test_each_picture_shows_what_its_captions_say(pictures):
    """Do the named colours appear, and only they, at the places the relation says?"""
    checked = 0
    for item in pictures:
        pixels = np.array(item.image)
        assert pixels.shape == (32, 32, 3)
        first, second = item.captions
        c1, s1, rel, c2, s2 = CAPTION.match(first).groups()
        assert second == f"a {c2} {s2} {captioning.RELATIONS[rel]} a {c1} {s1}"
        assert (c1, s1) != (c2, s2) and {c1, c2} <= set(captioning.COLOURS) and {s1, s2} <= set(captioning.SHAPES)
        used = {tuple(p) for p in pixels.reshape(-1, 3)} - {(255, 255, 255)}
        assert used == {captioning.COLOURS[c1], captioning.COLOURS[c2]}
        if c1 != c2:
            (x1, y1), (x2, y2) = _centroid(pixels, captioning.COLOURS[c1]), _centroid(pixels, captioning.COLOURS[c2])
            assert {"left of": x1 < x2, "right of": x1 > x2, "above": y1 < y2, "below": y1 > y2}[rel], first
            checked += 1
    assert checked > 30


def test_too_small_pictures_are_refused():
    with pytest.raises(ValueError, match="at least 24"):
        captioning.make_shapes(1, image_size=16)


# --- tokenizer, config, labels ----------------------------------------------------------------------


def test_word_tokenizer_round_trips_and_pads_with_eos(tokenizer):
    ids = tokenizer("a red circle left of a blue square", add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == "a red circle left of a blue square"
    assert tokenizer.pad_token_id == tokenizer.eos_token_id != tokenizer.bos_token_id
    assert captioning.build_word_tokenizer(["a"]).pad_token is None  # like GPT-2, until prepared


def test_model_without_special_tokens_is_refused(tokenizer):
    from transformers import VisionEncoderDecoderConfig

    enc, dec = captioning.tiny_configs(config.PROFILES["smoke"].captioning, tokenizer)
    with pytest.raises(ValueError, match="decoder_start_token_id"):
        captioning.model_from_config(VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec))


def test_labels_end_with_eos_and_pad_with_minus_100(tokenizer):
    labels = captioning.caption_labels(tokenizer, "a red circle left of a blue square", 12)
    assert len(labels) == 9 and labels[-1] == tokenizer.eos_token_id
    assert len(captioning.caption_labels(tokenizer, "a red circle left of a blue square", 4)) == 4
    import torch

    batch = captioning.CaptionCollator(decoder_start_token_id=1, pad_token_id=2)(
        [{"pixel_values": torch.zeros(3, 2, 2), "labels": [5, 2]},
         {"pixel_values": torch.zeros(3, 2, 2), "labels": [5, 6, 7, 2]}])
    assert batch["labels"].tolist() == [[5, 2, -100, -100], [5, 6, 7, 2]]
    # the decoder reads the labels shifted right behind the start token; padding is masked
    assert batch["decoder_input_ids"].tolist() == [[1, 5, 2, 2], [1, 5, 6, 7]]
    assert batch["decoder_attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert tuple(batch["pixel_values"].shape) == (2, 3, 2, 2)


def test_tiny_captioner_trains_and_generates_from_bos(pictures, tokenizer):
    import torch

    settings = config.PROFILES["smoke"].captioning
    model = captioning.build_captioner(settings, tokenizer, CONFIG_FN)
    processor = captioning.load_image_processor(settings)
    pairs = captioning.CaptionPairs(pictures[:4], tokenizer, processor, 12, cache_pixels=True)
    batch = captioning.collator_for(model)([pairs[i] for i in range(len(pairs))])
    assert math.isfinite(model(**batch).loss.item())
    # the explicit decoder inputs are exactly what the model builds from the labels by itself
    without = {k: v for k, v in batch.items() if not k.startswith("decoder_")}
    model.eval()  # no dropout, so both passes are comparable
    assert torch.allclose(model(**batch).loss, model(**without).loss)
    with torch.no_grad():
        ids = model.generate(pixel_values=batch["pixel_values"][:2], max_new_tokens=3, do_sample=False)
    assert ids[:, 0].tolist() == [tokenizer.bos_token_id] * 2


# --- BLEU, ROUGE-L, the constant baseline ------------------------------------------------------------


def test_bleu_of_an_exact_match_is_100():
    assert captioning.corpus_bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx(100)


def test_bleu_clips_repeated_words():
    # "the the the the" against "the cat": unigram matches clipped to 1 of 4; longer than the reference
    assert captioning.corpus_bleu(["the the the the"], [["the cat"]], max_n=1) == pytest.approx(25)


def test_bleu_brevity_penalty():
    # "the cat" vs "the cat sat on the mat": precisions 2/2 and 1/1, BP = exp(1 - 6/2)
    assert captioning.corpus_bleu(["the cat"], [["the cat sat on the mat"]], max_n=2) == pytest.approx(
        100 * math.exp(-2))


def test_bleu_uses_the_closest_reference_length():
    # lengths 8 and 3 for a 4-word hypothesis: the closest is 3, so no brevity penalty
    assert captioning.corpus_bleu(["a b c d"], [["a b c d e f g h", "a b c"]]) == pytest.approx(100)
    assert captioning.corpus_bleu(["a b c d"], [["a b c d e f g h"]]) == pytest.approx(100 * math.exp(-1))


def test_bleu_sums_counts_over_the_corpus_before_averaging():
    # unigrams (2 + 1) / 4, bigrams (1 + 0) / 2: sqrt(3/4 * 1/2); per-sentence BLEU-2 would give 0 for the second
    assert captioning.corpus_bleu(["a b", "c d"], [["a b"], ["c e"]], max_n=2) == pytest.approx(
        100 * math.sqrt(3 / 8))


def test_bleu_is_zero_without_any_4gram_and_checks_its_input():
    assert captioning.corpus_bleu(["a b c"], [["a b c"]]) == 0.0
    with pytest.raises(ValueError, match="non-empty list"):
        captioning.corpus_bleu(["a"], ["a"])
    with pytest.raises(ValueError, match="1 hypotheses but 2"):
        captioning.corpus_bleu(["a"], [["a"], ["b"]])


def test_bleu_matches_nltk(pictures):
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    hyps = [p.captions[0] for p in pictures[::2]]
    refs = [p.captions for p in pictures[1::2]][: len(hyps)]
    hyps = hyps[: len(refs)]
    expected = nltk_bleu.corpus_bleu([[r.split() for r in rs] for rs in refs], [h.split() for h in hyps])
    assert captioning.corpus_bleu(hyps, refs) == pytest.approx(100 * expected)


def test_rouge_l_takes_the_best_reference():
    # LCS with "a b c d" is 4 of 4 words; with "x y" it is 0
    assert captioning.rouge_l(["a b c d"], [["x y", "a b c d"]]) == pytest.approx(100)
    assert captioning.rouge_l(["a b"], [["a b c d"]]) == pytest.approx(100 * 2 * 1 * 0.5 / 1.5)


def test_best_constant_caption_scores_highest():
    items = [CaptionedImage(None, ("a small red circle here", "a small red dot here")),
             CaptionedImage(None, ("a big red square here",)), CaptionedImage(None, ("a big blue square here",)),
             CaptionedImage(None, ("a big red square here",)), CaptionedImage(None, ("a big blue square here",))]
    best = captioning.best_constant_caption(items)
    refs = [it.captions for it in items]
    score = captioning.corpus_bleu([best] * len(items), refs)
    assert score > 0
    for item in items:
        for candidate in item.captions:
            assert score >= captioning.corpus_bleu([candidate] * len(items), refs)
    assert best in ("a big red square here", "a big blue square here")


# --- end to end ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_caption_train_command_smoke(tmp_path, capsys):
    assert cli.main(["caption-train", "--profile", "smoke", "--output-dir", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["images"] == config.PROFILES["smoke"].captioning.eval_images
    assert metrics["baseline"]["name"] == "best constant caption" and CAPTION.match(metrics["baseline"]["caption"])
    for block in (metrics["scores"], metrics["baseline"]["scores"]):
        assert set(block) == {"bleu4", "rougeL"} and all(0 <= v <= 100 for v in block.values())
    assert (tmp_path / "samples.png").stat().st_size > 1000
    assert "BLEU-4" in capsys.readouterr().out


@pytest.mark.slow
def test_pretrained_path_runs_on_local_checkpoints(tmp_path, pictures):
    """Does the Azure code path work (two pre-trained halves, a Hub-style dataset, evaluation by generation)?

    Tiny ViT and GPT-2 checkpoints saved to disk stand in for the Hub ones, so it runs offline.
    """
    import dataclasses

    from datasets import Dataset
    from transformers import GPT2LMHeadModel, ViTModel

    words = captioning.build_word_tokenizer(captioning.caption_words(pictures))  # no pad token, like GPT-2
    settings = dataclasses.replace(config.PROFILES["smoke"].captioning, dataset="local/shapes",
                                   encoder=str(tmp_path / "vit"), decoder=str(tmp_path / "gpt2"), max_steps=1)
    enc, dec = captioning.tiny_configs(settings, words)
    ViTModel(enc).save_pretrained(settings.encoder)
    captioning.load_image_processor(config.PROFILES["smoke"].captioning).save_pretrained(settings.encoder)
    GPT2LMHeadModel(dec).save_pretrained(settings.decoder)
    words.save_pretrained(settings.decoder)

    hub = Dataset.from_dict({"image": [p.image for p in pictures[:8]],
                             "caption_0": [p.captions[0] for p in pictures[:8]],
                             "caption_1": [p.captions[1] for p in pictures[:8]]})
    splits = {name: captioning.HubCaptions(hub) for name in ("train", "validation", "test")}
    tokenizer = captioning.load_tokenizer(settings, splits["train"])
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    model = captioning.build_captioner(settings, tokenizer, CONFIG_FN)
    assert model.generation_config.decoder_start_token_id == tokenizer.bos_token_id
    processor = captioning.load_image_processor(settings)
    trainer = captioning.build_caption_trainer(model, tokenizer, processor, splits, settings, tmp_path / "run")
    assert trainer.args.predict_with_generate and trainer.args.eval_strategy == "epoch"
    captioning.fit(trainer, settings)
    metrics = trainer.evaluate()
    assert math.isfinite(metrics["eval_loss"])
    result = captioning.evaluate_captioner(model, tokenizer, processor, splits["train"], splits["test"], settings)
    assert result["images"] == 8 and 0 <= result["scores"]["bleu4"] <= 100


def test_a_trainers_scratch_folder_is_removed_when_the_process_ends(tmp_path):
    """Trainers that save nothing still create ``output_dir``; the kit's default one must not outlive the run."""
    import os
    import subprocess
    import sys

    code = ("import os; from finetune_kit.tasks.small_trainers import scratch_folder; "
            "p = scratch_folder('captioner-'); assert os.path.isdir(p); print(p)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    made = out.stdout.strip()
    assert made.startswith(str(tmp_path / "captioner-")), made
    assert not list(tmp_path.iterdir()), f"left behind: {list(tmp_path.iterdir())}"


def test_a_trainers_scratch_folder_is_removed_once_it_has_trained(tmp_path, monkeypatch):
    """A kernel stopped with SIGKILL runs no exit handler: the folder goes as soon as training ends,
    and a folder the caller chose is kept."""
    from types import SimpleNamespace

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    trained = []
    from finetune_kit.tasks import small_trainers

    scratch = SimpleNamespace(args=SimpleNamespace(output_dir=small_trainers.scratch_folder("captioner-")),
                              train=lambda: trained.append("scratch"))
    chosen = SimpleNamespace(args=SimpleNamespace(output_dir=str(tmp_path / "chosen")),
                             train=lambda: trained.append("chosen"))
    (tmp_path / "chosen").mkdir()
    assert os.path.isdir(scratch.args.output_dir)
    captioning.fit(scratch, SimpleNamespace(torch_threads=None))  # the captioner's way
    small_trainers.train(chosen, None)  # the sentence extractor's way
    assert trained == ["scratch", "chosen"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen"]
