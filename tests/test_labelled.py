"""Does `evaluate` read the labelled files people really have, and refuse the rest by file, row and field?"""

import json

import pytest

from finetune_kit.sentiment import data, labelled
from finetune_kit.sentiment.labelled import LabelRule, read_labelled


def test_duplicates_are_scored_once_and_reported(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\nGreat phone.,1\nAwful.,0\ngreat  phone.,1\nAwful.,1\nFine.,1\n")
    rows = read_labelled(path)
    assert rows.frame["text"].tolist() == ["Great phone.", "Awful.", "Fine."]
    assert rows.frame["row"].tolist() == [2, 3, 6]
    dup = rows.report["duplicates"]
    assert dup["dropped"] == 2 and dup["rows"] == ["row 4 = row 2", "row 5 = row 3"]
    assert dup["conflicting_labels"] == 1 and dup["conflicts"] == ["row 5 (1) = row 3 (0)"]
    assert rows.report["rows_read"] == 5 and rows.report["rows_scored"] == 3
    assert rows.report["label_values"] == {"'0' -> 0": 1, "'1' -> 1": 2}  # the rows scored
    kept = read_labelled(path, keep_duplicates=True)
    assert len(kept.frame) == 5 and kept.report["duplicates"]["dropped"] == 0


def test_training_data_stays_strict_and_says_how_to_deduplicate(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("text,label\nGreat phone.,1\ngreat phone.,1\n")
    with pytest.raises(data.DataError, match="row 3, field 'text': duplicate of row 2") as err:
        data.read_reviews(path)
    assert "drop_duplicates('text')" in str(err.value) and "evaluate" in str(err.value)


def test_other_columns_word_labels_and_tsv(tmp_path):
    path = tmp_path / "sentences.tsv"
    path.write_text("id\tsentence\tsentiment\n1\tLoved it\tPOSITIVE\n2\tDull\tneg\n3\tMeh, fine\tpositive\n")
    rule = LabelRule(positive=labelled.parse_values("positive,pos"), negative=labelled.parse_values("negative,neg"))
    rows = read_labelled(path, text_column="sentence", label_column="sentiment", rule=rule)
    assert rows.frame["label"].tolist() == [1, 0, 1]
    assert rows.report["label_values"] == {"'POSITIVE' -> 1": 1, "'neg' -> 0": 1, "'positive' -> 1": 1}
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tsentiment\nLoved it\tpositive\nOdd\tneutral\n")
    with pytest.raises(data.DataError, match=r"row 3, field 'sentiment': 'neutral' is not a label here"):
        read_labelled(bad, text_column="sentence", label_column="sentiment", rule=rule)
    with pytest.raises(data.DataError, match=r"no column 'text' \(found \['sentence', 'sentiment'\]\); name yours"):
        read_labelled(bad)


def test_star_ratings_in_json_lines(tmp_path):
    path = tmp_path / "ratings.jsonl"
    lines = [{"review": "Superb", "stars": 5}, {"review": "Okay", "stars": 3}, {"review": "Broke", "stars": 1},
             {"review": "Good", "stars": 4}]
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    rows = read_labelled(path, text_column="review", label_column="stars", rule=LabelRule(positive_min=4))
    assert rows.frame["label"].tolist() == [1, 0, 0, 1]
    strict = read_labelled(path, text_column="review", label_column="stars",
                           rule=LabelRule(positive_min=4, negative_max=2))
    assert strict.frame["text"].tolist() == ["Superb", "Broke", "Good"]
    assert strict.report["left_out_neutral"] == {"count": 1, "rows": [2]}
    path.write_text('{"review": "Superb", "stars": 5}\n[1, 2]\n{"review": "x", "stars": \n')
    with pytest.raises(data.DataError, match="row 2: a JSON list, not an object") as err:
        read_labelled(path, text_column="review", label_column="stars", rule=LabelRule(positive_min=4))
    assert "row 3: not a JSON object" in str(err.value)


def test_a_latin1_file_is_refused_with_the_fix_or_read_when_asked(tmp_path):
    path = tmp_path / "avis.csv"
    path.write_bytes("text,label\nTrès bien,1\nNul,0\n".encode("latin-1"))
    with pytest.raises(data.DataError, match=r"line 2: not UTF-8 text \(byte 0xe8 at offset 13\); re-save the file "
                                             r"as UTF-8, or pass --encoding latin-1"):
        read_labelled(path)
    assert read_labelled(path, encoding="latin-1").frame["text"].tolist() == ["Très bien", "Nul"]
    with pytest.raises(data.DataError, match="unknown encoding 'klingon'"):
        read_labelled(path, encoding="klingon")


def test_every_problem_at_once_with_row_and_field(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n,1\nGood,yes\nBad,0\n")
    with pytest.raises(data.DataError) as err:
        read_labelled(path)
    assert err.value.problems == ["row 2, field 'text': empty text",
                                  "row 3, field 'label': 'yes' is not a label here (labels must be one of [0, 1])"]
    with pytest.raises(data.DataError, match=r"unknown file type '\.xlsx'"):
        (tmp_path / "book.xlsx").write_text("x")
        read_labelled(tmp_path / "book.xlsx")


@pytest.mark.parametrize("kwargs, message", [
    ({"positive": frozenset({"1"}), "positive_min": 4}, "not both"),
    ({"negative": frozenset({"neg"})}, "--negative needs --positive"),
    ({"positive": frozenset({"x"}), "negative": frozenset({"x"})}, "both positive and negative"),
    ({"positive_min": 4, "negative_max": 4}, "--negative-max needs --positive-min above it"),
])
def test_a_label_rule_that_cannot_be_meant_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LabelRule(**kwargs)
