"""Labelled files as people really have them, for evaluation: CSV, TSV or JSON lines, any column names,
labels as words or star ratings, duplicates, a file saved in another encoding.

Training data keeps ``data.read_reviews``' strict policy (every text once: a duplicate across splits
leaks the test set). An evaluation file only has to be scored honestly: a duplicate is scored once and
reported (``keep_duplicates`` scores every copy), labels are mapped to 0/1 by a ``LabelRule`` the user
states, and everything the reader refuses names the file, the row and the field, all problems at once.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from finetune_kit.sentiment.data import LABELS, DataError, clean_text, parse_label

#: file suffix -> how its rows are read
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SHOWN = 20  # rows listed per kind in a report


@dataclass(frozen=True)
class LabelRule:
    """How a file's labels become 0 (negative) and 1 (positive).

    By default labels must be 0 or 1. ``positive``/``negative``: the raw values of each side (compared
    without case; with ``positive`` alone, every other value is negative). ``positive_min``: a number (a
    star rating) at or above it is positive, below it negative; with ``negative_max`` too, only ratings at
    or below it are negative and those in between are left out (neutral), as the report says.
    """

    positive: frozenset[str] = frozenset()
    negative: frozenset[str] = frozenset()
    positive_min: float | None = None
    negative_max: float | None = None

    def __post_init__(self) -> None:
        if (self.positive or self.negative) and self.positive_min is not None:
            raise ValueError("give labels as values (--positive/--negative) or as ratings (--positive-min), "
                             "not both")
        if self.negative and not self.positive:
            raise ValueError("--negative needs --positive: say which values are positive")
        if self.positive & self.negative:
            raise ValueError(f"values both positive and negative: {sorted(self.positive & self.negative)}")
        if self.negative_max is not None and (self.positive_min is None or self.negative_max >= self.positive_min):
            raise ValueError("--negative-max needs --positive-min above it")

    def describe(self) -> str:
        if self.positive_min is not None:
            low = f"<= {self.negative_max:g}" if self.negative_max is not None else f"< {self.positive_min:g}"
            between = ("; between them left out" if self.negative_max is not None else "")
            return f"ratings >= {self.positive_min:g} are positive, {low} negative{between}"
        if self.positive:
            negative = sorted(self.negative) if self.negative else "every other value"
            return f"positive: {sorted(self.positive)}, negative: {negative}"
        return f"labels must be one of {list(LABELS)}"

    def label(self, raw: str) -> int | None | str:
        """0 or 1; ``"neutral"`` for a rating the rule leaves out; None if the value means nothing here."""
        value = raw.strip()
        if self.positive_min is not None:
            try:
                number = float(value)
            except ValueError:
                return None
            if number >= self.positive_min:
                return 1
            if self.negative_max is None or number <= self.negative_max:
                return 0
            return "neutral"
        if self.positive:
            key = value.casefold()
            if key in self.positive:
                return 1
            if not self.negative:
                return 0 if key else None
            return 0 if key in self.negative else None
        return parse_label(value)


def parse_values(text: str | None) -> frozenset[str]:
    """``"pos,positive,1"`` -> the values, without case."""
    return frozenset(v.strip().casefold() for v in (text or "").split(",") if v.strip())


@dataclass
class Labelled:
    """The rows to score (``text``, ``label``), and what reading them did."""

    frame: pd.DataFrame
    report: dict = field(default_factory=dict)


def _decode(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        name = "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8") else encoding
        raise DataError(path, [
            f"line {line}: not {name} text (byte 0x{raw[err.start]:02x} at offset {err.start}); re-save the "
            "file as UTF-8, or pass --encoding latin-1 (cp1252 for a file saved by Excel on Windows)"]) from None
    except LookupError:
        raise DataError(path, [f"unknown encoding {encoding!r} (try utf-8, latin-1 or cp1252)"]) from None


def _rows(path: Path, text: str) -> tuple[pd.DataFrame, int]:
    """The file's rows as strings, and the number of its first row (a CSV's header is row 1)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(path, [f"unknown file type {path.suffix!r}: use one of {sorted(FORMATS)}"])
    if kind == "jsonl":
        records, problems = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(f"row {number}: not a JSON object ({err.msg})")
                continue
            if not isinstance(record, dict):
                problems.append(f"row {number}: a JSON {type(record).__name__}, not an object")
                continue
            records.append({k: "" if v is None else str(v) for k, v in record.items()} | {"__row__": number})
        if problems:
            raise DataError(path, problems)
        frame = pd.DataFrame(records)
        return frame, 1
    try:
        frame = pd.read_csv(io.StringIO(text), sep="," if kind == "csv" else "\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(path, [f"not a readable {kind.upper()} file: {err}"]) from None
    frame["__row__"] = range(2, len(frame) + 2)
    return frame, 2


def read_labelled(path: Path | str, *, text_column: str = "text", label_column: str = "label",
                  rule: LabelRule = LabelRule(), keep_duplicates: bool = False,
                  encoding: str = "utf-8-sig") -> Labelled:
    """Read an evaluation file: validated, labels mapped by ``rule``, duplicates scored once (reported)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    frame, _ = _rows(path, _decode(path, encoding))
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != "__row__"]
        raise DataError(path, [f"no column {c!r} (found {found}); name yours with --text-column / --label-column"
                               for c in missing])
    problems, texts, labels, rows = [], [], [], []
    first: dict[str, tuple[int, int]] = {}
    dropped, conflicting, neutral, raw_labels = [], [], [], Counter()
    for row, raw_text, raw_label in zip(frame["__row__"], frame[text_column], frame[label_column], strict=True):
        text = clean_text(raw_text)
        label = rule.label(raw_label)
        if not text:
            problems.append(f"row {row}, field {text_column!r}: empty text")
        if label is None:
            problems.append(f"row {row}, field {label_column!r}: {raw_label!r} is not a label here "
                            f"({rule.describe()})")
        if not text or label is None:
            continue
        if label == "neutral":
            neutral.append(row)
            continue
        key = text.casefold()
        if key in first and not keep_duplicates:
            seen_row, seen_label = first[key]
            dropped.append(f"row {row} = row {seen_row}")
            if seen_label != label:
                conflicting.append(f"row {row} ({label}) = row {seen_row} ({seen_label})")
            continue
        first.setdefault(key, (row, label))
        raw_labels[(raw_label.strip(), label)] += 1  # of the rows scored
        texts.append(text)
        labels.append(label)
        rows.append(row)
    if problems:
        raise DataError(path, problems)
    if not texts:
        raise DataError(path, ["no row left to score"])
    report = {
        "file": str(path), "rows_read": int(len(frame)), "rows_scored": len(texts),
        "labels": rule.describe(),
        "label_values": {f"{raw!r} -> {mapped}": n for (raw, mapped), n in sorted(raw_labels.items())},
        "duplicates": {"scored_once": not keep_duplicates, "dropped": len(dropped), "rows": dropped[:SHOWN],
                       "conflicting_labels": len(conflicting), "conflicts": conflicting[:SHOWN]},
    }
    if neutral:
        report["left_out_neutral"] = {"count": len(neutral), "rows": neutral[:SHOWN]}
    return Labelled(pd.DataFrame({"text": texts, "label": labels, "row": rows}), report)
