"""Data for the sentiment case study: read, clean, split for the kit's own commands, save and load splits.

The same functions serve the kit's own reviews (offline) and IMDB from the Hub (azure profile), so
what students learn on a laptop is what runs on the cluster. Finding a frame's problems, splitting it
and tokenizing it are Part 2's exercises: the student writes them in the notebook (the instructor's
answers are in ``autograde/reference/sentiment.py``), so this module keeps its own versions private.
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

from finetune_kit.course.config import DATA_DIR, Profile

LABELS = (0, 1)
REQUIRED_COLUMNS = ("text", "label")
GROUP = "group"  # optional column: rows that share sentences, kept in one split
REVIEWS_CSV = DATA_DIR / "reviews" / "reviews.csv"
SEED = 42


class DataError(ValueError):
    """A dataset problem a person can fix: says which file, row and field, and lists every problem."""

    def __init__(self, path: Path | str, problems: list[str], hint: str = ""):
        self.path, self.problems = str(path), problems
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{self.path}: {len(problems)} problem(s)\n  {shown}{more}" + (f"\n{hint}" if hint else ""))


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

DUPLICATES_HINT = ("Training needs each text once (a copy in another split would leak the test set): remove "
                   "duplicates first, e.g. with pandas' drop_duplicates('text'). To score a file that has them, "
                   "`python -m finetune_kit evaluate` counts each text once and says which rows it left out.")


def parse_label(raw: Any) -> int | None:
    """0 or 1 from what a file holds (``1``, ``"0"``, ``1.0``); None for anything else."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return int(value) if value.is_integer() and int(value) in LABELS else None


def _validate(df: pd.DataFrame, path: Path | str = "<data>", *, first_row: int = 2) -> pd.DataFrame:
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
        label = parse_label(raw_label)
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
        hint = DUPLICATES_HINT if any("duplicate of row" in p for p in problems) else ""
        raise DataError(path, problems, hint)
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
    return _validate(df, path)


# --- splitting ------------------------------------------------------------------------------------


@dataclass
class Splits:
    """Train, validation and test frames; the test split is only touched once, at the very end."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}


def _split(df: pd.DataFrame, *, seed: int = SEED) -> Splits:
    """Seeded, stratified ~80/10/10 of validated (duplicate-free) rows that keeps each ``group`` whole.

    The kit's reviews are composed from shared sentences: a split by review would test on sentences
    the model trained on, so rows of one ``group`` (see the datasheet) never straddle two splits. A
    frame without the column (IMDB) splits by review. Same folds as Part 2's ``split_reviews``.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    groups = df[GROUP] if GROUP in df.columns else np.arange(len(df))
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    held_out = [rows for _, rows in folds.split(df, df["label"], groups)]
    parts = (df.iloc[np.sort(np.concatenate(held_out[2:]))], df.iloc[held_out[1]], df.iloc[held_out[0]])
    return Splits(*(part.reset_index(drop=True) for part in parts))


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
    "imdb": lambda: _validate(_hub_imdb(), "imdb (Hugging Face Hub)"),
}


def load_splits(profile: Profile, path: Path | str | None = None, *, seed: int = SEED) -> Splits:
    """The profile's dataset (or the CSV at ``path``), cleaned and split 80/10/10."""
    if path is not None:
        df = read_reviews(path)
    elif profile.dataset in DATASETS:
        df = DATASETS[profile.dataset]()
    else:
        raise ValueError(f"Unknown dataset {profile.dataset!r}: choose one of {', '.join(DATASETS)}")
    splits = _split(df, seed=seed)
    splits.train = subsample(splits.train, profile.max_train_samples, seed=seed)
    splits.validation = subsample(splits.validation, profile.max_eval_samples, seed=seed)
    splits.test = subsample(splits.test, profile.max_eval_samples, seed=seed)
    return splits


# --- saving the splits beside a model ---------------------------------------------------------------

SPLIT_NAMES = ("train", "validation", "test")


def save_splits(splits: Splits, folder: Path | str) -> Path:
    """Write ``folder/splits/{train,validation,test}.csv``: a model folder carries the data it was trained on."""
    target = Path(folder) / "splits"
    target.mkdir(parents=True, exist_ok=True)
    for name in SPLIT_NAMES:
        getattr(splits, name).to_csv(target / f"{name}.csv", index=False, encoding="utf-8")
    return target


def load_saved_splits(folder: Path | str) -> Splits:
    """The splits ``save_splits`` wrote into ``folder`` (a model folder), text as written, labels as ints."""
    source = Path(folder) / "splits"
    missing = [name for name in SPLIT_NAMES if not (source / f"{name}.csv").is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: no saved {', '.join(missing)} split(s); this folder was not saved "
                                "with data.save_splits (Part 2's last step saves the model and its splits)")
    frames = []
    for name in SPLIT_NAMES:
        df = pd.read_csv(source / f"{name}.csv", dtype={"text": str}, keep_default_na=False, encoding="utf-8")
        df["label"] = df["label"].astype(int)
        frames.append(df)
    return Splits(*frames)
