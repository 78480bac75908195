"""Do the evaluation pictures draw what they claim, and does `evaluate --plots` write them as PNG?"""

import json
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from finetune_kit import cli
from finetune_kit.course import config, plots
from finetune_kit.sentiment import analysis, metrics

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 150)
    scores = np.where(y == 1, rng.beta(5, 1, 150), rng.beta(1, 5, 150))
    return y, scores


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig):
    return [t.get_text().strip() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("name", list(plots.EVALUATION_PLOTS))
def test_each_picture_draws_on_its_own_or_into_a_panel(name, scored):
    y, scores = scored
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach stderr in a notebook
        fig = plots.EVALUATION_PLOTS[name](y, scores, 0.5, None)
    assert len(fig.axes) >= 1 and fig.axes[0].get_title()
    panel_fig, ax = plt.subplots()
    assert plots.EVALUATION_PLOTS[name](y, scores, 0.5, ax) is panel_fig and ax.has_data()


def test_confusion_matrix_shows_the_counts(scored):
    y, scores = scored
    counts = metrics._confusion_counts(y, (scores >= 0.3).astype(int))
    texts = _texts(plots.confusion_matrix(y, scores, threshold=0.3))
    for key in ("tn", "fp", "fn", "tp"):
        assert str(counts[key]) in texts
    assert "threshold 0.3" in plots.confusion_matrix(y, scores, threshold=0.3).axes[0].get_title()


def test_curves_report_the_same_areas_as_the_metrics(scored):
    y, scores = scored
    reference = metrics.sklearn_metrics(y, scores)
    pr_labels = [t.get_text() for t in plots.precision_recall_curve(y, scores).axes[0].get_legend().get_texts()]
    roc_labels = [t.get_text() for t in plots.roc_curve(y, scores).axes[0].get_legend().get_texts()]
    assert f"model (AP {reference['average_precision']:.3f})" in pr_labels
    assert f"model (AUC {reference['roc_auc']:.3f})" in roc_labels


def test_reliability_diagram_and_threshold_curve_name_their_numbers(scored):
    y, scores = scored
    title = plots.reliability_diagram(y, scores).axes[0].get_title()
    assert f"ECE {metrics.expected_calibration_error(y, scores):.3f}" in title
    legend = [t.get_text() for t in plots.threshold_curve(y, scores, chosen=0.4).axes[0].get_legend().get_texts()]
    assert f"best F1 {metrics.threshold_sweep(y, scores)['f1'].max():.3f} at {metrics.best_f1_threshold(y, scores):g}" \
        in legend and "chosen 0.4" in legend


def test_curves_need_both_classes():
    with pytest.raises(ValueError, match="both labels"):
        plots.roc_curve([1, 1, 1], [0.2, 0.6, 0.9])
    with pytest.raises(ValueError, match="both labels"):
        plots.precision_recall_curve([0, 0], [0.2, 0.6])


def test_dashboard_has_six_panels(scored):
    fig = plots.evaluation_dashboard(*scored, title="test")
    assert len(fig.axes) == 6 and fig._suptitle.get_text() == "test"


def test_save_writes_every_picture_as_png(scored, tmp_path):
    paths = plots.save_evaluation_plots(*scored, tmp_path / "png")
    assert sorted(p.name for p in paths) == sorted([f"{n}.png" for n in plots.EVALUATION_PLOTS] + ["dashboard.png"])
    for path in paths:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    assert plt.get_fignums() == []  # the CLI closes what it saved


def test_error_analysis_and_cross_validation_pictures(scored):
    y, scores = scored
    df = pd.DataFrame({"text": [f"review number {i}" + " word" * (i % 70) for i in range(len(y))], "label": y,
                       "domain": np.where(np.arange(len(y)) % 2, "films", "hotels")})
    report = analysis.slice_report(analysis.predictions_frame(df, scores))
    fig = plots.slice_accuracy(report, overall=0.9)
    assert len(fig.axes) == report["slice"].nunique()
    probe = analysis.bias_probe(lambda texts: np.full(len(texts), 0.7))
    fig = plots.bias_probe(analysis.bias_summary(probe))
    assert "0/12 flipped" in _texts(fig)
    folds = pd.DataFrame({"fold": [1, 2, 3], "accuracy": [0.9, 0.92, 0.94], "f1": [0.88, 0.9, 0.95],
                          "roc_auc": [0.97, 0.98, 0.99]})
    fig = plots.cross_validation(folds, single={"accuracy": 0.93, "f1": 0.91, "roc_auc": 0.985})
    assert "0.920 ± 0.020" in _texts(fig)


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A one-layer BERT with the packaged tokenizer: loads like a trained model, in a second."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    out = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(config.model_source(config.PROFILES["smoke"]))
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16,
                                                     num_hidden_layers=1, num_attention_heads=2,
                                                     intermediate_size=32, num_labels=2))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_evaluate_command_writes_metrics_and_pictures(tiny_model, tmp_path, capsys):
    out_json, png_dir = tmp_path / "eval.json", tmp_path / "png"
    code = cli.main(["evaluate", "--model", str(tiny_model), "--data", str(SMALL), "--output", str(out_json),
                     "--plots", str(png_dir), "--max-length", "32"])
    assert code == 0
    result = json.loads(out_json.read_text())
    assert result["n"] == 48 and set(metrics.METRICS) <= set(result)
    assert all(0 <= result[m] <= 1 for m in metrics.METRICS)
    low, high = result["accuracy_95"]  # Wilson: about +-0.14 around the accuracy for 48 reviews
    assert low < result["accuracy"] < high and 0.2 < high - low < 0.3, result
    assert result["metrics_from"]["f1"].startswith("kit:")  # tests run offline
    assert sorted(p.rsplit("/", 1)[-1] for p in result["plots"]) == sorted(p.name for p in png_dir.iterdir())
    assert (png_dir / "reliability_diagram.png").read_bytes()[:8] == PNG


def test_evaluate_command_refuses_plots_for_one_class(tiny_model, tmp_path, capsys):
    one_class = tmp_path / "positive.csv"
    one_class.write_text("text,label\nlovely,1\ngreat value,1\n")
    code = cli.main(["evaluate", "--model", str(tiny_model), "--data", str(one_class), "--plots", str(tmp_path)])
    assert code == 2 and "needs both labels" in capsys.readouterr().err
    assert cli.main(["evaluate", "--model", str(tiny_model), "--data", str(one_class)]) == 0
    assert json.loads(capsys.readouterr().out)["roc_auc"] is None  # NaN is not JSON


def test_evaluate_command_scores_a_real_looking_file_and_writes_nothing_when_it_refuses(tiny_model, tmp_path, capsys):
    """Other column names, word labels, a duplicate: scored once and reported; a refused file leaves nothing."""
    data_file, out_json, png_dir = tmp_path / "sentences.tsv", tmp_path / "eval.json", tmp_path / "png"
    data_file.write_text("sentence\tsentiment\nLoved it\tpos\nDull film\tneg\nloved it\tpos\nA gem\tpos\n")
    args = ["evaluate", "--model", str(tiny_model), "--data", str(data_file), "--text-column", "sentence",
            "--label-column", "sentiment", "--positive", "pos", "--negative", "neg", "--max-length", "32"]
    assert cli.main([*args, "--output", str(out_json), "--plots", str(png_dir)]) == 0
    result = json.loads(out_json.read_text())
    assert result["n"] == 3 and result["read"]["duplicates"]["rows"] == ["row 4 = row 2"]
    assert sorted(p.name for p in png_dir.iterdir()) == sorted(p.rsplit("/", 1)[-1] for p in result["plots"])
    capsys.readouterr()
    data_file.write_text("sentence\tsentiment\nLoved it\tpos\nDull film\tmeh\n")
    again, other_png = tmp_path / "again.json", tmp_path / "png2"
    assert cli.main([*args, "--output", str(again), "--plots", str(other_png)]) == 2
    assert "row 3, field 'sentiment': 'meh' is not a label here" in capsys.readouterr().err
    assert not again.exists() and not other_png.exists()
