"""Are requests logged in Azure's data-collector shape, read back, and is drift measured sensibly?"""

import json

import numpy as np
import pandas as pd
import pytest

from finetune_kit.deploy import monitoring
from finetune_kit.deploy.serve import Prediction


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = rng.normal(50, 10, 5000)
    assert monitoring.psi(reference, rng.normal(50, 10, 5000)) < 0.02
    shifted = monitoring.psi(reference, rng.normal(70, 10, 5000))
    assert shifted > 0.25 and monitoring.psi_verdict(shifted) == "major shift"
    assert monitoring.psi_verdict(0.05) == "stable" and monitoring.psi_verdict(0.15) == "moderate shift"


def test_psi_handles_discrete_values_and_rejects_empty_input():
    assert monitoring.psi([3, 3, 3, 4], [3, 3, 4, 4]) > 0
    with pytest.raises(ValueError):
        monitoring.psi([], [1.0])


def test_collector_writes_azure_shaped_jsonl_and_reads_it_back(tmp_path):
    collector = monitoring.DataCollector(tmp_path, "model-7")
    collector.collect(["good phone", "bad battery life"], [Prediction("positive", 0.9), Prediction("negative", 0.8)],
                      request_id="req-1")
    collector.collect(["fine"], [Prediction("positive", 0.6)])
    inputs = list((tmp_path / "model_inputs").rglob("*.jsonl"))
    assert len(inputs) == 1 and len(inputs[0].relative_to(tmp_path / "model_inputs").parts) == 5  # yyyy/MM/dd/HH/file
    first = json.loads(inputs[0].read_text().splitlines()[0])
    assert first["type"] == "azureml.inference.model_inputs" and first["specversion"] == "1.0"
    assert first["correlationid"] == "req-1" and first["modelversion"] == "model-7"
    assert first["data"] == [{"text": "good phone", "n_words": 2}, {"text": "bad battery life", "n_words": 3}]
    rows = monitoring.read_collected(tmp_path)
    assert len(rows) == 3
    by_text = rows.set_index("text")
    assert by_text.loc["bad battery life", "label"] == "negative"
    assert by_text.loc["bad battery life", "p_positive"] == pytest.approx(0.2)
    assert by_text.loc["good phone", "p_positive"] == pytest.approx(0.9)


def test_read_collected_names_a_broken_line(tmp_path):
    folder = tmp_path / "model_inputs" / "2026"
    folder.mkdir(parents=True)
    (folder / "x.jsonl").write_text('{"data": []}\n{broken\n')
    with pytest.raises(ValueError, match=r"x\.jsonl, line 2"):
        monitoring.read_collected(tmp_path)
    with pytest.raises(FileNotFoundError, match="no collected requests"):
        monitoring.read_collected(tmp_path / "nothing-here")


class FakeAzureCollector:
    def __init__(self):
        self.frames, self.contexts = [], []

    def collect(self, frame, context=None):
        self.frames.append(frame)
        self.contexts.append(context)
        return "ctx"


def test_azure_collector_gets_dataframes_with_correlation(tmp_path):
    inputs, outputs = FakeAzureCollector(), FakeAzureCollector()
    collector = monitoring.DataCollector(None, "v1", azure=(inputs, outputs))
    collector.collect(["nice"], [Prediction("positive", 0.7)])
    assert list(inputs.frames[0].columns) == ["text", "n_words"]
    assert list(outputs.frames[0].columns) == ["label", "score", "p_positive"]
    assert outputs.contexts == ["ctx"], "outputs are correlated with the inputs' context"
    assert "Azure" in collector.destination and not list(tmp_path.iterdir())


def test_outside_azure_the_real_sdk_is_not_enabled_so_files_are_used(monkeypatch, tmp_path):
    monkeypatch.delenv("AZUREML_MDC_ENABLED", raising=False)
    monkeypatch.delenv("AZUREML_MDC_CONFIG_PATH", raising=False)
    monkeypatch.setenv(monitoring.ENV_COLLECT_DIR, str(tmp_path))
    collector = monitoring.DataCollector.from_environment("v1")
    assert collector.azure is None and collector.local_dir == tmp_path


def test_drift_report_flags_a_length_shift_only():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"n_words": rng.integers(5, 60, 400), "p_positive": rng.uniform(0, 1, 400)})
    same = pd.DataFrame({"n_words": rng.integers(5, 60, 400), "p_positive": rng.uniform(0, 1, 400)})
    longer = same.assign(n_words=same["n_words"] * 4)
    calm = {r.feature: r for r in monitoring.drift_report(reference, same)}
    assert calm["n_words"].verdict == "stable" and calm["p_positive"].verdict == "stable"
    drifted = {r.feature: r for r in monitoring.drift_report(reference, longer)}
    assert drifted["n_words"].verdict == "major shift" and drifted["n_words"].ks_pvalue < 1e-6
    assert drifted["p_positive"].verdict == "stable"
    text = monitoring.format_report(list(drifted.values()))
    assert "n_words" in text and "major shift" in text
    fig = monitoring.plot_drift(reference, longer, list(drifted.values()))
    assert len(fig.axes) == 2 and "PSI" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="no column 'n_words'"):
        monitoring.drift_report(reference, pd.DataFrame({"p_positive": [0.5]}))


def test_the_baseline_is_computed_once_per_classifier_and_reference_texts():
    class Counting:
        labels = {0: "negative", 1: "positive"}
        calls = 0

        def predict_proba(self, texts):
            Counting.calls += 1
            return np.array([[0.2, 0.8]] * len(texts))

    model = Counting()
    first = monitoring.reference_window(model, ["good", "bad one"])
    first.loc[0, "p_positive"] = 0.0  # a caller changing its copy changes nothing kept
    again = monitoring.reference_window(model, ["good", "bad one"])
    assert Counting.calls == 1 and list(again["p_positive"]) == [0.8, 0.8] and list(again["n_words"]) == [1, 2]
    monitoring.reference_window(model, ["other texts"])
    monitoring.reference_window(Counting(), ["good", "bad one"])  # another model: its own baseline
    assert Counting.calls == 3
