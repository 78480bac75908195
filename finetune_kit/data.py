"""Data preparation for the sentiment case study: validate, clean, split, tokenize.

The same functions serve the kit's own reviews (offline) and IMDB from the Hub (azure profile), so
what students learn on a laptop is what runs on the cluster.
"""

from __future__ import annotations

import csv
import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from finetune_kit.config import DATA_DIR, Profile

LABELS = (0, 1)
REQUIRED_COLUMNS = ("text", "label")
REVIEWS_CSV = DATA_DIR / "reviews" / "reviews.csv"
SEED = 42


class DataError(ValueError):
    """A dataset problem a person can fix: says which file, row and field, and lists every problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path, self.problems = str(path), problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n  {shown}{more}")


# --- cleaning -------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]{0,40}>")  # IMDB reviews carry <br /> tags; nothing else looks like a tag
_SPACE = re.compile(r"\s+")
# NFKC leaves typographic quotes alone; "don’t" and "don't" should be the same tokens.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


def clean_text(text: str) -> str:
    """Normalise what carries no meaning, keep what does.

    The original recipe "removes special characters and lower-cases". We do not: the tokenizer
    already lower-cases (uncased WordPiece) and "!", "?!" and ":(" carry sentiment. We only undo
    HTML (``&amp;`` → ``&``, ``<br />`` → space), apply Unicode NFKC (full-width letters,
    ligatures, no-break spaces become the characters the vocabulary knows), straighten curly quotes
    and collapse whitespace.
    """
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    if not text.isprintable():  # printable text has no control or format characters: skip the slow scan
        text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return _SPACE.sub(" ", text).strip()


# --- reading and validating -----------------------------------------------------------------------


def _parse_label(raw: Any) -> int | None:
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() and int(value) in LABELS else None


def validate(df: pd.DataFrame, path: Path | str = "<data>", *, first_row: int = 2) -> pd.DataFrame:
    """Check columns, empty texts, labels and duplicates; return a cleaned copy or raise DataError.

    Rows are named as in a spreadsheet (the header is row 1), so a person can jump to them.
    Every problem is reported at once, nothing is dropped silently.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(path, [f"missing column(s) {missing}; found {list(df.columns)}"])
    problems: list[str] = []
    texts, labels = [], []
    seen: dict[str, int] = {}
    for i, (raw_text, raw_label) in enumerate(zip(df["text"], df["label"], strict=True)):
        row = first_row + i
        text = clean_text(raw_text) if isinstance(raw_text, str) else ""
        label = _parse_label(raw_label)
        if not text:
            problems.append(f"row {row}, field 'text': empty text")
        if label is None:
            problems.append(f"row {row}, field 'label': {raw_label!r} is not one of {list(LABELS)}")
        key = text.casefold()
        if text and key in seen:
            problems.append(f"row {row}, field 'text': duplicate of row {seen[key]}")
        elif text:
            seen[key] = row
        texts.append(text)
        labels.append(label)
    if problems:
        raise DataError(path, problems)
    out = df.copy()
    out["text"], out["label"] = texts, labels
    return out.reset_index(drop=True)


def read_reviews(path: Path | str = REVIEWS_CSV) -> pd.DataFrame:
    """Read a CSV with at least ``text`` and ``label`` (0 = negative, 1 = positive) and validate it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(path, [f"not a readable UTF-8 CSV: {err}"]) from None
    return validate(df, path)


# --- splitting ------------------------------------------------------------------------------------


@dataclass
class Splits:
    """Train, validation and test frames; the test split is only touched once, at the very end."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def split(df: pd.DataFrame, *, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = SEED) -> Splits:
    """A stratified, seeded train/validation/test split with no text in two splits.

    Duplicates were rejected by ``validate``, so texts are unique and no review can leak between
    splits. Stratifying keeps the positive share the same in every split.
    """
    from sklearn.model_selection import train_test_split

    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must add up to 1, got {fractions}")
    train_frac, val_frac, test_frac = fractions
    train, rest = train_test_split(df, train_size=train_frac, stratify=df["label"], random_state=seed)
    val, test = train_test_split(rest, test_size=test_frac / (val_frac + test_frac), stratify=rest["label"],
                                 random_state=seed)
    return Splits(*(part.reset_index(drop=True) for part in (train, val, test)))


def subsample(df: pd.DataFrame, n: int | None, *, seed: int = SEED) -> pd.DataFrame:
    """At most ``n`` rows, keeping the label balance (smoke runs train on a slice)."""
    if n is None or n >= len(df):
        return df
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(df, train_size=n, stratify=df["label"], random_state=seed)
    return part.reset_index(drop=True)


def _hub_imdb() -> pd.DataFrame:
    from datasets import load_dataset

    imdb = load_dataset("imdb")
    frames = [imdb[name].to_pandas()[["text", "label"]] for name in ("train", "test")]
    return pd.concat(frames, ignore_index=True).drop_duplicates("text")


#: dataset name in a profile -> loader returning a raw frame with text and label
DATASETS = {
    "kit-reviews": lambda: read_reviews(REVIEWS_CSV),
    "imdb": lambda: validate(_hub_imdb(), "imdb (Hugging Face Hub)"),
}


def load_splits(profile: Profile, path: Path | str | None = None, *, seed: int = SEED) -> Splits:
    """The profile's dataset (or the CSV at ``path``), cleaned and split 80/10/10."""
    if path is not None:
        df = read_reviews(path)
    elif profile.dataset in DATASETS:
        df = DATASETS[profile.dataset]()
    else:
        raise ValueError(f"Unknown dataset {profile.dataset!r}: choose one of {', '.join(DATASETS)}")
    splits = split(df, seed=seed)
    splits.train = subsample(splits.train, profile.max_train_samples, seed=seed)
    splits.validation = subsample(splits.validation, profile.max_eval_samples, seed=seed)
    splits.test = subsample(splits.test, profile.max_eval_samples, seed=seed)
    return splits


# --- tokenizing -----------------------------------------------------------------------------------


def tokenize(df: pd.DataFrame, tokenizer: Any, max_length: int) -> Any:
    """A ``datasets.Dataset`` of token ids, truncated but *not* padded.

    Padding happens per batch (``DataCollatorWithPadding``): a batch of short reviews is padded to
    its longest member instead of ``max_length``, which is where most of the speed-up over the
    original recipe comes from (see benchmarks/train_throughput.py).
    """
    from datasets import Dataset

    ds = Dataset.from_pandas(df[["text", "label"]].rename(columns={"label": "labels"}), preserve_index=False)
    return ds.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
                  batched=True, remove_columns=["text"])
