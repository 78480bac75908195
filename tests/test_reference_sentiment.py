"""Do Part 2's reference answers do what their docstrings promise, and do the notebook's tests tell right from wrong?

The test cells of ``solutions/part2_finetuning`` run here against the reference functions (they must
pass) and against typical wrong answers (they must fail), without a kernel.
"""

import sys
import tempfile

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from finetune_kit.course import config, reference
from finetune_kit.sentiment import data

sys.path.insert(0, str(ROOT / "autograde"))
import notebook_source  # noqa: E402

ref = reference.load("sentiment")
SMOKE = config.PROFILES["smoke"]
SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
SOURCE = ROOT / "autograde" / "sources" / "part2_finetuning" / "part2_finetuning.py"
ANSWERS = ("find_problems", "leaked_texts", "split_reviews", "reviews_sharing_sentences", "tokenize_batch",
           "make_collator", "make_training_args", "compute_metrics", "build_trainer")


@pytest.fixture(scope="module")
def tokenizer():
    from finetune_kit.sentiment import models

    return models.load_tokenizer(SMOKE)


@pytest.fixture(scope="module")
def test_cells():
    """grade id -> source of every graded code cell, and "answers" -> the answer cells, in notebook order."""
    nb = notebook_source.build(SOURCE)
    graded = [cell for cell in nb.cells if cell.cell_type == "code" and "nbgrader" in cell.metadata]
    cells = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in graded
             if cell.metadata["nbgrader"]["grade"] and not cell.metadata["nbgrader"]["solution"]}
    cells["answers"] = "\n\n".join(cell.source for cell in graded if cell.metadata["nbgrader"]["solution"]
                                    and cell.metadata["nbgrader"]["grade_id"] != "reflection_answer")
    return cells


def run_test_cell(test_cells, grade_id, **replaced):
    """Execute a test cell (hidden tests included) after the notebook's answer cells, some answers replaced."""
    namespace = {}
    exec(compile(test_cells["answers"], "answers", "exec"), namespace)
    assert set(ANSWERS) <= set(namespace)
    namespace.update(replaced)
    exec(compile(test_cells[grade_id], grade_id, "exec"), namespace)


# --- the reference functions ---------------------------------------------------------------------


def test_find_problems_reports_rows_fields_and_the_earlier_duplicate_without_changing_the_frame():
    df = pd.DataFrame({"text": ["Great fit!", "", "great  FIT!", "Meh", None],
                       "label": [1, 0, 1, "positive", float("nan")]}, index=[5, 6, 7, 8, 9])
    before = df.copy()
    found = ref.find_problems(df)
    assert list(found.columns) == ["row", "field", "problem"]
    assert list(zip(found["row"], found["field"], strict=True)) == [(6, "text"), (7, "text"), (8, "label"),
                                                                    (9, "text"), (9, "label")]
    assert found.loc[found["row"] == 7, "problem"].item() == "duplicate of row 5"
    assert df.equals(before)
    assert ref.find_problems(data.read_reviews()).empty  # the shipped data is clean


def test_split_reviews_is_stratified_seeded_disjoint_and_drops_repeated_texts():
    df = data.read_reviews(SMALL)
    doubled = pd.concat([df, df.assign(text=df["text"].str.upper() + "  ")], ignore_index=True)
    a, b = ref.split_reviews(doubled), ref.split_reviews(doubled)
    assert a.sizes() == {"train": 38, "validation": 5, "test": 5}
    assert a.train["text"].tolist() == b.train["text"].tolist()
    assert ref.split_reviews(doubled, seed=1).train["text"].tolist() != a.train["text"].tolist()
    assert ref.leaked_texts(a) == set()
    assert abs(a.train["label"].mean() - 0.5) < 0.05
    assert a.train.index.tolist() == list(range(38))


def test_the_shipped_reviews_split_by_group_share_almost_no_sentence_with_training():
    """The datasheet's promise: a split by review repeats training sentences in a large share of test reviews
    (305 of 705 on today's data, nearly all composed reviews), a split by group in almost none."""
    reviews = data.read_reviews()
    by_group, by_review = data._split(reviews), data._split(reviews.drop(columns=data.GROUP))
    held_out = set(by_group.test[data.GROUP]) | set(by_group.validation[data.GROUP])
    assert set(by_group.train[data.GROUP]).isdisjoint(held_out)
    grouped = ref.reviews_sharing_sentences(by_group.train, by_group.test)
    naive = ref.reviews_sharing_sentences(by_review.train, by_review.test)
    assert naive > len(by_review.test) / 3 and grouped < len(by_group.test) / 10, (naive, grouped)


def test_split_reviews_matches_the_kits_own_split_on_validated_data():
    """The CLI's ``data.load_splits`` and the notebook's ``split_reviews`` give the same model the same data."""
    df = data.read_reviews(SMALL)
    mine, kits = ref.split_reviews(df), data._split(df)
    for name in data.SPLIT_NAMES:
        assert getattr(mine, name).equals(getattr(kits, name))


def test_tokenize_batch_truncates_without_padding(tokenizer):
    out = ref.tokenize_batch({"text": ["short", "a much longer review " * 40]}, tokenizer, 32)
    lengths = [len(ids) for ids in out["input_ids"]]
    assert lengths[0] < 8 and lengths[1] == 32


def test_collator_pads_each_batch_to_its_longest(tokenizer):
    batch = ref.make_collator(tokenizer)([{"input_ids": [101, 102]}, {"input_ids": [101, 7, 7, 102]}])
    assert tuple(batch["input_ids"].shape) == (2, 4)


def test_training_args_follow_the_profile_and_todays_names(tmp_path):
    args = ref.make_training_args(config.PROFILES["azure"], tmp_path)
    assert (args.learning_rate, args.per_device_train_batch_size, args.num_train_epochs) == (2e-5, 16, 3)
    assert args.eval_strategy == "epoch" and args.load_best_model_at_end and args.metric_for_best_model == "f1"
    assert args.report_to == [] and not args.disable_tqdm
    smoke = ref.make_training_args(SMOKE, tmp_path)
    assert smoke.learning_rate == 5e-5 and smoke.disable_tqdm and smoke.log_level == "error"


def test_compute_metrics_returns_plain_floats():
    from transformers import EvalPrediction

    result = ref.compute_metrics(EvalPrediction(predictions=np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]]),
                                                label_ids=np.array([1, 1, 0])))
    assert result == pytest.approx({"accuracy": 1 / 3, "precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert all(type(v) is float for v in result.values())


def test_trainer_is_tokenized_with_the_new_name_and_evaluates_on_validation(tokenizer, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=8,
                                                     num_hidden_layers=1, num_attention_heads=2,
                                                     intermediate_size=8))
    train_ds, val_ds = (ref.to_dataset(df, tokenizer, 16) for df in (data.read_reviews(SMALL).head(4),) * 2)
    trainer = ref.build_trainer(model, tokenizer, train_ds, val_ds, ref.make_training_args(SMOKE, tmp_path))
    assert trainer.processing_class is tokenizer and trainer.eval_dataset is val_ds


def test_original_recipe_tokenizer_argument_is_gone_in_transformers_5(tmp_path):
    """The notebook says ``Trainer(tokenizer=...)`` is gone: check it on the installed version."""
    from transformers import Trainer

    with pytest.raises(TypeError, match="tokenizer"):
        Trainer(model=None, args=ref.make_training_args(SMOKE, tmp_path), tokenizer=object())


# --- the notebook's tests --------------------------------------------------------------------------


def test_every_test_cell_passes_with_the_reference(test_cells):
    assert {"find_problems_tests", "split_tests", "leaked_texts_tests", "shared_sentences_tests", "tokenize_tests",
            "collator_tests", "training_args_tests", "metrics_tests", "trainer_tests"} <= set(test_cells)
    for grade_id in test_cells:
        if grade_id not in ("reflection_length", "answers"):
            run_test_cell(test_cells, grade_id)


def _case_sensitive_duplicates(df):
    """Duplicates compared as typed: "Great fit!" and "great   FIT!" are missed."""
    problems, seen = [], {}
    for row, text, label in zip(df.index, df["text"], df["label"], strict=True):
        if not isinstance(text, str) or not text.strip():
            problems.append((row, "text", "missing or empty text"))
        elif text in seen:
            problems.append((row, "text", f"duplicate of row {seen[text]}"))
        else:
            seen[text] = row
        if not (isinstance(label, (int, float)) and label in (0, 1)):
            problems.append((row, "label", f"label {label!r} is not 0 or 1"))
    return pd.DataFrame(problems, columns=["row", "field", "problem"])


def _unstratified(df, seed=42):
    from sklearn.model_selection import train_test_split

    train, rest = train_test_split(df, train_size=0.8, random_state=seed)
    validation, test = train_test_split(rest, test_size=0.5, random_state=seed)
    return data.Splits(*(p.reset_index(drop=True) for p in (train, validation, test)))


def _keeps_duplicates(df, seed=42):
    from sklearn.model_selection import train_test_split

    train, rest = train_test_split(df, train_size=0.8, stratify=df["label"], random_state=seed)
    validation, test = train_test_split(rest, test_size=0.5, stratify=rest["label"], random_state=seed)
    return data.Splits(*(p.reset_index(drop=True) for p in (train, validation, test)))


def _ignores_groups(df, seed=42):
    """Last year's answer: deduplicated and stratified, but split by review."""
    return _keeps_duplicates(df[~df["text"].str.split().str.join(" ").str.casefold().duplicated()], seed)


def _counts_sentences_not_reviews(train, test, min_words=4):
    import re

    seen = {" ".join(s.split()).casefold() for t in train["text"] for s in re.split(r"[.!?]+", t)}
    return sum(1 for t in test["text"] for s in re.split(r"[.!?]+", t)
               if len(s.split()) >= min_words and " ".join(s.split()).casefold() in seen)


def _case_sensitive_sentences(train, test, min_words=4):
    import re

    seen = {" ".join(s.split()) for t in train["text"] for s in re.split(r"[.!?]+", t) if len(s.split()) >= min_words}
    return sum(1 for t in test["text"] if {" ".join(s.split()) for s in re.split(r"[.!?]+", t)} & seen)


def _ignores_the_hardware(profile, output_dir):
    """fp32 and no workers whatever the machine: right on a CPU, slow on a GPU."""
    import dataclasses

    from finetune_kit.course import hardware

    return ref.make_training_args(dataclasses.replace(profile, forced_hardware=hardware.CPU), output_dir)


def _args_with(**changes):
    def make(profile, output_dir):
        args = ref.make_training_args(profile, output_dir)
        for name, value in changes.items():
            setattr(args, name, value)
        return args
    return make


def _trainer_evaluating_on_train(model, tokenizer, train_ds, val_ds, args):
    return ref.build_trainer(model, tokenizer, train_ds, train_ds, args)


def _trainer_without_processing_class(model, tokenizer, train_ds, val_ds, args):
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer

    return Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds,
                   data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=ref.compute_metrics,
                   callbacks=[EarlyStoppingCallback(early_stopping_patience=2)])


def _macro_metrics(eval_pred):
    from sklearn.metrics import f1_score

    result = ref.compute_metrics(eval_pred)
    result["f1"] = float(f1_score(eval_pred.label_ids, np.argmax(eval_pred.predictions, -1), average="macro"))
    return result


WRONG = [
    ("find_problems_tests", "find_problems", _case_sensitive_duplicates),
    ("find_problems_tests", "find_problems", lambda df: ref.find_problems(df.reset_index(drop=True))),
    ("split_tests", "split_reviews", _unstratified),
    ("split_tests", "split_reviews", _keeps_duplicates),
    ("split_tests", "split_reviews", lambda df, seed=42: ref.split_reviews(df, seed=42)),
    ("split_tests", "split_reviews", _ignores_groups),
    ("shared_sentences_tests", "reviews_sharing_sentences", _counts_sentences_not_reviews),
    ("shared_sentences_tests", "reviews_sharing_sentences", _case_sensitive_sentences),
    ("tokenize_tests", "tokenize_batch", lambda b, tok, n: tok(b["text"], truncation=True, max_length=n,
                                                                padding="max_length")),
    ("tokenize_tests", "tokenize_batch", lambda b, tok, n: tok(b["text"])),
    ("collator_tests", "make_collator", lambda tok: __import__("transformers").DataCollatorWithPadding(
        tok, padding="max_length", max_length=16)),
    ("training_args_tests", "make_training_args", _args_with(learning_rate=2e-5)),
    ("training_args_tests", "make_training_args", _args_with(metric_for_best_model="accuracy")),
    ("training_args_tests", "make_training_args", _args_with(report_to=["mlflow"])),
    ("training_args_tests", "make_training_args", _args_with(train_sampling_strategy="random")),
    ("training_args_tests", "make_training_args", _ignores_the_hardware),
    ("collator_tests", "make_collator", lambda tok, pad_to_multiple_of=None: ref.make_collator(tok)),
    ("metrics_tests", "compute_metrics", _macro_metrics),
    ("trainer_tests", "build_trainer", _trainer_evaluating_on_train),
    ("trainer_tests", "build_trainer", _trainer_without_processing_class),
    ("trainer_tests", "build_trainer", lambda model, tok, train, val, args, pad_to_multiple_of=None:
        ref.build_trainer(model, tok, train, val, args)),
]


@pytest.mark.parametrize(("grade_id", "name", "wrong"), WRONG, ids=[f"{g}-{i}" for i, (g, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_fails_its_test_cell(test_cells, grade_id, name, wrong):
    with pytest.raises(AssertionError):
        run_test_cell(test_cells, grade_id, **{name: wrong})


# --- the whole recipe --------------------------------------------------------------------------------


@pytest.mark.slow
def test_fine_tune_on_a_tiny_slice_saves_a_complete_model_folder():
    splits = data.load_splits(SMOKE, SMALL)
    splits.train = data.subsample(splits.train, 16)
    with tempfile.TemporaryDirectory() as tmp:
        result = ref.fine_tune(SMOKE, splits, tmp)
        from finetune_kit.sentiment import train

        assert train.is_model_folder(result.output_dir)
        assert set(result.metrics) == {"accuracy", "precision", "recall", "f1", "n"} and result.metrics["n"] == 5
        saved = data.load_saved_splits(tmp)
        assert saved.train["text"].tolist() == splits.train["text"].tolist()
        model, tok = train.load_trained(tmp)
        assert model.config.num_labels == 2


def _not_written(*args, **kwargs):
    raise NotImplementedError()


def test_a_later_steps_test_passes_when_an_earlier_step_is_not_written(test_cells):
    """A step's points depend on that step only: build_trainer's test does not call your collator or metrics."""
    run_test_cell(test_cells, "trainer_tests", make_collator=_not_written, compute_metrics=_not_written)
