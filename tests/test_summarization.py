"""Legal summarisation: is the corpus sound, are ROUGE and lead-3 right, does the command run?

The oracle labeller is Part 1's exercise: tests/test_reference_fundamentals.py checks the reference.
"""

import json
import math
from collections import Counter

import pytest

from conftest import CONTRACT, CONTRACT_SUMMARY
from finetune_kit import cli
from finetune_kit.course import config
from finetune_kit.tasks import summarization
from finetune_kit.tasks.summarization import LegalDocument

SMOKE = config.PROFILES["smoke"].summarization


@pytest.fixture(scope="module")
def corpus():
    return summarization.load_legal_corpus()


# --- the corpus -------------------------------------------------------------------------------------


def test_corpus_is_big_enough_and_split(corpus):
    assert len(corpus) >= 60
    counts = Counter(d.split for d in corpus)
    assert set(counts) == set(summarization.SPLITS)
    assert counts["test"] >= 10 and counts["validation"] >= 5 and counts["train"] >= 40
    assert {"contract clause", "terms of service", "statute"} <= {d.kind for d in corpus}


def test_every_document_has_5_to_25_sentences_and_a_summary(corpus):
    for d in corpus:
        assert 5 <= len(d.sentences) <= 25, d.id
        assert d.summary and d.title and d.kind, d.id


def test_summaries_are_abstractive_not_copied(corpus):
    """Does no reference summary simply repeat a sentence of its document?"""
    for d in corpus:
        for sentence in summarization.split_sentences(d.summary):
            assert sentence not in d.sentences, f"{d.id}: {sentence!r} is copied from the document"
        assert summarization.lead_summary(d.sentences) != d.summary, d.id
        assert len(d.summary.split()) < len(d.text.split()), f"{d.id}: a summary must be shorter than its document"


def test_baseline_scores_have_an_oracle_row_only_with_a_labeler(corpus):
    test = [d for d in corpus if d.split == "test"][:3]
    assert set(summarization.baseline_scores(test, 3)) == {"lead-3"}
    first = summarization.baseline_scores(test, 3, labeler=lambda s, summary, k: [1] * k + [0] * (len(s) - k))
    assert first["oracle"] == first["lead-3"]  # labelling the first k sentences is lead-k


def _write(tmp_path, rows):
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows), encoding="utf-8")
    return path


GOOD = {"id": "x-1", "split": "train", "kind": "statute", "title": "T", "sentences": CONTRACT, "summary": "S."}


@pytest.mark.parametrize("change, message", [
    ({"split": "dev"}, "field 'split'"),
    ({"sentences": CONTRACT[:4]}, "has 4 sentences"),
    ({"sentences": CONTRACT * 6}, "has 30 sentences"),
    ({"summary": "  "}, "field 'summary' is empty"),
    ({"sentences": "one string"}, "field 'sentences' must be a list"),
    ({"extra": 1}, "unknown field"),
])
def test_bad_rows_name_line_and_field(tmp_path, change, message):
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "x-2", **change}])
    with pytest.raises(ValueError, match=message) as err:
        summarization.load_legal_corpus(path)
    assert "line 2" in str(err.value) and str(path) in str(err.value)


def test_missing_field_duplicate_id_and_bad_json(tmp_path):
    row = dict(GOOD)
    del row["summary"]
    with pytest.raises(ValueError, match="line 1: missing field 'summary'"):
        summarization.load_legal_corpus(_write(tmp_path, [row]))
    with pytest.raises(ValueError, match="id 'x-1' already used on line 1"):
        summarization.load_legal_corpus(_write(tmp_path, [GOOD, GOOD]))
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        summarization.load_legal_corpus(_write(tmp_path, [GOOD, "{oops"]))
    with pytest.raises(FileNotFoundError):
        summarization.load_legal_corpus(tmp_path / "absent.jsonl")


def test_splits_follow_profile_sizes(corpus):
    smoke = summarization.legal_splits(corpus, SMOKE)
    assert len(smoke["train"]) == SMOKE.max_train_docs
    assert len(smoke["test"]) == SMOKE.max_eval_docs
    full = summarization.legal_splits(corpus)
    assert sum(len(v) for v in full.values()) == len(corpus)


# --- ROUGE, lead-3 -------------------------------------------------------------------


def test_rouge_by_hand():
    # prediction "the cat sat" vs reference "the cat sat on the mat":
    # ROUGE-1 P = 3/3, R = 3/6 -> F = 2/3; ROUGE-2 P = 2/2, R = 2/5 -> F = 4/7; ROUGE-L: LCS = 3 -> 2/3
    scores = summarization.rouge_scores(["the cat sat"], ["the cat sat on the mat"])
    assert scores == {"rouge1": round(200 / 3, 2), "rouge2": round(400 / 7, 2), "rougeL": round(200 / 3, 2)}


def test_rouge_averages_pairs_and_checks_lengths():
    scores = summarization.rouge_scores(["a b", "x y"], ["a b", "c d"])
    assert scores["rouge1"] == 50.0 and scores["rouge2"] == 50.0
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        summarization.rouge_scores(["a", "b"], ["a"])


def test_overlap_score_is_mean_of_rouge1_and_rouge2():
    assert math.isclose(summarization.overlap_score("the cat sat", "the cat sat on the mat"), (2 / 3 + 4 / 7) / 2)
    assert summarization.overlap_score("", "anything") == 0.0


def test_lead_and_extract_keep_document_order():
    assert summarization.lead_summary(CONTRACT, 2) == " ".join(CONTRACT[:2])
    scores = [0.1, 0.9, 0.0, 0.8, 0.95]
    assert summarization.extract_summary(CONTRACT, scores, 2) == f"{CONTRACT[1]} {CONTRACT[4]}"
    with pytest.raises(ValueError, match="4 scores for 5 sentences"):
        summarization.extract_summary(CONTRACT, scores[:4])


def test_split_sentences_keeps_abbreviations_and_quotes():
    text = 'Sec. 2. The U.S. Government shall pay $5. It must act (quickly). "Quoted." Next one.'
    assert summarization.split_sentences(text) == [
        "Sec. 2.", "The U.S. Government shall pay $5.", "It must act (quickly).", '"Quoted."', "Next one."]


def test_sentence_examples_use_the_labeler():
    doc = LegalDocument("d", "train", "contract clause", "t", tuple(CONTRACT), CONTRACT_SUMMARY)
    first = summarization.sentence_examples([doc], 3, labeler=lambda s, summary, k: [1] + [0] * (len(s) - 1))
    assert [r["label"] for r in first] == [1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="labeler gave 1 labels for the 5 sentences of d"):
        summarization.sentence_examples([doc], 3, labeler=lambda s, summary, k: [1])


def test_azure_recipe_is_abstractive_t5_on_billsum():
    azure = config.PROFILES["azure"].summarization
    assert (azure.method, azure.model, azure.dataset) == ("abstractive", "t5-small", "FiscalNote/billsum")
    assert azure.generation_max_length == 128
    # the notebook's extractive lesson still has kit settings under azure
    assert summarization.extractive_settings(config.PROFILES["azure"]).method == "extractive"


# --- end to end ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_summarize_train_command_smoke(tmp_path, capsys):
    assert cli.main(["summarize-train", "--profile", "smoke", "--output-dir", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["method"] == "extractive" and metrics["baseline"]["name"] == "lead-3"
    assert metrics["documents"] == SMOKE.max_eval_docs
    for block in (metrics["scores"], metrics["baseline"]["scores"], metrics["oracle"]):
        assert set(block) == set(summarization.ROUGE_TYPES)
        assert all(0 <= v <= 100 for v in block.values())
    assert metrics["oracle"]["rouge1"] >= metrics["baseline"]["scores"]["rouge1"]
    assert "lead-3" in capsys.readouterr().out


def _word_tokenizer(texts):
    """A T5-style word-level tokenizer (pad 0, EOS 1, UNK 2) built offline from the texts."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for text in texts:
        for word in text.lower().split():
            vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


@pytest.mark.slow
def test_abstractive_path_runs_with_a_tiny_t5(corpus, tmp_path):
    """Does the Azure code path (Seq2SeqTrainer, generation, ROUGE, lead-3) work, with a tiny T5 offline?"""
    from datasets import Dataset
    from transformers import T5Config, T5ForConditionalGeneration

    splits = {name: Dataset.from_list([{"text": d.text, "summary": d.summary}
                                       for d in corpus if d.split == name][:3]) for name in summarization.SPLITS}
    tokenizer = _word_tokenizer(d.text.lower() + " " + d.summary.lower() for d in corpus)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))
    settings = config.SummarizationSettings(
        method="abstractive", model="tiny", dataset="kit-legal", max_train_docs=3, max_eval_docs=3,
        num_epochs=1, max_steps=2, max_length=128, max_target_length=32, generation_max_length=8,
        batch_size=2, learning_rate=1e-3, summary_sentences=3, torch_threads=1)
    metrics = summarization.train_abstractive(model, tokenizer, splits, settings, tmp_path, prefix="summarize: ")
    assert metrics["documents"] == 3 and metrics["baseline"]["name"] == "lead-3"
    assert set(metrics["scores"]) == set(summarization.ROUGE_TYPES)
    assert all(0 <= v <= 100 for v in metrics["scores"].values())
