"""Does the development draw for long-review readings leave out every review that evaluates the model?"""

import csv
import importlib.util
import json

import pytest
from test_real_sentences import _fake_imdb_pack, bench

from conftest import ROOT

spec = importlib.util.spec_from_file_location("benchmarks_long_review_readings",
                                              ROOT / "benchmarks" / "long_review_readings.py")
readings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readings)


def _package(n: int) -> list[dict]:
    return [{"t": f"Review number {i}.<br />It was {'good' if i % 2 else 'bad'}.", "s": i % 2} for i in range(n)]


def _write_csv(path, texts, columns=("text", "label")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([text, 1] for text in texts)
    return path


def test_the_draw_leaves_out_the_benchmarks_reviews_and_the_excluded_files(tmp_path, monkeypatch):
    package = _package(bench.REVIEWS_SAMPLE + 300)
    monkeypatch.setattr(bench.subprocess, "run", _fake_imdb_pack(package))
    drawn_file = bench.fetch_imdb_reviews(tmp_path / "bench")
    evaluated = {json.loads(line)["text"] for line in drawn_file.read_text().splitlines() if line}
    rest = sorted({f"Review number {i}. It was {'good' if i % 2 else 'bad'}." for i in range(len(package))} - evaluated)
    # the team's file spells a review its own way: other case, other spaces, the HTML line break kept
    held = [rest[0].upper(), rest[1].replace(" ", "   ").replace(". It", ".<br />It")]
    team = _write_csv(tmp_path / "team.csv", held)
    drawn = readings.development_reviews(tmp_path / "cache", [team], size=250)
    texts = [row["text"] for row in drawn]
    assert len(set(texts)) == 250 and not set(texts) & evaluated
    assert not {rest[0], rest[1]} & set(texts)
    assert set(texts) <= set(rest[2:])  # so 250 of the 298 left: the draw is made from what remains
    again = readings.development_reviews(tmp_path / "cache", [team], size=250)
    assert again == drawn  # cached, and the same reviews for the same exclusions


def test_an_excluded_file_without_a_text_column_is_named(tmp_path):
    bad = _write_csv(tmp_path / "bad.csv", ["x"], columns=("review", "label"))
    with pytest.raises(ValueError, match=r"bad.csv: --exclude needs a CSV with a text column, not \['review', "):
        readings.development_reviews(tmp_path / "cache", [bad], size=5)
