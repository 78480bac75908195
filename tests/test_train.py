"""Does fine-tuning produce a loadable model, honest metrics and the promised artefacts?"""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from finetune_kit import cli
from finetune_kit.course import config, reference
from finetune_kit.grading import cached_steps, runcache
from finetune_kit.sentiment import data, pieces, recipe, train

SMALL = ROOT / "tests" / "fixtures" / "reviews_small.csv"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    profile = config.PROFILES["smoke"]
    result = reference.load("sentiment").fine_tune(profile, data.load_splits(profile, SMALL), out,
                                                   report_to=("mlflow",))
    return out, result


def test_model_directory_is_standard_and_complete(trained):
    out, result = trained
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    AutoTokenizer.from_pretrained(out)
    record = json.loads((out / "metrics.json").read_text())
    assert set(record["test"]) == {"accuracy", "precision", "recall", "f1", "n"}
    assert record["test"] == result.metrics and record["test"]["n"] == 5
    assert record["best_checkpoint_selected_on"] == "validation f1"
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "pipeline_tag: text-classification" in card
    assert not (out / "checkpoints").exists()
    smoke_train = min(38, config.PROFILES["smoke"].max_train_samples)  # the fixture's 48 reviews split 38/5/5
    assert train.is_model_folder(out) and data.load_saved_splits(out).sizes() == {"train": smoke_train,
                                                                                  "validation": 5, "test": 5}
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_has_validation_evaluations_per_epoch(trained):
    _, result = trained
    evals = [h for h in result.history if "eval_f1" in h]
    assert evals and all("epoch" in h for h in evals)
    assert any("loss" in h for h in result.history)


def test_mlflow_recorded_the_run(trained):
    out, _ = trained
    import mlflow

    client = mlflow.tracking.MlflowClient(f"sqlite:///{out.parent / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("finetune-kit-sentiment")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1 and {"eval_f1", "test_f1"} <= set(runs[0].data.metrics)  # one run: training and test


def test_predictions_are_probabilities_in_input_order(trained):
    out, _ = trained
    model, tok = train.load_trained(out)
    texts = ["ok", "a much longer text about a product that I liked a lot", "bad"]
    scores = train.predict_proba(model, tok, texts)
    single = [float(train.predict_proba(model, tok, [t])[0]) for t in texts]
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()
    assert scores.tolist() == pytest.approx(single, abs=1e-5)


def test_evaluate_command_on_any_csv(trained, tmp_path, capsys):
    out, _ = trained
    dest = tmp_path / "eval.json"
    assert cli.main(["evaluate", "--model", str(out), "--data", str(SMALL), "--output", str(dest)]) == 0
    result = json.loads(dest.read_text())
    assert result["n"] == 48 and 0 <= result["accuracy"] <= 1
    assert {"precision", "recall", "f1"} <= set(result)
    assert result["read_in_pieces"] == 0  # every text of SMALL is short
    import pandas as pd

    longer = tmp_path / "longer.csv"
    long_review = " ".join(["a slow start but a superb finale"] * 20)  # 140 words
    pd.concat([pd.read_csv(SMALL), pd.DataFrame({"text": [long_review], "label": [1]})]).to_csv(longer, index=False)
    assert cli.main(["evaluate", "--model", str(out), "--data", str(longer), "--output", str(dest)]) == 0
    assert len(pieces.views(long_review)) == 4 and json.loads(dest.read_text())["read_in_pieces"] == 1


def test_a_saved_model_is_scored_at_the_length_it_was_trained_on(trained, tmp_path):
    """The profile's max_length travels in the tokenizer (model_max_length): evaluate and the ONNX export cut a
    long review as training did."""
    out, _ = trained
    model, tok = train.load_trained(out)
    smoke = config.PROFILES["smoke"].max_length
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == smoke
    assert train.trained_max_length(tok) == smoke
    long = ["slow start " * 100 + "but a superb finale"]
    default = train.predict_proba(model, tok, long)
    assert default == pytest.approx(train.predict_proba(model, tok, long, max_length=smoke), abs=1e-6)
    assert default[0] != train.predict_proba(model, tok, long, max_length=train.MAX_TOKENS)[0]
    dest = tmp_path / "eval.json"
    assert cli.main(["evaluate", "--model", str(out), "--data", str(SMALL), "--output", str(dest)]) == 0
    assert json.loads(dest.read_text())["max_length"] == smoke
    from finetune_kit.deploy import export

    assert export.saved_max_length(out) == smoke
    tok.model_max_length = int(1e30)  # what transformers sets when a tokenizer names no length
    assert train.trained_max_length(tok) == train.MAX_TOKENS


def test_evaluate_command_rejects_bad_csv_clearly(trained, tmp_path, capsys):
    out, _ = trained
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,1\nawful,negative\n")
    assert cli.main(["evaluate", "--model", str(out), "--data", str(bad)]) == 2
    assert "row 3, field 'label'" in capsys.readouterr().err


def _fake_part2(folder):
    """What Part 2's last step leaves: a config and the splits (no weights needed to find the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    data.save_splits(data.load_splits(config.PROFILES["smoke"], SMALL), folder)


def test_ensure_model_takes_part2s_folder_first(tmp_path, monkeypatch):
    monkeypatch.delenv(runcache.CACHE_ENV, raising=False)
    _fake_part2(tmp_path / "sentiment-model")
    monkeypatch.setattr(reference, "load", lambda name: pytest.fail("Part 2's model must not be trained again"))
    assert train.ensure_model(config.PROFILES["smoke"], tmp_path / "sentiment-model") == tmp_path / "sentiment-model"


def test_ensure_model_without_part2_or_reference_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(runcache.CACHE_ENV, raising=False)
    monkeypatch.setattr(reference, "available", lambda: False)
    with pytest.raises(FileNotFoundError, match="run Part 2 first: its last step saves your model to"):
        train.ensure_model(config.PROFILES["smoke"], tmp_path / "nothing")


def test_ensure_model_trains_with_the_reference_once_and_the_grader_reuses_it(tmp_path, monkeypatch, request):
    calls = []

    class Recipe:
        @staticmethod
        def fine_tune(profile, splits, output_dir):
            calls.append(output_dir)
            _fake_part2(output_dir)

    monkeypatch.setattr(reference, "load", lambda name: Recipe)
    monkeypatch.setenv(runcache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(runcache.WRITE_ENV, "1")
    cached_steps.install()  # what the grader's kernels run at start-up
    request.addfinalizer(cached_steps.uninstall)
    profile = config.PROFILES["smoke"]
    assert train.ensure_model(profile, tmp_path / "grader") == tmp_path / "grader"
    monkeypatch.delenv(runcache.WRITE_ENV)
    assert train.ensure_model(profile, tmp_path / "student") == tmp_path / "student"  # copied from the cache
    assert calls == [tmp_path / "grader"] and train.is_model_folder(tmp_path / "student")


def test_train_command_in_the_hand_out_says_where_to_train(tmp_path, monkeypatch, capsys):
    def missing(name):
        raise reference.ReferenceMissing("the instructor's reference answers are not here")

    monkeypatch.setattr(reference, "load", missing)
    assert cli.main(["train", "--profile", "smoke", "--output-dir", str(tmp_path)]) == 2
    assert "reference answers are not here" in capsys.readouterr().err


def test_training_seed_reaches_the_training_arguments(tmp_path, monkeypatch):
    """``--training-seed`` changes TrainingArguments' seed and nothing else of the recipe's arguments."""
    import types

    real = reference.load("sentiment")
    seen = []

    def fine_tune(profile, splits, output_dir, **kwargs):
        seen.append(recipe_module.make_training_args(profile, output_dir))
        raise SystemExit(0)  # the arguments are what this test is about, not the training

    recipe_module = types.SimpleNamespace(make_training_args=real.make_training_args, fine_tune=fine_tune)
    monkeypatch.setattr(reference, "load", lambda name: recipe_module)
    for extra in ([], ["--training-seed", "43"]):
        with pytest.raises(SystemExit):
            cli.main(["train", "--profile", "smoke", "--data", str(SMALL), "--output-dir", str(tmp_path), *extra])
    default, changed = seen
    assert (default.seed, changed.seed) == (42, 43)
    assert {k: v for k, v in changed.to_dict().items() if k != "seed"} == \
        {k: v for k, v in default.to_dict().items() if k != "seed"}


def test_original_recipe_fails_and_fixed_one_runs():
    message = recipe.run_original_arguments()
    assert message.startswith("TypeError") and "evaluation_strategy" in message
    assert str(recipe.run_fixed_arguments().eval_strategy) in ("epoch", "IntervalStrategy.EPOCH")


def test_selecting_on_test_inflates_the_score():
    sim = recipe.selection_on_test()
    assert sim["chosen_on_test_reported_on_test"] > 0.55
    assert abs(sim["chosen_on_validation_reported_on_test"] - 0.5) < 0.1
    assert abs(sim["chosen_model_on_new_data"] - 0.5) < 0.01


def test_train_command_smoke_and_from_scratch(tmp_path):
    out = tmp_path / "scratch"
    assert cli.main(["train", "--profile", "smoke", "--data", str(SMALL), "--from-scratch",
                     "--output-dir", str(out)]) == 0
    record = json.loads((out / "metrics.json").read_text())
    assert record["pretrained"] is False and record["profile"] == "smoke"


def test_distributed_training_with_torchrun(tmp_path):
    """Two CPU processes (gloo) train one model: the same command Azure runs on several GPUs."""
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "finetune_kit", "train", "--profile", "smoke", "--data", str(SMALL), "--output-dir", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(out)
    record = json.loads((out / "metrics.json").read_text())
    assert record["test"]["n"] == 5
    assert record["world_size"] == 2
