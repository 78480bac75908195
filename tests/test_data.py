"""Does data preparation reject bad rows clearly, clean safely and split without leaks?"""

import pandas as pd
import pytest

from conftest import ROOT
from finetune_kit.course import config
from finetune_kit.sentiment import data

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"


def test_clean_text_undoes_html_and_unicode_but_keeps_sentiment_marks():
    assert data.clean_text("Loved it!!<br /><br />Would buy again &amp; again :)") == \
        "Loved it!! Would buy again & again :)"
    assert data.clean_text("\u201cMeh\u201d   \u2014  ok\u2026") == "\"Meh\" \u2014 ok..."
    assert data.clean_text("ﬁne\u00a0print") == "fine print"  # ligature and no-break space
    # control and format characters go (zero-width space, NUL, soft hyphen); tabs and newlines become spaces
    assert data.clean_text("zero\u200bwidth soft\u00adhy\x00phen\tand\nlines") == "zerowidth softhyphen and lines"


def test_validate_reports_every_problem_with_row_and_field():
    df = pd.DataFrame({"text": ["Great fit!", "", "great  FIT!", "Meh", "Fine"],
                       "label": [1, 0, 1, "positive", 2]})
    with pytest.raises(data.DataError) as info:
        data._validate(df, "shop.csv")
    message = str(info.value)
    assert message.startswith("shop.csv: 4 problem(s)")
    assert "row 3, field 'text': empty text" in message
    assert "row 4, field 'text': duplicate of row 2" in message
    assert "row 5, field 'label': 'positive'" in message
    assert "row 6, field 'label': 2" in message


def test_missing_column_names_what_was_found():
    with pytest.raises(data.DataError, match=r"missing column\(s\) \['label'\]; found \['text', 'stars'\]"):
        data._validate(pd.DataFrame({"text": ["x"], "stars": [5]}), "x.csv")


def test_read_reviews_names_the_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nnice,1\n,0\n", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"(?s)bad.csv: 1 problem.*row 3, field 'text'"):
        data.read_reviews(bad)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        data.read_reviews(tmp_path / "nope.csv")


def test_labels_as_float_strings_are_accepted():
    out = data._validate(pd.DataFrame({"text": ["a", "b"], "label": ["1.0", "0"]}))
    assert out["label"].tolist() == [1, 0]


def test_load_splits_is_stratified_seeded_and_disjoint():
    profile = config.PROFILES["offline"]
    a, b = data.load_splits(profile, SMALL), data.load_splits(profile, SMALL)
    assert a.sizes() == {"train": 38, "validation": 5, "test": 5}
    assert a.train["text"].tolist() == b.train["text"].tolist()
    texts = [set(part["text"]) for part in (a.train, a.validation, a.test)]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert sum(map(len, texts)) == 48
    assert abs(a.train["label"].mean() - 0.5) < 0.05


def test_saved_splits_come_back_exactly(tmp_path):
    splits = data.load_splits(config.PROFILES["offline"], SMALL)
    splits.test.loc[0, "text"] = "NA"  # pandas would read it as missing unless told not to
    assert data.save_splits(splits, tmp_path) == tmp_path / "splits"
    back = data.load_saved_splits(tmp_path)
    for name in data.SPLIT_NAMES:
        assert getattr(back, name)[["text", "label"]].equals(getattr(splits, name)[["text", "label"]])


def test_load_saved_splits_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}.*no saved train, validation, test"):
        data.load_saved_splits(tmp_path)


def test_exercise_answers_are_not_in_the_package():
    """Part 2's answers live in autograde/reference: the package offers no public shortcut."""
    from finetune_kit.sentiment import train

    for module, names in ((data, ("split", "tokenize", "validate")),
                          (train, ("fine_tune", "training_arguments", "compute_metrics", "build_trainer"))):
        assert not [name for name in names if hasattr(module, name)]


def test_subsample_keeps_balance():
    df = data.read_reviews(SMALL)
    part = data.subsample(df, 20)
    assert len(part) == 20 and part["label"].sum() == 10


def test_shipped_dataset_is_valid_balanced_and_diverse():
    df = data.read_reviews()
    assert len(df) >= 3000
    assert abs(df["label"].mean() - 0.5) < 0.01
    assert df["domain"].nunique() >= 8
    words = df["text"].str.split().str.len()
    assert words.min() <= 4 and words.max() >= 150
