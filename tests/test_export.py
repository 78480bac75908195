"""Is the ONNX export complete, optimised, quantised, and does it predict what PyTorch predicts?"""

import json

import numpy as np
import pytest

from conftest import ROOT
from finetune_kit.course import reference
from finetune_kit.deploy import export
from finetune_kit.deploy.serve import Encoder, read_manifest

FIXTURE = ROOT / "tests" / "fixtures" / "deploy_reviews.csv"


@pytest.mark.slow
def test_export_writes_both_models_tokenizer_and_manifest(onnx_export):
    out = onnx_export.output_dir
    for name in ("model.onnx", "model.int8.onnx", "tokenizer.json", "config.json", "export.json"):
        assert (out / name).exists(), name
    manifest = read_manifest(out)
    assert manifest["files"] == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    assert manifest["labels"] == {"0": "negative", "1": "positive"}
    assert manifest["input_names"] == ["input_ids", "attention_mask", "token_type_ids"]
    # int8 matrices are 4x smaller; the fp32 embedding table (47 MB) keeps the file at about 60 %
    assert onnx_export.sizes_mb["int8"] < 0.7 * onnx_export.sizes_mb["fp32"]
    assert onnx_export.fused_operators.get("Attention", 0) == 6, "ONNX Runtime fused the 6 attention blocks"
    assert "model.int8.onnx" in onnx_export.summary()


@pytest.mark.slow
def test_int8_graph_uses_integer_kernels_but_keeps_the_head_in_fp32(onnx_export):
    import onnx

    graph = onnx.load(str(onnx_export.path("int8"))).graph
    ops = {node.op_type for node in graph.node}
    assert {"QAttention", "DynamicQuantizeMatMul"} & ops or "MatMulInteger" in ops
    assert "EmbedLayerNormalization" in ops and "QEmbedLayerNormalization" not in ops, "embeddings stay fp32"
    head = [n for n in graph.node if set(n.output) & {o.name for o in graph.output}]
    assert head and all(n.op_type in ("Gemm", "MatMul", "Add") for n in head)


@pytest.mark.slow
def test_parity_with_pytorch(fresh_model_dir, onnx_export):
    texts, labels, where = export.labelled_texts(None, FIXTURE)
    report = reference.load("deployment").parity_check(fresh_model_dir, onnx_export.output_dir, texts, labels,
                                                         data=where)
    assert report.n == 30 and set(report.accuracy) == {"pytorch", "fp32", "int8"}
    assert report.agreement["fp32"] == 1.0 and report.max_abs_logit_diff["fp32"] < 1e-3
    # An untrained head has near-zero margins, so int8 may flip labels here; its logits stay close.
    assert report.max_abs_logit_diff["int8"] < 0.1
    assert report.passed == (report.agreement["int8"] >= export.PARITY_THRESHOLD)
    assert report.agreement_by_batch["fp32"] == {"batch 1": 1.0, "batch 32": 1.0}
    assert report.agreement["int8"] == min(report.agreement_by_batch["int8"].values())
    assert "agreement" in report.summary()
    export.record_parity(onnx_export.output_dir, report)
    assert read_manifest(onnx_export.output_dir)["parity"]["n"] == 30


@pytest.mark.slow
def test_endpoint_tokenizer_matches_autotokenizer(fresh_model_dir):
    from transformers import AutoTokenizer

    texts, _, _ = export.labelled_texts(None, FIXTURE)
    texts = texts + ["word " * 300, "Ünïcödé — “quotes” and emoji 🙂", "slow start " * 100 + "but a superb finale"]
    ours = Encoder(fresh_model_dir, 64)(texts)
    tokenizer = AutoTokenizer.from_pretrained(fresh_model_dir)
    theirs = tokenizer(texts, truncation=True, max_length=64, padding=True, return_tensors="np")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(ours[key], theirs[key])
    # Both keep the *end* of a long review, where the verdict is (models.TRUNCATION_SIDE, saved with the tokenizer).
    assert tokenizer.truncation_side == "left"
    kept = tokenizer.decode(ours["input_ids"][-1], skip_special_tokens=True)
    assert kept.endswith("but a superb finale"), kept


def test_encoder_refuses_an_unknown_truncation_side(fresh_model_dir, tmp_path):
    import shutil

    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(fresh_model_dir / name, tmp_path / name)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "truncation_side": "middle"}))
    with pytest.raises(ValueError, match="tokenizer_config.json: truncation_side must be 'left' or 'right'"):
        Encoder(tmp_path, 64)


def test_export_refuses_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        export.export_onnx(tmp_path, tmp_path / "out")


def test_parity_report_fails_below_threshold():
    report = export.ParityReport(n=200, data="x", threshold=0.995, accuracy={"pytorch": 0.9, "fp32": 0.9, "int8": 0.89},
                                 agreement={"fp32": 1.0, "int8": 0.99},
                                 agreement_by_batch={"fp32": {"batch 1": 1.0}, "int8": {"batch 1": 0.99}},
                                 max_abs_logit_diff={"fp32": 0, "int8": 0.3})
    assert not report.passed and "BELOW THRESHOLD" in report.summary()
    assert json.loads(json.dumps(report.to_dict()))["passed"] is False


@pytest.mark.slow
def test_cli_export_without_quantization_passes_parity(fresh_model_dir, tmp_path, capsys):
    from finetune_kit.cli import main

    code = main(["export-onnx", "--model", str(fresh_model_dir), "--output", str(tmp_path / "onnx"),
                 "--quantize", "none", "--no-optimize", "--data", str(FIXTURE)])
    out = capsys.readouterr().out
    assert code == 0, out
    manifest = read_manifest(tmp_path / "onnx")
    assert manifest["files"] == {"fp32": "model.onnx"} and manifest["parity"]["passed"] is True
    assert manifest["optimized"] is False and manifest["fused_operators"] == {}
    assert "agreement 100.00%" in out


@pytest.mark.slow
def test_model_to_deploy_under_smoke_saves_a_fresh_model(monkeypatch, tmp_path):
    from finetune_kit.course.config import PROFILES

    monkeypatch.setenv("FINETUNE_KIT_OUTPUTS", str(tmp_path))
    path, reason = export.model_to_deploy(PROFILES["smoke"])
    assert (path / "config.json").exists() and "untrained head" in reason
    trained = tmp_path / "smoke" / "sentiment-model"
    trained.mkdir(parents=True)
    (trained / "config.json").write_text("{}")
    (trained / "metrics.json").write_text("{}")
    assert export.model_to_deploy(PROFILES["smoke"])[0] == trained


def test_cli_export_in_a_handout_skips_the_instructors_parity_check(monkeypatch, tmp_path, capsys):
    """Without autograde/reference (the student hand-out) the export stands and the CLI says where parity is checked."""
    from finetune_kit.cli import main

    class Exported:
        output_dir = tmp_path

        def summary(self):
            return "exported"

    def missing(name):
        raise reference.ReferenceMissing("not in the hand-out")

    monkeypatch.setattr(export, "export_onnx", lambda *args, **kwargs: Exported())
    monkeypatch.setattr(reference, "load", missing)
    assert main(["export-onnx", "--model", str(tmp_path), "--output", str(tmp_path / "onnx")]) == 0
    assert "parity check skipped" in capsys.readouterr().out
