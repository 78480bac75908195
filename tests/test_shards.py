"""Do shards split a class into disjoint, balanced shares, and does merge refuse what is not one class?"""

import json

import pytest

from finetune_kit.grading import shards

CLASS = [f"student{i:02d}" for i in range(10)]
STAMP = {"kit": "k1", "sources": {"part1_fundamentals": "s1"}, "reference": "r1", "grader": "1",
         "limits": {"cell_timeout": 120}, "profile": "smoke"}


def test_shards_partition_the_class_deterministically_and_evenly():
    parts = [shards.Shard(i, 4).pick(list(reversed(CLASS))) for i in range(1, 5)]
    assert sorted(s for part in parts for s in part) == CLASS  # each student exactly once
    assert [len(p) for p in parts] == [3, 3, 2, 2]
    assert parts[1] == shards.Shard(2, 4).pick(CLASS)  # the download's order does not matter
    assert shards.Shard().pick(CLASS) == CLASS


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "2/0", ""])
def test_a_bad_shard_is_a_clear_error(text):
    with pytest.raises(ValueError, match="write I/N with 1 <= I <= N"):
        shards.Shard.parse(text)


def _manifests(tmp_path, count=3, **changes):
    """``count`` shard folders of CLASS; ``changes``: shard index -> fields to overwrite in its manifest."""
    out = {}
    for index in range(1, count + 1):
        folder = tmp_path / f"shard{index}"
        folder.mkdir()
        shard = shards.Shard(index, count)
        shards.write_manifest(folder, shard, CLASS, shard.pick(CLASS), ["part1_fundamentals"], STAMP, [])
        data = json.loads((folder / shards.MANIFEST).read_text())
        data.update(changes.get(f"s{index}", {}))
        out[folder] = data
    return out


def test_shards_of_one_class_pass(tmp_path):
    manifests = _manifests(tmp_path)
    assert shards.check(manifests) == []
    assert {f: shards.read_manifest(f) for f in manifests} == manifests


def test_a_shard_graded_with_another_course_version_is_refused_naming_it(tmp_path):
    manifests = _manifests(tmp_path, s2={"stamp": {**STAMP, "kit": "k2"}},
                           s3={"stamp": {**STAMP, "sources": {"part1_fundamentals": "s2"}}})
    problems = "\n".join(shards.check(manifests))
    assert f"{tmp_path / 'shard2'}: graded with another version of the kit" in problems and "stamp.kit" in problems
    assert f"{tmp_path / 'shard3'}: graded with another version of the course" in problems
    assert "stamp.sources" in problems


def test_missing_twice_given_and_overlapping_shards_are_refused(tmp_path):
    manifests = _manifests(tmp_path)
    third = tmp_path / "shard3"
    del manifests[third]
    assert shards.check(manifests) == ["shard(s) 3/3 missing: grade them with `grade SUBMISSIONS --shard I/3 "
                                       "--output DIR` and pass every shard's folder"]
    manifests[tmp_path / "again"] = {**manifests[tmp_path / "shard1"]}
    manifests[third] = {**manifests[tmp_path / "shard2"], "shard": [3, 3]}  # claims 3/3, holds 2/3's students
    problems = "\n".join(shards.check(manifests))
    assert f"shard 1/3 given twice: {tmp_path / 'shard1'}, {tmp_path / 'again'}" in problems
    assert f"student student00 graded by two shards: {tmp_path / 'shard1'} and {tmp_path / 'again'}" in problems
    assert f"student student01 graded by two shards: {tmp_path / 'shard2'} and {third}" in problems


def test_shards_of_another_download_or_split_are_refused(tmp_path):
    manifests = _manifests(tmp_path, s2={"class": CLASS + ["late"]}, s3={"shard": [3, 4]})
    problems = "\n".join(shards.check(manifests))
    assert "shard2: graded another download (its students differ)" in problems
    assert "the shards split the class differently" in problems and "shard3 is 3/4" in problems


def test_an_unfinished_shard_is_refused_before_anything_is_written(tmp_path):
    manifests = _manifests(tmp_path, count=2)
    (tmp_path / "shard2" / shards.MANIFEST).unlink()  # still running, or stopped
    with pytest.raises(ValueError, match="shard2: no grading.json, so not a finished `grade --shard` output"):
        shards.merge(list(manifests), tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
    with pytest.raises(ValueError, match="is one of the shards"):
        shards.merge(list(manifests), tmp_path / "shard1")


def test_merge_writes_only_into_a_new_folder_or_over_an_earlier_merge(tmp_path):
    manifests = _manifests(tmp_path, count=2)
    taken = tmp_path / "graded"
    (taken / "results").mkdir(parents=True)  # another class's grading, say
    with pytest.raises(ValueError, match="not empty and not an earlier `grade-merge` output"):
        shards._make_room(taken)
    assert (taken / "results").is_dir()
    earlier = tmp_path / "merged"
    earlier.mkdir()
    shards.write_manifest(earlier, shards.Shard(), CLASS, CLASS, ["part1_fundamentals"], STAMP, [],
                          merged_from=[str(f) for f in manifests])
    (earlier / "stale.txt").write_text("from the earlier merge")
    shards._make_room(earlier)
    assert earlier.is_dir() and not any(earlier.iterdir())
