"""Reference answers to Part 3's evaluation notebook (``part3_evaluation``).

Each function's docstring is what the student sees in the notebook's answer cell: it says what to
return and gives hints. The body is the instructor's answer (``notebook_source.solution``).
"""

from __future__ import annotations


def confusion_metrics(y_true, y_pred):
    """The confusion counts of 0/1 labels and the metrics computed from them, as a dict.

    Return a dict with exactly these keys:

    * ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``: Python ``int`` counts (positive = label 1);
    * ``"accuracy"``: share of correct predictions;
    * ``"precision"``, ``"recall"``, ``"f1"``: of the **positive** class;
    * ``"negative_recall"``: recall of the **negative** class, TN / (TN + FP): of the truly negative
      reviews, how many did we call negative?

    Each metric is a Python ``float``. A ratio whose denominator is 0 is ``0.0`` (say so explicitly:
    no ``ZeroDivisionError``, no ``nan``). ``y_true`` and ``y_pred`` are lists or NumPy arrays of 0/1.
    """
    pairs = [(int(t), int(p)) for t, p in zip(y_true, y_pred, strict=True)]
    tp = sum(1 for t, p in pairs if t == 1 and p == 1)
    fp = sum(1 for t, p in pairs if t == 0 and p == 1)
    tn = sum(1 for t, p in pairs if t == 0 and p == 0)
    fn = sum(1 for t, p in pairs if t == 1 and p == 0)

    def ratio(num, den):
        return float(num / den) if den else 0.0

    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "accuracy": ratio(tp + tn, len(pairs)),
            "precision": ratio(tp, tp + fp),
            "recall": ratio(tp, tp + fn),
            "f1": ratio(2 * tp, 2 * tp + fp + fn),
            "negative_recall": ratio(tn, tn + fp)}


def choose_threshold(y_true, scores, min_negative_recall=0.9, candidates=None):
    """The lowest candidate threshold that still finds ``min_negative_recall`` of the negative reviews.

    A review is predicted positive when ``score >= threshold``, negative otherwise. Raising the
    threshold calls more reviews negative, so the recall of the negative class can only go up.
    Return the **lowest** threshold among ``candidates`` whose negative recall is at least
    ``min_negative_recall``: it catches enough unhappy customers while calling as few happy ones
    unhappy as possible. ``candidates`` defaults to ``0.01, 0.02, …, 0.99``.

    Return it as a Python ``float``. If no candidate reaches the target, raise ``ValueError`` with a
    message that says so. ``y_true`` holds 0/1 labels, ``scores`` P(positive) (lists or NumPy arrays).
    *Hint:* your ``confusion_metrics`` computes the negative recall.
    """
    if candidates is None:
        candidates = [i / 100 for i in range(1, 100)]
    for threshold in sorted(float(c) for c in candidates):
        predicted = [1 if float(s) >= threshold else 0 for s in scores]
        if confusion_metrics(y_true, predicted)["negative_recall"] >= min_negative_recall:
            return threshold
    raise ValueError(f"no candidate threshold reaches a negative recall of {min_negative_recall}")


def most_confident_mistakes(texts, labels, scores, n=5):
    """The ``n`` mistakes the model was surest of, as a pandas DataFrame (threshold 0.5).

    A review is predicted positive (1) when its score, P(positive), is ``>= 0.5``. A *mistake* is a
    review whose prediction differs from its label. The model's *confidence* in its prediction is
    the score for a positive prediction and ``1 - score`` for a negative one.

    Return a DataFrame with the columns ``text``, ``label``, ``predicted``, ``score`` and
    ``confidence`` (in that order), one row per mistake, most confident first, at most ``n`` rows,
    with a fresh index ``0, 1, …`` (``reset_index(drop=True)``). Ties keep the input order.
    """
    import pandas as pd

    frame = pd.DataFrame({"text": list(texts), "label": [int(y) for y in labels],
                          "score": [float(s) for s in scores]})
    frame["predicted"] = (frame["score"] >= 0.5).astype(int)
    frame["confidence"] = frame["score"].where(frame["predicted"] == 1, 1 - frame["score"])
    mistakes = frame[frame["predicted"] != frame["label"]]
    mistakes = mistakes.sort_values("confidence", ascending=False, kind="stable").head(n)
    return mistakes[["text", "label", "predicted", "score", "confidence"]].reset_index(drop=True)


def stratified_split(labels, test_fraction, seed=0):
    """Split positions ``0 … len(labels)-1`` into ``(train_idx, test_idx)``, keeping each label's share.

    Return two **lists of ``int``** that together contain every position exactly once. For each label
    value, about ``test_fraction`` of its positions (rounded, so within one) go to ``test_idx``.
    Shuffle each label's positions with ``random.Random(seed)`` first, so the split is random but the
    same seed gives the same split. Labels can be any values (``0``/``1``, ``"pos"``/``"neg"``, …).
    """
    import random

    rng = random.Random(seed)
    positions = {}
    for i, label in enumerate(labels):
        positions.setdefault(label, []).append(i)
    train_idx, test_idx = [], []
    for label in positions:
        group = positions[label]
        rng.shuffle(group)
        n_test = round(test_fraction * len(group))
        test_idx += group[:n_test]
        train_idx += group[n_test:]
    return sorted(train_idx), sorted(test_idx)


def train_fold(train_df, inner_val_df, held_df, profile):
    """Fine-tune a fresh pre-trained model for one fold; return P(positive) for each review of ``held_df``.

    The Part 2 recipe, in a few lines:

    1. start from the pre-trained encoder with a new head: ``models.load_classifier(profile)`` and
       ``models.load_tokenizer(profile)`` (``from finetune_kit import models``);
    2. tokenize ``train_df`` and ``inner_val_df`` (truncate to ``profile.max_length``, no padding):
       a plain list of dicts such as ``{"input_ids": …, "attention_mask": …, "labels": 1}`` works as a
       dataset for ``Trainer``;
    3. ``TrainingArguments`` with ``profile.num_epochs``, ``profile.learning_rate``,
       ``profile.batch_size``; evaluate and save every epoch and keep the **best epoch by the loss on
       ``inner_val_df``** (``load_best_model_at_end=True``); ``report_to="none"`` and
       ``disable_tqdm=True`` keep the output quiet. Part 2's speed settings, or a fold takes four to
       five times as long: ``train_sampling_strategy="group_by_length"``, ``bf16=profile.hardware.bf16``,
       ``fp16=profile.hardware.fp16`` and ``use_cpu=not torch.cuda.is_available()``. Use a temporary
       ``output_dir`` (``tempfile.TemporaryDirectory()``): checkpoints are big;
    4. a ``Trainer`` with ``DataCollatorWithPadding(tokenizer,
       pad_to_multiple_of=profile.hardware.pad_to_multiple_of)``, then ``trainer.train()``;
    5. return ``train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist(),
       max_length=profile.max_length)``: a NumPy array, one score per held-out review.

    ``held_df`` is what the fold is scored on, so nothing may look at it while training (it may even
    come without a ``label`` column).
    """
    import tempfile

    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from finetune_kit import models, train

    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)

    def encode(df):
        encoded = tokenizer(df["text"].tolist(), truncation=True, max_length=profile.max_length)
        return [{"input_ids": ids, "attention_mask": mask, "labels": int(label)}
                for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], df["label"], strict=True)]

    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(output_dir=output_dir, num_train_epochs=profile.num_epochs,
                                 learning_rate=profile.learning_rate, per_device_train_batch_size=profile.batch_size,
                                 per_device_eval_batch_size=32, eval_strategy="epoch", save_strategy="epoch",
                                 load_best_model_at_end=True, metric_for_best_model="eval_loss",
                                 save_total_limit=1, report_to="none", disable_tqdm=True, seed=42,
                                 train_sampling_strategy="group_by_length", bf16=profile.hardware.bf16,
                                 fp16=profile.hardware.fp16, use_cpu=not torch.cuda.is_available())
        collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=profile.hardware.pad_to_multiple_of)
        trainer = Trainer(model=model, args=args, train_dataset=encode(train_df),
                          eval_dataset=encode(inner_val_df), data_collator=collator)
        trainer.train()
        return train.predict_proba(trainer.model, tokenizer, held_df["text"].tolist(),
                                   max_length=profile.max_length)
