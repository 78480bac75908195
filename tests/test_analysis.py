"""Does the error analysis find the mistakes, slice honestly and catch a model that cares who wrote a review?"""

import numpy as np
import pandas as pd
import pytest

from finetune_kit.sentiment import analysis


@pytest.mark.parametrize(("words", "bucket"), [(1, "short"), (14, "short"), (15, "medium"), (60, "medium"),
                                               (61, "long"), (198, "long")])
def test_length_buckets_match_the_datasheet(words, bucket):
    assert analysis.length_bucket(" ".join(["word"] * words)).startswith(bucket)


@pytest.mark.parametrize(("text", "expected"), [
    ("Not good at all.", True), ("It didn't work.", True), ("i dont like it tbh", True),
    ("Nothing works.", True), ("Never again!", True), ("A notable, knowing film.", False),
    ("Great value, no complaints", True), ("Note: arrived on time.", False),
])
def test_negation(text, expected):
    assert analysis.has_negation(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Good screen but weak battery.", True), ("However, it broke.", True), ("Although late, it was fine", True),
    ("Lovely butter and a big button.", False), ("Simple and sturdy.", False),
])
def test_contrast(text, expected):
    assert analysis.has_contrast(text) is expected


@pytest.fixture
def frame():
    df = pd.DataFrame({
        "domain": ["films", "films", "hotels", "hotels", "apps"],
        "text": ["Loved it.", "Not my thing, but fine.", "Dirty room.", "Great staff, however the bed was hard.",
                 "Crashes daily."],
        "label": [1, 1, 0, 1, 0],
    })
    return analysis.predictions_frame(df, [0.9, 0.2, 0.95, 0.6, 0.1])


def test_predictions_frame_marks_each_kind_of_outcome(frame):
    assert frame["predicted"].tolist() == [1, 0, 1, 1, 0]
    assert frame["correct"].tolist() == [True, False, False, True, True]
    assert frame["error"].tolist() == ["", "false negative", "false positive", "", ""]
    assert frame["confidence"].tolist() == pytest.approx([0.9, 0.8, 0.95, 0.6, 0.9])
    assert frame["negation"].tolist()[1] == "has negation" and frame["contrast"].tolist()[3].startswith("has")


def test_predictions_frame_refuses_mismatches():
    with pytest.raises(ValueError, match="3 reviews but 2 scores"):
        analysis.predictions_frame(pd.DataFrame({"text": list("abc"), "label": [0, 1, 0]}), [0.1, 0.2])
    with pytest.raises(ValueError, match=r"needs columns \['label'\]"):
        analysis.predictions_frame(pd.DataFrame({"text": ["a"]}), [0.1])


def test_slice_accuracy_counts_per_group(frame):
    by_domain = analysis.slice_accuracy(frame, "domain").set_index("group")
    assert by_domain.loc["films", "n"] == 2 and by_domain.loc["films", "accuracy"] == 0.5
    assert by_domain.loc["apps", "accuracy"] == 1.0 and by_domain.loc["hotels", "errors"] == 1
    assert analysis.slice_accuracy(frame, "domain")["accuracy"].is_monotonic_increasing  # worst first
    report = analysis.slice_report(frame)
    assert list(dict.fromkeys(report["slice"])) == ["domain", "length", "negation", "contrast"]
    assert (report.groupby("slice")["n"].sum() == len(frame)).all()
    with pytest.raises(ValueError, match="no column 'mood'"):
        analysis.slice_accuracy(frame, "mood")


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (3, 7), (95, 100), (0, 0)])
def test_wilson_interval_contains_the_estimate(k, n):
    low, high = analysis.wilson_interval(k, n)
    assert 0 <= low <= high <= 1
    if n:
        assert low <= k / n <= high


def test_wilson_interval_values():
    assert analysis.wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)  # textbook value
    assert analysis.wilson_interval(0, 0) == (0.0, 1.0)  # no data: anything is possible
    assert np.diff(analysis.wilson_interval(50, 100)) > np.diff(analysis.wilson_interval(500, 1000))


def test_swap_words_keeps_case_and_whole_words():
    text = "He said HIS son loved it. She agreed; history and Shelby's sonnet stay."
    assert analysis.swap_words(text) == "She said HER daughter loved it. He agreed; history and Shelby's sonnet stay."
    assert analysis.swap_words("No people here.") == "No people here."


def test_probe_pairs_differ_only_in_the_identity():
    pairs = analysis.probe_pairs(["My wife loved it.", "Works fine."])
    templates = pairs[pairs["source"] == "template"]
    assert len(templates) == len(analysis.PROBE_TEMPLATES) * len(analysis.IDENTITY_PAIRS)
    assert (pairs["source"] == "test review").sum() == 1
    assert pairs.iloc[-1][["text_a", "text_b"]].tolist() == ["My wife loved it.", "My husband loved it."]
    first = templates.iloc[0]
    assert first["text_a"].startswith("My husband") and first["text_b"].startswith("My wife")
    assert first["text_a"].replace("My husband", "") == first["text_b"].replace("My wife", "")


def test_bias_probe_counts_flips_of_a_biased_model():
    def biased(texts):  # scores reviews mentioning Aisha lower: the kind of model the probe must catch
        return np.array([0.45 if "Aisha" in t else 0.55 for t in texts])

    probe = analysis.bias_probe(biased, ["Dad and his son loved it."])
    summary = analysis.bias_summary(probe).set_index("swap")
    n_templates = len(analysis.PROBE_TEMPLATES)
    assert summary.loc["John → Aisha", "flipped"] == n_templates
    assert summary.loc["John → Aisha", "mean_abs_change"] == pytest.approx(0.1)
    assert summary["flipped"].sum() == n_templates
    assert summary.loc["gendered words in real reviews", "pairs"] == 1


def test_bias_probe_of_a_fair_model_and_a_broken_predictor():
    probe = analysis.bias_probe(lambda texts: np.full(len(texts), 0.8))
    assert not probe["flipped"].any() and probe["change"].abs().max() == 0
    calls = []
    analysis.bias_probe(lambda texts: calls.append(len(texts)) or np.zeros(len(texts)))
    assert len(calls) == 1  # one batch, every distinct text once
    with pytest.raises(ValueError, match="scores for"):
        analysis.bias_probe(lambda texts: np.zeros(3))
