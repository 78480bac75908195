"""Does the inference benchmark compare the three engines fairly and report honestly?"""

import json

import pytest

from conftest import ROOT
from finetune_kit.course import config
from finetune_kit.deploy import latency
from finetune_kit.deploy.latency import ORT_FP32, ORT_INT8, PYTORCH, BenchReport, EngineResult

FIXTURE = ROOT / "tests" / "fixtures" / "deploy_reviews.csv"


def _report(int8_speedup: float, int8_accuracy: float, load: float = 0.1) -> BenchReport:
    engines = [EngineResult(PYTORCH, 10.0, 12.0, 100.0, 90.9, 0.90, 1.0),
               EngineResult(ORT_FP32, 4.0, 5.0, 180.0, 90.9, 0.90, 1.0, 2.5, 1.8),
               EngineResult(ORT_INT8, 10 / int8_speedup, 2.0, 400.0, 22.9, int8_accuracy, 0.99, int8_speedup, 4.0,
                            {"short (<=16 tokens)": 9.0, "long (>64)": 3.1})]
    settings = {"batch_size": 32, "iterations": 400, "threads": 1, "data": "test split",
                "tokens": {"median": 37, "mean": 60, "max": 128}, "machine": {"load_average": [load, load],
                                                                               "cpu_count": 2}}
    return BenchReport(engines, settings)


def test_target_met_and_missed_are_reported_with_reasons():
    met = _report(6.5, 0.897).target
    assert met["met"] and met["explanation"] == "Target met."
    slow = _report(4.2, 0.90, load=3.0).target
    assert not slow["met"] and not slow["speedup_met"] and slow["accuracy_met"]
    assert "4.2x" in slow["explanation"] and "9.0x on short" in slow["explanation"] and "busy" in slow["explanation"]
    lossy = _report(7.0, 0.88).target
    assert not lossy["met"] and not lossy["accuracy_met"] and lossy["accuracy_drop_points"] == 2.0


def test_table_writes_speedups_like_6_5x():
    table = _report(6.5, 0.9).table()
    assert "| ONNX Runtime int8 |" in table and "6.5x" in table and "2.5x" in table
    assert latency.fmt_speedup(6.549) == "6.5x"


@pytest.mark.slow
def test_bench_cli_measures_three_engines_and_writes_table_json_chart(fresh_model_dir, onnx_export, tmp_path, capsys):
    from finetune_kit.cli import main

    code = main(["bench-inference", "--model", str(fresh_model_dir), "--onnx", str(onnx_export.output_dir),
                 "--data", str(FIXTURE), "--iterations", "8", "--max-texts", "24", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "| PyTorch fp32 |" in out and "Target (int8" in out
    for name in ("bench.json", "bench.md", "bench.png"):
        assert (tmp_path / name).stat().st_size > 0
    result = json.loads((tmp_path / "bench.json").read_text())
    engines = {e["engine"]: e for e in result["engines"]}
    assert list(engines) == [PYTORCH, ORT_FP32, ORT_INT8]
    base = engines[PYTORCH]
    assert base["speedup"] == 1.0 and base["agreement"] == 1.0
    for e in engines.values():
        assert 0 < e["p50_ms"] <= e["p95_ms"] and e["throughput"] > 0 and 0 <= e["accuracy"] <= 1
        assert e["speedup"] == pytest.approx(base["p50_ms"] / e["p50_ms"], rel=0.01)
        assert e["speedup_text"].endswith("x")
    assert engines[ORT_FP32]["agreement"] == 1.0
    assert engines[ORT_INT8]["size_mb"] < 0.7 * engines[ORT_FP32]["size_mb"]
    settings = result["settings"]
    assert settings["iterations"] == 8 and settings["threads"] == 1 and settings["n_texts"] == 24
    assert set(result["target"]) >= {"met", "speedup", "accuracy_drop_points", "explanation"}


@pytest.mark.slow
def test_max_texts_times_and_scores_only_the_first_texts(fresh_model_dir, onnx_export):
    texts = ["great", "awful, broke in a day", "fine I guess", "love it", "never again"]
    report = latency.bench_inference(fresh_model_dir, onnx_export.output_dir, texts, [1, 0, 1, 1, 0],
                                       iterations=4, warmup=1, throughput_passes=1, max_texts=2, data="five reviews")
    assert report.settings["n_texts"] == 2 and report.settings["data"] == "five reviews, the first 2"
    assert {e.accuracy for e in report.engines} <= {0.0, 0.5, 1.0}  # scored on two texts, not five


def test_each_profiles_settings_are_arguments_of_bench_inference():
    import inspect

    parameters = inspect.signature(latency.bench_inference).parameters
    for profile in config.PROFILES.values():
        assert set(profile.latency.summary()) <= set(parameters), profile.name
    assert config.PROFILES["smoke"].latency.iterations < config.PROFILES["offline"].latency.iterations
