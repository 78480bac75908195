"""Error analysis: where a classifier fails, not just how often.

Three views (Part 3): the **most confident mistakes** (the notebook has you find them: they show label noise, sarcasm
and blind spots no metric names); **accuracy by slice** (domain, review length, negation, contrast
words), each with a 95 % interval so a slice of 12 reviews is not over-read; and a **bias probe**
that swaps identity terms ("my husband" ↔ "my wife", "John" ↔ "Aisha", "he" ↔ "she") in otherwise
identical reviews and counts how often the prediction flips — it should never depend on who wrote it.

Everything here takes predictions as plain arrays or a ``predict(texts) -> scores`` callable, so it
works with any model (PyTorch, ONNX Runtime, an endpoint) and is tested without one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: word-count buckets, matching the datasheet of data/reviews: (upper bound exclusive, name)
LENGTH_BUCKETS: tuple[tuple[float, str], ...] = (
    (15, "short (< 15 words)"),
    (61, "medium (15-60 words)"),
    (math.inf, "long (> 60 words)"),
)
# Heuristics, like the datasheet's: informal reviews drop apostrophes ("dont"), so those count too.
NEGATION = re.compile(
    r"\b(not|no|never|nothing|nobody|none|neither|nor|cannot|without|hardly|barely)\b|n't\b"
    r"|\b(dont|doesnt|didnt|isnt|wasnt|arent|werent|cant|wont|couldnt|shouldnt|wouldnt|havent|hasnt)\b",
    re.IGNORECASE,
)
CONTRAST = re.compile(r"\b(but|however|although|though|yet|whereas|despite|that said|even so)\b", re.IGNORECASE)


def word_count(text: str) -> int:
    return len(text.split())


def length_bucket(text: str) -> str:
    """The length bucket of ``text`` (whitespace-separated words)."""
    words = word_count(text)
    return next(name for bound, name in LENGTH_BUCKETS if words < bound)


def has_negation(text: str) -> bool:
    return NEGATION.search(text) is not None


def has_contrast(text: str) -> bool:
    return CONTRAST.search(text) is not None


#: slice name -> function(text) -> group; "domain" comes from the data's own column
TEXT_SLICES: dict[str, Callable[[str], Any]] = {
    "length": length_bucket,
    "negation": lambda t: "has negation" if has_negation(t) else "no negation",
    "contrast": lambda t: "has but/however/…" if has_contrast(t) else "no contrast word",
}


def predictions_frame(df: pd.DataFrame, scores: Sequence[float], *, threshold: float = 0.5) -> pd.DataFrame:
    """The reviews with the model's score, prediction, correctness, confidence and every slice column.

    ``df`` needs ``text`` and ``label`` (a ``domain`` column is kept when present); ``scores`` are
    P(positive) in the same order.
    """
    scores = np.asarray(scores, dtype=float)
    missing = [c for c in ("text", "label") if c not in df.columns]
    if missing:
        raise ValueError(f"predictions_frame needs columns {missing}; found {list(df.columns)}")
    if len(df) != len(scores):
        raise ValueError(f"{len(df)} reviews but {len(scores)} scores")
    keep = [c for c in ("id", "domain", "text", "label") if c in df.columns]
    frame = df[keep].reset_index(drop=True).copy()
    frame["label"] = frame["label"].astype(int)
    frame["score"] = scores
    frame["predicted"] = (scores >= threshold).astype(int)
    frame["correct"] = frame["predicted"] == frame["label"]
    frame["confidence"] = np.where(frame["predicted"] == 1, scores, 1 - scores)
    frame["error"] = np.select([frame["correct"], frame["label"] == 1], ["", "false negative"], "false positive")
    frame["words"] = frame["text"].map(word_count)
    for name, slicer in TEXT_SLICES.items():
        frame[name] = frame["text"].map(slicer)
    return frame


def wilson_interval(successes: int, n: int, *, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion: honest for small n and for 0 % or 100 %."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # min/max: rounding must never put the interval beside the estimate (e.g. 100 % accuracy)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def slice_accuracy(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Accuracy per group of column ``by``, with counts, errors and a 95 % interval; worst first."""
    if by not in frame.columns:
        raise ValueError(f"no column {by!r} to slice by; available: {list(frame.columns)}")
    rows = []
    for group, part in frame.groupby(by, sort=True):
        correct = int(part["correct"].sum())
        low, high = wilson_interval(correct, len(part))
        rows.append({"slice": by, "group": str(group), "n": len(part), "errors": len(part) - correct,
                     "accuracy": correct / len(part), "low": low, "high": high})
    return pd.DataFrame(rows).sort_values("accuracy", kind="stable").reset_index(drop=True)


def slice_report(frame: pd.DataFrame, slices: Sequence[str] | None = None) -> pd.DataFrame:
    """``slice_accuracy`` for every slice (domain when present, length, negation, contrast), stacked."""
    if slices is None:
        slices = [s for s in ("domain", *TEXT_SLICES) if s in frame.columns]
    return pd.concat([slice_accuracy(frame, s) for s in slices], ignore_index=True)


# --- bias probe -----------------------------------------------------------------------------------

#: identity pairs put into the same review template; the model should not care which one it sees
IDENTITY_PAIRS: tuple[tuple[str, str], ...] = (
    ("my husband", "my wife"),
    ("my boyfriend", "my girlfriend"),
    ("my son", "my daughter"),
    ("my dad", "my mum"),
    ("he", "she"),
    ("John", "Aisha"),
    ("James", "Mohammed"),
    ("Emily", "Mei"),
)
#: short reviews with a slot for who did it: clear verdicts both ways and a few borderline ones
PROBE_TEMPLATES: tuple[str, ...] = (
    "{who} loved the food and wants to go back next week.",
    "{who} said the room was spotless and the staff were lovely.",
    "{who} thinks this is the best phone we have owned.",
    "{who} found the app confusing and deleted it after a day.",
    "{who} waited forty minutes for a cold pizza.",
    "{who} returned the jacket because the zip broke twice.",
    "{who} said the film was fine, nothing special.",
    "{who} liked the screen but the battery barely lasts a day.",
    "{who} was not impressed, although the delivery was quick.",
    "{who} did not expect much, but the book turned out great.",
    "{who} said the flight was late but the crew were kind.",
    "{who} says the kettle is noisy, yet it boils fast.",
)
#: gendered words swapped inside real reviews (one direction each way; "her" is ambiguous, → "his")
GENDER_SWAPS: dict[str, str] = {
    "he": "she", "she": "he", "him": "her", "his": "her", "her": "his", "himself": "herself",
    "herself": "himself", "husband": "wife", "wife": "husband", "boyfriend": "girlfriend",
    "girlfriend": "boyfriend", "son": "daughter", "daughter": "son", "brother": "sister", "sister": "brother",
    "father": "mother", "mother": "father", "dad": "mum", "mum": "dad", "man": "woman", "woman": "man",
    "men": "women", "women": "men", "boy": "girl", "girl": "boy", "boys": "girls", "girls": "boys",
}
_WORD = re.compile(r"[A-Za-z]+")


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[0].upper() + word[1:] if like[0].isupper() else word


def swap_words(text: str, swaps: dict[str, str] = GENDER_SWAPS) -> str:
    """``text`` with every whole word in ``swaps`` replaced by its partner, keeping capitalisation."""
    def replace(match: re.Match) -> str:
        word = match.group(0)
        partner = swaps.get(word.lower())
        return _match_case(partner, word) if partner else word

    return _WORD.sub(replace, text)


def fill(template: str, who: str) -> str:
    """A template with ``who`` in its slot, capitalised when it starts the sentence."""
    text = template.format(who=who)
    return text[0].upper() + text[1:]


def probe_pairs(texts: Sequence[str] = (), *, templates: Sequence[str] = PROBE_TEMPLATES,
                pairs: Sequence[tuple[str, str]] = IDENTITY_PAIRS) -> pd.DataFrame:
    """Counterfactual pairs: every template × identity pair, plus each of ``texts`` that contains a
    gendered word, with those words swapped. Columns: swap, source, text_a, text_b."""
    rows = [{"swap": f"{a} → {b}", "source": "template", "text_a": fill(t, a), "text_b": fill(t, b)}
            for a, b in pairs for t in templates]
    for text in texts:
        swapped = swap_words(text)
        if swapped != text:
            rows.append({"swap": "gendered words in real reviews", "source": "test review",
                         "text_a": text, "text_b": swapped})
    return pd.DataFrame(rows, columns=["swap", "source", "text_a", "text_b"])


def bias_probe(predict: Callable[[list[str]], Sequence[float]], texts: Sequence[str] = (), *,
               threshold: float = 0.5, templates: Sequence[str] = PROBE_TEMPLATES,
               pairs: Sequence[tuple[str, str]] = IDENTITY_PAIRS) -> pd.DataFrame:
    """Score both sides of every counterfactual pair with ``predict`` (texts -> P(positive)).

    Adds score_a, score_b, change (b - a) and flipped (the predicted label differs). Every distinct
    text is scored once, in one call.
    """
    probe = probe_pairs(texts, templates=templates, pairs=pairs)
    unique = list(dict.fromkeys([*probe["text_a"], *probe["text_b"]]))
    scores = np.asarray(predict(unique), dtype=float)
    if scores.shape != (len(unique),):
        raise ValueError(f"predict returned {scores.shape} scores for {len(unique)} texts")
    lookup = dict(zip(unique, scores, strict=True))
    probe["score_a"] = probe["text_a"].map(lookup)
    probe["score_b"] = probe["text_b"].map(lookup)
    probe["change"] = probe["score_b"] - probe["score_a"]
    probe["flipped"] = (probe["score_a"] >= threshold) != (probe["score_b"] >= threshold)
    return probe


def bias_summary(probe: pd.DataFrame) -> pd.DataFrame:
    """Per swap: how many pairs, how many flipped, and the mean and largest score change."""
    summary = probe.groupby("swap", sort=False).agg(
        pairs=("flipped", "size"), flipped=("flipped", "sum"),
        mean_abs_change=("change", lambda c: float(np.abs(c).mean())),
        max_abs_change=("change", lambda c: float(np.abs(c).max())),
    )
    summary["flipped"] = summary["flipped"].astype(int)
    return summary.reset_index()
