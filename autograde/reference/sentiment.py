"""Part 2 reference answers: the sentiment case study, one function per step the student writes.

Each function's docstring is the exercise the student reads in the notebook (``notebook_source.solution``
keeps the signature and docstring and hides the body). ``fine_tune`` composes them into the whole recipe
for the kit's ``train`` command, ``train.ensure_model``, the benchmarks and the Azure job.
"""

from __future__ import annotations

import time
from pathlib import Path


def find_problems(df):
    """List every problem in a frame of reviews (columns ``text`` and ``label``), changing nothing.

    Return a ``pandas.DataFrame`` with one row per problem and exactly the columns
    ``row`` (the frame's index label of the faulty row), ``field`` (``"text"`` or ``"label"``)
    and ``problem`` (a short sentence a person can act on). Report:

    - a missing or empty text (``None``, ``NaN``, ``""`` or only spaces): field ``"text"``;
    - a label that is not the number 0 or 1 (``2``, ``"positive"``, ``NaN``, ...): field ``"label"``;
    - a duplicate text: the same review again, ignoring upper/lower case and extra spaces.
      Report the *later* row, and name the earlier row in the problem, e.g. ``"duplicate of row 3"``.

    Never drop or change a row: ``df`` must be exactly the same after the call.
    No problems: an empty DataFrame that still has the three columns.
    """
    import numbers

    import pandas as pd

    problems = []
    first_seen = {}  # normalised text -> index label of its first row
    for row, text, label in zip(df.index, df["text"], df["label"], strict=True):
        if not isinstance(text, str) or not text.strip():
            problems.append((row, "text", "missing or empty text"))
        else:
            key = " ".join(text.split()).casefold()
            if key in first_seen:
                problems.append((row, "text", f"duplicate of row {first_seen[key]}"))
            else:
                first_seen[key] = row
        is_number = isinstance(label, numbers.Number) and not isinstance(label, bool)
        if not (is_number and label in (0, 1)):
            problems.append((row, "label", f"label {label!r} is not 0 or 1"))
    return pd.DataFrame(problems, columns=["row", "field", "problem"])


def leaked_texts(splits) -> set:
    """The set of texts that appear in two or more of ``splits.train``, ``splits.validation`` and ``splits.test``.

    Each is a DataFrame with a ``text`` column. Return a Python ``set`` of strings (empty: no leak).
    """
    parts = [set(splits.train["text"]), set(splits.validation["text"]), set(splits.test["text"])]
    return (parts[0] & parts[1]) | (parts[0] & parts[2]) | (parts[1] & parts[2])


def split_reviews(df, seed=42):
    """Split reviews about 80/10/10 into train, validation and test; return ``finetune_kit.data.Splits``.

    - **no review in two splits**: first drop repeated texts (ignoring case and extra spaces; keep
      the first), or the model would be tested on a review it trained on;
    - **no group in two splits**: reviews with the same ``group`` value share sentences, so each group
      goes whole into one split (a frame without a ``group`` column: every review is its own group);
    - **stratified** by ``label``: each split keeps about the share of positive reviews of the whole;
    - **seeded**: the same ``seed`` gives the same split every time;
    - each part keeps its columns and gets a fresh index (0, 1, 2, ...).

    Hint: ``sklearn.model_selection.StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)``
    cuts a frame into 10 folds of whole groups; its ``.split(frame, labels, groups)`` yields each fold's
    ``(other_rows, fold_rows)`` as positions (use ``.iloc``). Take the first fold as test, the second as
    validation and the other eight as train; ``data.Splits(train, validation, test)``.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    from finetune_kit import data

    normalised = df["text"].str.split().str.join(" ").str.casefold()
    unique = df[~normalised.duplicated()]
    groups = unique["group"] if "group" in unique.columns else np.arange(len(unique))
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    held_out = [rows for _, rows in folds.split(unique, unique["label"], groups)]
    train = unique.iloc[np.sort(np.concatenate(held_out[2:]))]
    validation, test = unique.iloc[held_out[1]], unique.iloc[held_out[0]]
    return data.Splits(*(part.reset_index(drop=True) for part in (train, validation, test)))


def reviews_sharing_sentences(train, test, min_words=4) -> int:
    """How many reviews in ``test`` share a sentence of ``min_words`` or more words with a review in ``train``.

    Both are DataFrames with a ``text`` column. A sentence is what lies between ``.``, ``!`` and ``?``
    (``re.split(r"[.!?]+", text)``); compare sentences ignoring upper/lower case and extra spaces
    (``" ".join(sentence.split()).casefold()``) and skip those shorter than ``min_words`` words.
    Return a Python ``int``.
    """
    import re

    def sentences(text):
        keys = (" ".join(part.split()).casefold() for part in re.split(r"[.!?]+", text))
        return {key for key in keys if len(key.split()) >= min_words}

    seen = set()
    for text in train["text"]:
        seen |= sentences(text)
    return sum(1 for text in test["text"] if sentences(text) & seen)


def tokenize_batch(batch, tokenizer, max_length):
    """Tokenize a batch of reviews; used as ``dataset.map(tokenize_batch, batched=True, ...)``.

    ``batch`` is a dict of lists: ``batch["text"]`` holds the reviews. Return what ``tokenizer``
    gives for them (``input_ids`` and ``attention_mask``, one list per review), **truncated** to at
    most ``max_length`` tokens and **not padded**: each review keeps its own length, and padding
    happens later, batch by batch (next step).
    """
    return tokenizer(batch["text"], truncation=True, max_length=max_length)


def make_collator(tokenizer, pad_to_multiple_of=None):
    """A data collator that pads each batch only to its longest review (dynamic padding).

    Use transformers' ``DataCollatorWithPadding`` with this tokenizer. With ``pad_to_multiple_of`` (a
    number), round that length up to a multiple of it: a GPU runs fastest when it sees few different
    shapes (``profile.hardware.pad_to_multiple_of`` is 64 there, None on a CPU).
    """
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)


def make_training_args(profile, output_dir):
    """Today's ``TrainingArguments`` for the profile, checkpoints in ``output_dir``.

    - evaluate, save and log the training loss once per epoch (``eval_strategy``, ``save_strategy``
      and ``logging_strategy`` = ``"epoch"``), and end on the best epoch
      (``load_best_model_at_end=True``) judged by F1 (``metric_for_best_model="f1"``);
    - ``learning_rate``, ``per_device_train_batch_size`` and ``num_train_epochs`` from
      ``profile.learning_rate``, ``profile.batch_size`` and ``profile.num_epochs``;
    - ``weight_decay=0.01``, ``seed=42``, ``report_to="none"``;
    - ``train_sampling_strategy="group_by_length"``: each batch holds reviews of similar length, so
      padding them costs little (transformers 5's name for the older ``group_by_length=True``);
    - what this machine calls for, from ``profile.hardware``: ``bf16=profile.hardware.bf16``,
      ``fp16=profile.hardware.fp16`` and ``dataloader_num_workers=profile.hardware.dataloader_workers``;
    - ``use_cpu=True`` when there is no GPU (``torch.cuda.is_available()`` is False);
    - quiet under the smoke profile (``profile.name == "smoke"``): ``disable_tqdm=True`` and
      ``log_level="error"``; otherwise ``disable_tqdm=False`` and ``log_level="warning"``.
    """
    import torch
    from transformers import TrainingArguments

    quiet = profile.name == "smoke"
    return TrainingArguments(
        output_dir=str(output_dir),
        eval_strategy="epoch",  # was evaluation_strategy= in the recipe we started from
        save_strategy="epoch",
        logging_strategy="epoch",  # the training loss, for the curves
        load_best_model_at_end=True,  # the best epoch on *validation*, never on test
        metric_for_best_model="f1",
        learning_rate=profile.learning_rate,
        per_device_train_batch_size=profile.batch_size,
        num_train_epochs=profile.num_epochs,
        weight_decay=0.01,
        seed=42,
        report_to="none",
        train_sampling_strategy="group_by_length",  # less padding: half the work on our reviews
        bf16=profile.hardware.bf16,  # where the chip has it: recent GPUs, CPUs with AVX512-BF16/AMX
        fp16=profile.hardware.fp16,
        dataloader_num_workers=profile.hardware.dataloader_workers,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=quiet,
        log_level="error" if quiet else "warning",
    )


def compute_metrics(eval_pred):
    """Accuracy, precision, recall and F1 of the positive class (label 1) for the ``Trainer``.

    ``eval_pred.predictions`` holds the logits (one row of 2 scores per review) and
    ``eval_pred.label_ids`` the true labels; the predicted label is the larger logit's position.
    Return a dict with exactly the keys ``"accuracy"``, ``"precision"``, ``"recall"``, ``"f1"``,
    each a plain Python ``float``; when nothing is predicted positive, precision is 0.0.

    Hint: ``numpy.argmax(..., axis=-1)``; ``sklearn.metrics.accuracy_score`` and
    ``precision_recall_fscore_support(..., average="binary", zero_division=0)``.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    predicted = np.argmax(eval_pred.predictions, axis=-1)
    labels = eval_pred.label_ids
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, average="binary",
                                                               zero_division=0)
    return {"accuracy": float(accuracy_score(labels, predicted)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def build_trainer(model, tokenizer, train_ds, val_ds, args, pad_to_multiple_of=None):
    """A ``transformers.Trainer`` that trains ``model`` on ``train_ds`` with ``args``, and:

    - passes the tokenizer as ``processing_class=`` (the ``tokenizer=`` of older tutorials is gone);
    - evaluates on ``val_ds``, the **validation** split (never the test split: it would then
      choose the epoch, and its score would no longer measure new data);
    - pads each batch with your ``make_collator(tokenizer, pad_to_multiple_of=pad_to_multiple_of)``
      and scores with your ``compute_metrics``;
    - stops early when validation F1 has not improved for 2 evaluations:
      ``callbacks=[EarlyStoppingCallback(early_stopping_patience=2)]``.
    """
    from transformers import EarlyStoppingCallback, Trainer

    return Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        data_collator=make_collator(tokenizer, pad_to_multiple_of=pad_to_multiple_of),
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=2)],
    )


# --- the whole recipe, for the kit's own commands ------------------------------------------------


def to_dataset(df, tokenizer, max_length):
    """A ``datasets.Dataset`` of token ids and labels for the ``Trainer`` (``tokenize_batch`` on every row)."""
    from datasets import Dataset

    ds = Dataset.from_pandas(df[["text", "label"]], preserve_index=False)
    return ds.map(tokenize_batch, batched=True, remove_columns=["text"],
                  fn_kwargs={"tokenizer": tokenizer, "max_length": max_length})


def fine_tune(profile, splits, output_dir, *, pretrained=True, report_to=None):
    """Fine-tune the profile's model on ``splits`` and save it, with its test metrics, to ``output_dir``.

    The notebook's steps in order: tokenize, arguments, trainer, train (the best epoch chosen on
    validation), evaluate **once** on test, save a standard model folder (``from_pretrained`` loads
    it) with ``metrics.json``, a model card and the splits it was trained on (``data.save_splits``).
    ``pretrained=False`` trains the same architecture from random weights. ``report_to`` defaults to
    MLflow except under smoke (``profile.tracking``).
    """
    import shutil

    from transformers import EarlyStoppingCallback, PrinterCallback

    from finetune_kit import data, models, train

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile, pretrained=pretrained)
    train_ds, val_ds, test_ds = (to_dataset(df, tokenizer, profile.max_length)
                                 for df in (splits.train, splits.validation, splits.test))
    args = make_training_args(profile, output_dir / "checkpoints")
    args.report_to = train.mlflow_setup(output_dir, profile.tracking if report_to is None
                                        else tuple(report_to), pretrained=pretrained, profile=profile)
    trainer = build_trainer(model, tokenizer, train_ds, val_ds, args, profile.hardware.pad_to_multiple_of)
    if args.disable_tqdm:  # smoke: no per-step log lines either
        trainer.remove_callback(PrinterCallback)

    with train.tracking(args.report_to):
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        trainer.remove_callback(EarlyStoppingCallback)  # it would look for eval_f1 in the test metrics and warn
        test = trainer.evaluate(test_ds, metric_key_prefix="test")  # once, after the epoch was chosen
    if not trainer.is_world_process_zero():  # other processes of a distributed run: rank 0 saves
        return train.TrainResult(output_dir=output_dir, metrics={}, validation_metrics={}, pretrained=pretrained)
    trainer.save_model(str(output_dir))  # weights, config and tokenizer
    data.save_splits(splits, output_dir)
    shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    return train.record_run(trainer, profile, splits, output_dir, test, train_seconds=seconds, pretrained=pretrained)
