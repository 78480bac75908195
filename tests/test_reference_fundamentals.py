"""Part 1's reference answers (autograde/reference/fundamentals.py): are they right, and do the notebooks agree?"""

import pytest
import transformers

from conftest import CONTRACT, CONTRACT_SUMMARY
from finetune_kit.course import config, reference
from finetune_kit.tasks import architectures, captioning, summarization

SMOKE_CAPTIONING = config.PROFILES["smoke"].captioning

ref = reference.load("fundamentals")


# --- model_class_for --------------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(architectures.TASKS))
def test_model_class_for_is_one_of_the_accepted_classes_and_runs(task):
    cls = ref.model_class_for(task)
    assert cls.__name__ in ref.ACCEPTED_MODEL_CLASSES[task]
    out = architectures.forward_once(architectures.tiny_model(task, cls), task)
    assert out["kind"] == ("label scores" if task == "sentiment-analysis" else "generated token ids")


@pytest.mark.parametrize("task, name", [(t, n) for t, names in ref.ACCEPTED_MODEL_CLASSES.items() for n in names])
def test_every_accepted_class_builds_and_produces_its_tasks_output(task, name):
    """Does every class the notebook's test accepts really give the task's kind of output?"""
    out = architectures.forward_once(architectures.tiny_model(task, getattr(transformers, name)), task)
    assert out["kind"] == ("label scores" if task == "sentiment-analysis" else "generated token ids")


def test_the_notebook_test_accepts_exactly_the_reference_set():
    import nbformat

    from conftest import ROOT

    nb = nbformat.read(ROOT / "solutions" / "part1_fundamentals" / "part1_fundamentals.ipynb", as_version=4)
    test = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "model_class_tests")
    for task, names in ref.ACCEPTED_MODEL_CLASSES.items():
        for name in names:
            assert f'"{name}"' in test, f"the hidden test does not accept {name} for {task}"


# --- label_sentences (the greedy oracle) ------------------------------------------------------------


def test_oracle_picks_the_sentences_the_summary_paraphrases():
    assert ref.label_sentences(CONTRACT, CONTRACT_SUMMARY, 3) == [0, 1, 0, 1, 0]


def test_oracle_respects_the_budget_and_stops_when_nothing_helps():
    assert ref.label_sentences(CONTRACT, CONTRACT_SUMMARY, 1) == [0, 0, 0, 1, 0]
    assert ref.label_sentences(CONTRACT, "zebra quokka", 3) == [0] * 5
    assert ref.label_sentences(CONTRACT, CONTRACT_SUMMARY, 0) == [0] * 5


def test_oracle_breaks_ties_towards_the_earlier_sentence():
    assert ref.label_sentences(["rent is due", "rent is due", "other"], "rent is due", 1) == [1, 0, 0]


def test_lead3_is_not_the_best_extract():
    """Is there room above lead-3, i.e. do the key obligations come after the opening sentences?"""
    test = [d for d in summarization.load_legal_corpus() if d.split == "test"]
    scores = summarization.baseline_scores(test, 3, ref.label_sentences)
    assert scores["oracle"]["rouge1"] > scores["lead-3"]["rouge1"] + 10


def test_the_hidden_tests_literal_corpus_labels_match_the_reference():
    """The notebook's hidden test holds the labels of the first corpus documents as literals: still right?"""
    import nbformat

    from conftest import ROOT

    nb = nbformat.read(ROOT / "solutions" / "part1_fundamentals" / "part1_applications.ipynb", as_version=4)
    test = next(c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "label_sentences_tests")
    for d in summarization.load_legal_corpus()[:4]:
        assert f"{d.id!r}: {ref.label_sentences(list(d.sentences), d.summary, 3)}" in test, d.id


# --- caption_config ---------------------------------------------------------------------------------


def test_caption_config_sets_the_decoder_special_tokens():
    tokenizer = captioning.prepare_decoder_tokenizer(
        captioning.build_word_tokenizer(captioning.caption_words(captioning.make_shapes(20, seed=3))))
    enc, dec = captioning.tiny_configs(SMOKE_CAPTIONING, tokenizer)
    config = ref.caption_config(enc, dec, tokenizer)
    assert type(config).__name__ == "VisionEncoderDecoderConfig"
    assert config.decoder_start_token_id == tokenizer.bos_token_id
    assert config.pad_token_id == config.eos_token_id == tokenizer.eos_token_id
    assert config.decoder.is_decoder and config.decoder.add_cross_attention


# --- the package holds none of these answers ---------------------------------------------------------


def test_the_package_holds_none_of_part1s_answers():
    assert not hasattr(summarization, "oracle_labels") and not hasattr(captioning, "caption_config")
    import finetune_kit

    for module in (finetune_kit, summarization, captioning, architectures):
        for name in ("label_sentences", "model_class_for", "caption_config", "oracle_labels"):
            assert not hasattr(module, name), f"{module.__name__}.{name}"
