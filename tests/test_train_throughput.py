"""Does the GPU throughput benchmark time the three settings it names, fed the way it says?"""

import importlib.util
import sys

import numpy as np
import pytest

from conftest import ROOT
from finetune_kit.course import hardware


def _load_benchmark():
    name = "benchmarks_train_throughput"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "train_throughput.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


bench_module = _load_benchmark()


@pytest.fixture(scope="module")
def tiny_report():
    """The three settings with the tiny shape on this machine (a CPU in CI): 8 steps of 2 reviews each.

    8 steps make 16 reviews: enough for the Trainer's length grouping to sort 2 batches at a time. Three
    Trainer runs take 17-31 s on a busy 2-core machine, so the tests that read them are marked slow.
    """
    if bench_module._device() == "cuda":
        pytest.skip("this checks the code path on a CPU; on a GPU run the benchmark itself")
    args = bench_module.GpuBenchArgs(steps=8, warmup_steps=2, batch_size=2, model_shape="tiny")
    return bench_module.compare_settings(args, log=lambda line: None)


@pytest.mark.slow
def test_three_settings_run_in_order_with_positive_speeds(tiny_report):
    assert list(tiny_report.settings) == ["kit", "seed_fp32", "seed_mixed"]
    for result in tiny_report.settings.values():
        assert result.samples_per_second > 0 and result.warmup_samples_per_second > 0
        assert result.whole_run_samples_per_second > 0
        assert len(result.batch_lengths) == 8 and all(len(batch) == 2 for batch in result.batch_real_lengths)
    # CPU: the kit takes what the machine calls for (bf16 where the CPU has it natively), the seed fp32 then bf16
    kit_precision = hardware.detect().precision
    assert [r.precision for r in tiny_report.settings.values()] == [kit_precision, "fp32", "bf16"]
    assert tiny_report.ratio("seed_fp32") == 1.0


@pytest.mark.slow
def test_seed_recipe_pads_every_review_to_max_length(tiny_report):
    for key in ("seed_fp32", "seed_mixed"):
        result = tiny_report.settings[key]
        assert result.batch_lengths == [512] * 8
        assert result.sampling == "random"


@pytest.mark.slow
def test_kit_pads_each_batch_to_its_longest_review_and_groups_by_length(tiny_report):
    kit, seed = tiny_report.settings["kit"], tiny_report.settings["seed_fp32"]
    assert kit.sampling == "group_by_length"
    assert kit.pad_to_multiple_of is None  # a CPU: each batch to its own longest review
    assert kit.batch_lengths == [max(batch) for batch in kit.batch_real_lengths]
    # Grouped batches hold reviews of similar length: less spread and far less padding than random batches.
    assert kit.mean_length_spread < seed.mean_length_spread
    assert kit.padding_share < seed.padding_share / 2


@pytest.mark.slow
def test_report_table_and_json_name_every_setting(tiny_report):
    table = tiny_report.table()
    assert "seed recipe fp32" in table and "seed recipe bf16" in table and "1.00x" in table
    figures = tiny_report.to_json()
    assert figures["settings_order"] == ["kit", "seed_fp32", "seed_mixed"]
    assert "batch_real_lengths" not in figures["settings"]["kit"]
    assert figures["target"]["applies"] is False  # a CPU run says nothing about the H200 target


def test_synthetic_reviews_have_imdb_like_token_lengths():
    from finetune_kit.course.config import PROFILES
    from finetune_kit.sentiment import models

    lengths = bench_module.imdb_like_lengths(50_000, np.random.default_rng(0))
    assert 220 <= np.median(lengths) <= 240
    assert 0.12 <= (lengths > 512).mean() <= 0.16
    tokenizer = models.load_tokenizer(PROFILES["offline"])
    reviews = bench_module.synthetic_reviews(tokenizer, 20, seed=1)
    tokenized = [len(ids) for ids in tokenizer(list(reviews["text"]))["input_ids"]]
    assert tokenized == [len(text.split()) + 2 for text in reviews["text"]]  # one token a word, plus [CLS] [SEP]


def test_cuda_without_a_gpu_exits_2_with_one_line(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench_module.main(["--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs a CUDA GPU" in err


def test_cuda_options_are_refused_in_cpu_mode():
    with pytest.raises(SystemExit) as exit_info:
        bench_module.main(["--steps", "5"])
    assert exit_info.value.code == 2


def test_bad_warmup_is_a_user_error():
    with pytest.raises(ValueError, match="--warmup-steps"):
        bench_module.GpuBenchArgs(steps=10, warmup_steps=10)
