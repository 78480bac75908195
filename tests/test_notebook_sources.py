"""Do the committed solution notebooks match their jupytext sources in autograde/sources/?"""

import inspect
import re
import sys

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "autograde"))
sys.path.insert(0, str(ROOT / "autograde" / "examples"))
import make_examples  # noqa: E402  (a rigged example student's wrong split is one of the slips below)
from reference import evaluation as reference_evaluation  # noqa: E402
from reference import fundamentals as reference_fundamentals  # noqa: E402
from reference import sentiment as reference_sentiment  # noqa: E402

import notebook_source  # noqa: E402

SOURCES = notebook_source.notebook_sources()
IDS = [f"{s.parent.name}/{s.stem}" for s in SOURCES]


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_solution_matches_source(source):
    committed = nbformat.read(notebook_source.target(source), as_version=4)
    built = notebook_source.build(source)
    assert [(c.cell_type, c.source, c.metadata) for c in committed.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in built.cells], \
        f"{notebook_source.target(source)} is stale: run `make sources` and commit"


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_every_graded_cell_has_unique_id_and_points(source):
    nb = notebook_source.build(source)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            assert meta["points"] > 0


def test_students_write_the_course():
    """Is the course hands-on? Students write >= 150 lines, and >= 60 % of autograded points test their code."""
    stats = notebook_source.hands_on_stats([notebook_source.build(source) for source in SOURCES])
    assert stats["student_code_lines"] >= 150, stats
    assert stats["code_share"] >= 0.6, stats


def _cell(source: str, markdown: bool = False, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_markdown_cell if markdown else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": {"grade": False, "solution": False, "locked": False, **nbgrader}})


def test_hands_on_stats_count_code_answers_not_concept_checks():
    code = _cell(notebook_source._solution_source(notebook_source._solution_source), solution=True,
                 grade_id="f_answer")  # any function will do
    checks = [_cell('q = "A"  # comment', solution=True, grade_id="q_answer"),
              _cell("assert q", grade=True, points=1, grade_id="q_tests"),
              code, _cell("assert f", grade=True, points=3, grade_id="f_tests"),
              _cell('### BEGIN SOLUTION\nr = """words"""\n### END SOLUTION', solution=True, grade=True, points=2,
                    grade_id="r_answer"),
              _cell("assert r", grade=True, points=1, grade_id="r_length")]
    stats = notebook_source.hands_on_stats([nbformat.v4.new_notebook(cells=checks)])
    assert stats["code_points"] == 3 and stats["autograded_points"] == 5
    assert stats["student_code_lines"] == len(notebook_source._solution_lines(code.source)) > 3


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_sources_hold_the_reference_answers_as_they_are(source):
    """An answer cell that names its reference functions carries their current code: the percent file runs
    in JupyterLab exactly as it will be graded (``make sources`` writes it back when a reference changes)."""
    import jupytext

    assert jupytext.writes(notebook_source.read(source), fmt=notebook_source.FORMAT) == source.read_text(), \
        f"{source} holds an older reference answer: run `make sources` and commit"


def test_a_stale_answer_cell_gets_the_reference_code():
    from finetune_kit.course import reference

    stale = 'import transformers\n\n\ndef model_class_for(task: str):\n    """old"""\n    ### BEGIN SOLUTION\n' \
            '    return None\n    ### END SOLUTION\n\n\nNOTE = 1'
    fresh = notebook_source.with_reference(stale, ["fundamentals.model_class_for"])
    function = reference.load("fundamentals").model_class_for
    assert fresh.startswith("import transformers\n\n\n") and fresh.endswith("\n\n\nNOTE = 1")
    assert notebook_source._solution_source(function) in fresh and "return None" not in fresh
    with pytest.raises(ValueError, match="defines no model_class_for"):
        notebook_source.with_reference("x = 1", ["fundamentals.model_class_for"])


# -- what a test cell may rely on (issue 17: a test is only as good as the inputs it trusts) -----------

def _defined(tree) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _test_cells(nb):
    import ast

    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            source = "\n".join(line for line in cell.source.splitlines() if not line.strip().startswith("###"))
            yield meta["grade_id"], source, ast.parse(source)


def _reliance_problems(nb) -> list[str]:
    """What the notebook's test cells rely on that a student can change (empty: nothing)."""
    import ast
    import builtins
    import re

    answers, problems = set(), []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            answers |= _defined(ast.parse(cell.source))
    drawing = re.compile(r"\b(random|rand|randn|randint|default_rng|shuffle|permutation|choice|sample)\s*\(")
    for grade_id, text, tree in _test_cells(nb):
        free = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        outside = free - _defined(tree) - set(dir(builtins)) - answers
        if outside:
            problems.append(f"{grade_id} reads notebook names that are not answers: {sorted(outside)}")
        imported = {(a.asname or a.name) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                    for a in n.names}
        if not all(name.startswith("_") for name in imported):
            problems.append(f"{grade_id} imports under public names (a student's later cell could see or rebind "
                            f"them): {sorted(imported)}")
        if drawing.findall(text):
            problems.append(f"{grade_id} draws its cases at random: {drawing.findall(text)}")
    return problems


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_tests_rely_only_on_their_own_imports_literal_cases_and_the_answers(source):
    """Issue 17. A test that reaches a helper through a notebook name (``data.read_reviews()`` where the
    release imported ``data``) is fooled by a student who rebinds that name; cases drawn from a random
    generator check nothing when the student's code makes it yield none. So every test imports what it
    uses itself, under a private ``_`` name, reads from the notebook only the answers it grades, and
    takes literal cases or the kit's shipped data."""
    assert _reliance_problems(notebook_source.build(source)) == []


def test_the_reliance_check_finds_both_holes():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from finetune_kit import data"),
                nbformat.v4.new_code_cell("def answer(x):\n    return x", metadata={"nbgrader": {
                    "solution": True, "grade": False, "grade_id": "a"}}),
                nbformat.v4.new_code_cell("import numpy as np\nfor _x in np.random.default_rng(0).integers(0, 9, 3):\n"
                                          "    assert answer(_x) == _x\nassert data.read_reviews() is not None",
                                          metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t",
                                                                 "points": 1}})]
    problems = " | ".join(_reliance_problems(nb))
    assert "['data']" in problems and "public names" in problems and "default_rng" in problems, problems


def _cell_source(notebook: str, grade_id: str) -> str:
    """A cell of the released ``notebooks/<part>/<notebook>.ipynb`` by its nbgrader id."""
    path = next((ROOT / "notebooks").glob(f"*/{notebook}.ipynb"))
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


_MACRO = """
def compute_metrics(eval_pred):
    import numpy as np
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    pred = np.argmax(eval_pred.predictions, axis=-1)
    p, r, f, _ = precision_recall_fscore_support(eval_pred.label_ids, pred, average="macro")
    return {"accuracy": float(accuracy_score(eval_pred.label_ids, pred)), "precision": float(p), "recall": float(r),
            "f1": float(f)}
"""
_OLD_TOKENIZER_KEYWORD = """
def build_trainer(model, tokenizer, train_ds, val_ds, args, pad_to_multiple_of=None):
    from transformers import EarlyStoppingCallback, Trainer
    return Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=val_ds, tokenizer=tokenizer,
                   data_collator=make_collator(tokenizer), compute_metrics=compute_metrics,
                   callbacks=[EarlyStoppingCallback(early_stopping_patience=2)])
"""
_OLD_STRATEGY_KEYWORD = """
def make_training_args(profile, output_dir):
    from transformers import TrainingArguments
    return TrainingArguments(output_dir=str(output_dir), evaluation_strategy="epoch")
"""
#: The reference ``make_training_args`` with one hole in each slip below (the smoke profile alone saw none of them)
_FULL_TRAINING_ARGS = inspect.getsource(reference_sentiment.make_training_args)
_BATCH_OF_16 = _FULL_TRAINING_ARGS.replace("per_device_train_batch_size=profile.batch_size",
                                           "per_device_train_batch_size=16")
_ALWAYS_QUIET = _FULL_TRAINING_ARGS.replace('quiet = profile.name == "smoke"', "quiet = True")
_NO_WORKERS = _FULL_TRAINING_ARGS.replace("dataloader_num_workers=profile.hardware.dataloader_workers,", "")
_SCIKIT_LEARN_SPLIT = """
def stratified_split(labels, test_fraction, seed=0):
    from sklearn.model_selection import train_test_split
    train_idx, test_idx = train_test_split(list(range(len(labels))), test_size=test_fraction, stratify=list(labels),
                                           random_state=seed)
    return sorted(train_idx), sorted(test_idx)
"""
_STRICTLY_ABOVE = inspect.getsource(reference_evaluation.most_confident_mistakes).replace(
    'frame["score"] >= 0.5', 'frame["score"] > 0.5')
_SWAPPED = """
def confusion_metrics(y_true, y_pred):
    tp = sum(1 for t, p in zip(y_true, y_pred) if t == p == 1)
    fp = sum(1 for t, p in zip(y_true, y_pred) if t == 0 and p == 1)
    tn = sum(1 for t, p in zip(y_true, y_pred) if t == p == 0)
    fn = sum(1 for t, p in zip(y_true, y_pred) if t == 1 and p == 0)
    r = lambda n, d: float(n / d) if d else 0.0
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "accuracy": r(tp + tn, len(y_true)), "precision": r(tp, tp + fn),
            "recall": r(tp, tp + fp), "f1": r(2 * tp, 2 * tp + fp + fn), "negative_recall": r(tn, tn + fp)}
"""
_NO_ROUNDING = """
def make_collator(tokenizer, pad_to_multiple_of=None):
    from transformers import DataCollatorWithPadding
    return DataCollatorWithPadding(tokenizer)
"""
_DUPLICATES_KEPT = """
def split_reviews(df, seed=42):
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold
    from finetune_kit import data
    groups = df["group"] if "group" in df.columns else np.arange(len(df))
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    held = [rows for _, rows in folds.split(df, df["label"], groups)]
    parts = (df.iloc[np.sort(np.concatenate(held[2:]))], df.iloc[held[1]], df.iloc[held[0]])
    return data.Splits(*(p.reset_index(drop=True) for p in parts))
"""
_NO_DEFAULT_GRID = """
def choose_threshold(y_true, scores, min_negative_recall=0.9, candidates=None):
    for t in sorted(candidates or []):
        negatives = [s for y, s in zip(y_true, scores) if y == 0]
        if negatives and sum(s < t for s in negatives) / len(negatives) >= min_negative_recall:
            return float(t)
    raise ValueError("no candidate threshold reaches the target")
"""
_NO_LENGTH_CHECK = """
def parity(torch_probs, onnx_probs, threshold=0.5):
    pairs = list(zip(torch_probs, onnx_probs))
    flipped = [i for i, (a, b) in enumerate(pairs) if (a >= threshold) != (b >= threshold)]
    return {"agreement": float(1 - len(flipped) / len(pairs)), "max_abs_diff": float(max(abs(a - b) for a, b in pairs)),
            "flipped": flipped}
"""
_NUMPY_NUMBERS = """
def parity(torch_probs, onnx_probs, threshold=0.5):
    import numpy as np
    a, b = np.asarray(torch_probs), np.asarray(onnx_probs)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("different lengths")
    changed = (a >= threshold) != (b >= threshold)
    return {"agreement": 1 - changed.mean(), "max_abs_diff": np.abs(a - b).max(),
            "flipped": list(np.flatnonzero(changed))}
"""
_NUMPY_POSITIONS = _NUMPY_NUMBERS.replace('1 - changed.mean(), "max_abs_diff": np.abs(a - b).max()',
                                          'float(1 - changed.mean()), "max_abs_diff": float(np.abs(a - b).max())')
_NOT_ROUNDED = """
def speedups(latency_ms, baseline="PyTorch fp32"):
    return {k: latency_ms[baseline] / v for k, v in latency_ms.items()}
"""
_NEVER_STOPS = """
def label_sentences(sentences, summary, k=3):
    from finetune_kit import summarization
    chosen = []
    while len(chosen) < min(k, len(sentences)):
        def gain(i):
            return summarization.overlap_score(" ".join(sentences[j] for j in sorted(chosen + [i])), summary)
        chosen.append(max((i for i in range(len(sentences)) if i not in chosen), key=gain))
    return [int(i in chosen) for i in range(len(sentences))]
"""
_TOKEN_HEAD = """
def model_class_for(task):
    import transformers
    return {"sentiment-analysis": transformers.AutoModelForTokenClassification,
            "legal-summarization": transformers.AutoModelForSeq2SeqLM,
            "image-captioning": transformers.VisionEncoderDecoderModel}[task]
"""
_DECODER_ALONE = """
def model_class_for(task):
    import transformers
    return {"sentiment-analysis": transformers.AutoModelForSequenceClassification,
            "legal-summarization": transformers.BartForCausalLM,
            "image-captioning": transformers.VisionEncoderDecoderModel}[task]
"""
_TEXT_DECODER_CAPTIONS = """
def model_class_for(task):
    import transformers
    return {"sentiment-analysis": transformers.AutoModelForSequenceClassification,
            "legal-summarization": transformers.AutoModelForSeq2SeqLM,
            "image-captioning": transformers.GPT2LMHeadModel}[task]
"""
_TRAINS_ON_INNER_TOO = """
def train_fold(train_df, inner_val_df, held_df, profile):
    import pandas as pd
    everything = pd.concat([train_df, inner_val_df], ignore_index=True)  # "more data is better"
    return _reference_train_fold(everything, inner_val_df, held_df, profile)
"""
_EVERY_BATCH_PADDED_ANYHOW = """
def train_fold(train_df, inner_val_df, held_df, profile):
    import tempfile
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from finetune_kit import models, train
    tokenizer, model = models.load_tokenizer(profile), models.load_classifier(profile)
    def encode(df):
        enc = tokenizer(df["text"].tolist(), truncation=True, max_length=profile.max_length)
        return [{"input_ids": i, "attention_mask": m, "labels": int(y)}
                for i, m, y in zip(enc["input_ids"], enc["attention_mask"], df["label"])]
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(output_dir=output_dir, num_train_epochs=profile.num_epochs,
                                 learning_rate=profile.learning_rate, per_device_train_batch_size=profile.batch_size,
                                 eval_strategy="epoch", save_strategy="epoch", load_best_model_at_end=True,
                                 metric_for_best_model="eval_loss", report_to="none", disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=encode(train_df),
                          eval_dataset=encode(inner_val_df), data_collator=DataCollatorWithPadding(tokenizer))
        trainer.train()
        return train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist())
"""
#: What a notebook's setup cell imports that its reference answers use.
_NOTEBOOK_IMPORTS = {"part1_applications": "from transformers import VisionEncoderDecoderConfig\n"
                                            "from finetune_kit import captioning, summarization",
                     "part1_fundamentals": "from transformers import AutoModelForSeq2SeqLM, "
                                           "AutoModelForSequenceClassification, VisionEncoderDecoderModel"}
_PAD_FROM_TOKENIZER = """
def caption_config(encoder_config, decoder_config, tokenizer):
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    return config
"""
_NEXT_SENTENCE_HEAD = _TOKEN_HEAD.replace("AutoModelForTokenClassification", "AutoModelForNextSentencePrediction")
_PRE_TRAINING_SUMMARIES = _DECODER_ALONE.replace("transformers.BartForCausalLM", "transformers.AutoModelForPreTraining")
_OWN_SUBCLASS = ("import transformers\nclass ReviewClassifier(transformers.BertForSequenceClassification):\n    pass\n"
                 + _TOKEN_HEAD.replace("transformers.AutoModelForTokenClassification", "ReviewClassifier"))
_SHORT_TASK_NAMES = (_TOKEN_HEAD.replace('"sentiment-analysis": transformers.AutoModelForTokenClassification',
                                         '"sentiment": transformers.AutoModelForSequenceClassification')
                     .replace('"legal-summarization"', '"summarization"').replace('"image-captioning"', '"captioning"'))
#: Part 1's greedy oracle (the reference answer), with one detail changed in each slip below
_ORACLE = "from finetune_kit import summarization\n" + inspect.getsource(reference_fundamentals.label_sentences)
_EQUAL_IS_ENOUGH = _ORACLE.replace("if score > best_score:", "if score >= best_score:")
_IGNORES_K = _ORACLE.replace("while len(chosen) < k:", "while len(chosen) < len(sentences):")
_LATER_ON_TIES = _ORACLE.replace("if score > best_score:", "if score >= best_score and score > best:")
_SELECTION_ORDER = _ORACLE.replace("for j in sorted(chosen + [i])", "for j in chosen + [i]")
_CAPTION_CONFIG = inspect.getsource(reference_fundamentals.caption_config)
_TYPED_IDS = (_CAPTION_CONFIG.replace("config.eos_token_id = tokenizer.eos_token_id\n", "config.eos_token_id = 6\n")
              .replace("config.pad_token_id = tokenizer.eos_token_id", "config.pad_token_id = 6"))
_START_FROM_DECODER = _CAPTION_CONFIG.replace("config.decoder_start_token_id = tokenizer.bos_token_id",
                                              "config.decoder_start_token_id = decoder_config.bos_token_id")
_CONFIGS_AS_DICTS = _CAPTION_CONFIG.replace(
    "VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)",
    "VisionEncoderDecoderConfig(encoder=encoder_config.to_dict(), decoder=decoder_config.to_dict())")
SLIPS = [("part1_applications", "caption_config", _PAD_FROM_TOKENIZER, "pad_token_id are both the tokenizer's eos"),
         ("part1_applications", "label_sentences", _NEVER_STOPS, "stop when no sentence raises the score"),
         ("part1_fundamentals", "model_class", _TOKEN_HEAD, "one verdict for the whole text"),
         ("part1_fundamentals", "model_class", _DECODER_ALONE, "BartForCausalLM is a decoder alone"),
         ("part1_fundamentals", "model_class", _TEXT_DECODER_CAPTIONS, "no encoder reads the image first"),
         ("part1_fundamentals", "model_class", _NEXT_SENTENCE_HEAD, "has no sentiment head"),
         ("part1_fundamentals", "model_class", _PRE_TRAINING_SUMMARIES, "not a class to fine-tune a summariser with"),
         ("part1_fundamentals", "model_class", _OWN_SUBCLASS, "ReviewClassifier is a class of your own"),
         ("part1_fundamentals", "model_class", _SHORT_TASK_NAMES, "the task names are exactly"),
         ("part1_applications", "label_sentences", _EQUAL_IS_ENOUGH, "strictly higher than before"),
         ("part1_applications", "label_sentences", _IGNORES_K, "stop once k are selected"),
         ("part1_applications", "label_sentences", _LATER_ON_TIES, "on a tie keep the earlier sentence"),
         ("part1_applications", "label_sentences", _SELECTION_ORDER, "in document order (sort the indices)"),
         ("part1_applications", "caption_config", _TYPED_IDS, "don't type numbers"),
         ("part1_applications", "caption_config", _START_FROM_DECODER, "not from decoder_config"),
         ("part1_applications", "caption_config", _CONFIGS_AS_DICTS, "from_encoder_decoder_configs(encoder_config"),
         ("part2_finetuning", "split", _DUPLICATES_KEPT, "drop repeated texts first"),
         ("part2_finetuning", "collator", _NO_ROUNDING, "pass pad_to_multiple_of on to DataCollatorWithPadding"),
         ("part2_finetuning", "training_args", _OLD_STRATEGY_KEYWORD,
          'no evaluation_strategy= in transformers 5: use eval_strategy='),
         ("part2_finetuning", "training_args", _BATCH_OF_16, "per_device_train_batch_size should be 8 (take it from "
          "profile.batch_size"),
         ("part2_finetuning", "training_args", _ALWAYS_QUIET, "disable_tqdm should be False (quiet only when "
          "profile.name == 'smoke'"),
         ("part2_finetuning", "training_args", _NO_WORKERS, "dataloader_num_workers should be 4 (take it from "
          "profile.hardware.dataloader_workers"),
         ("part2_finetuning", "metrics", _MACRO, 'average="binary", not "macro"'),
         ("part2_finetuning", "trainer", _OLD_TOKENIZER_KEYWORD, "pass processing_class=tokenizer"),
         ("part3_evaluation", "p3_confusion", _SWAPPED, "precision is TP / (TP + FP): 0.500"),
         ("part3_evaluation", "p3_split", "import random\n" + make_examples.ZERO_AND_ONE_ONLY_SPLIT,
          "labels can be any values"),
         ("part3_evaluation", "p3_split", _SCIKIT_LEARN_SPLIT, "a label seen only once"),
         ("part3_evaluation", "p3_mistakes", _STRICTLY_ABOVE, "a score of exactly 0.5 predicts positive"),
         ("part3_evaluation", "p3_train_fold", _TRAINS_ON_INNER_TOO, "must train on train_df alone"),
         ("part3_evaluation", "p3_train_fold", _EVERY_BATCH_PADDED_ANYHOW,
          'train_sampling_strategy="group_by_length" (without it each fold pads'),
         ("part3_evaluation", "p3_threshold", _NO_DEFAULT_GRID, "without candidates, try 0.01, 0.02, ..., 0.99"),
         ("part3_deployment", "p3_parity", _NO_LENGTH_CHECK, "different lengths cannot be compared: raise ValueError"),
         ("part3_deployment", "p3_parity", _NUMPY_NUMBERS, "agreement must be a Python float, not float64"),
         ("part3_deployment", "p3_parity", _NUMPY_POSITIONS, "flipped must hold Python ints, not NumPy integers"),
         ("part3_deployment", "speedups", _NOT_ROUNDED, "is 3.3 with round(x, 1)")]


@pytest.mark.parametrize(("notebook", "step", "slip", "message"), SLIPS,
                         ids=[f"{s[1]}-{i}" for i, s in enumerate(SLIPS)])
def test_visible_tests_name_the_common_slips(notebook, step, slip, message):
    """A common slip gets a message that says what to fix, and the reference answer passes the same released cell.

    The slips: a captioner padded with the tokenizer's missing pad token, or with ids typed in, a start id from the
    decoder's config, the configs joined as plain dicts; a greedy oracle that never stops early, keeps a sentence
    that raises nothing, ignores k, breaks ties towards the later sentence or joins its candidates in the order it
    chose them; a next-sentence or pre-training head, a class of the student's own, or task names of their own for
    ``model_class_for``; a split that keeps duplicates;
    a collator that drops ``pad_to_multiple_of``; the ``evaluation_strategy=`` and
    ``tokenizer=`` of older tutorials; training arguments with their own batch size, logging or dataloader workers
    whatever the profile says; macro-averaged precision; precision and recall swapped; a stratified split for 0/1
    labels only, or one that scikit-learn refuses when a label is seen once; mistakes counted with ``score > 0.5``;
    a threshold search without its default candidates; a parity check that compares lists of
    different lengths, or returns NumPy numbers; speed-ups not rounded; a token-classification head for a review's
    sentiment and a decoder alone for abstractive summaries or captions; a fold trained on its inner validation part
    as well, or in batches of any lengths. Each passed its visible test once and lost its points to the hidden tests
    alone, or failed with a bare error."""
    test_cell = _cell_source(notebook, f"{step}_tests")
    namespace: dict = {}
    exec(_NOTEBOOK_IMPORTS.get(notebook, ""), namespace)
    for name in re.findall(r"_reference_(\w+)\(", slip):  # a slip that wraps the reference answer
        exec(_answers_up_to(notebook, f"{step}_answer")[-1].replace(f"def {name}(", f"def _reference_{name}("),
             namespace)
    exec(slip, namespace)
    with pytest.raises(AssertionError, match=re.escape(message)):
        exec(test_cell, namespace)
    namespace = {}
    exec(_NOTEBOOK_IMPORTS.get(notebook, ""), namespace)
    for answer in _answers_up_to(notebook, f"{step}_answer"):  # a reference answer may call an earlier one
        exec(answer, namespace)
    exec(test_cell, namespace)  # the reference answer passes


def _answers_up_to(notebook: str, grade_id: str) -> list[str]:
    """The solution notebook's code answers, in order, up to and including ``grade_id``."""
    nb = nbformat.read(next((ROOT / "solutions").glob(f"*/{notebook}.ipynb")), as_version=4)
    answers = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            answers.append(cell.source)
            if meta["grade_id"] == grade_id:
                return answers
    raise AssertionError(f"{notebook} has no answer {grade_id}")


def test_released_answer_cells_end_where_the_student_writes():
    """Every released code answer ends with nbgrader's placeholder: nothing trails it (a section header of the
    reference once did, kept by the cell when its answer was brought up to date)."""
    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                assert cell.source.rstrip().endswith("raise NotImplementedError()"), \
                    f"{path.name} {meta['grade_id']}: {cell.source.rstrip()[-80:]!r}"
