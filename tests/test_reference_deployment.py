"""Are the reference answers of Part 3's deployment notebook right (they generate its solution cells)?"""

import json

import numpy as np
import pytest

from finetune_kit.course import reference

ref = reference.load("deployment")


def test_speedups_round_to_one_decimal():
    assert ref.speedups({"PyTorch fp32": 11.0, "ONNX Runtime fp32": 4.4, "ONNX Runtime int8": 1.7}) == \
        {"PyTorch fp32": 1.0, "ONNX Runtime fp32": 2.5, "ONNX Runtime int8": 6.5}
    assert ref.speedups({"a": 2.0, "b": 8.0}, "b") == {"a": 4.0, "b": 1.0}


def test_parity_counts_flips_and_the_largest_difference():
    got = ref.parity([0.9, 0.2, 0.55, 0.49], np.array([0.88, 0.25, 0.45, 0.51]))
    assert got["flipped"] == [2, 3] and got["agreement"] == 0.5
    assert got["max_abs_diff"] == pytest.approx(0.1)
    assert all(type(v) is float for v in (got["agreement"], got["max_abs_diff"]))
    assert ref.parity([0.6, 0.7], [0.7, 0.75], threshold=0.68)["flipped"] == [0]
    for bad in (([0.1], [0.1, 0.2]), ([], [])):
        with pytest.raises(ValueError):
            ref.parity(*bad)


class Stub:
    def predict_proba(self, texts):
        p = np.array([0.9 if "good" in t else 0.2 for t in texts])
        return np.stack([1 - p, p], axis=1)


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(ref, "classifier", Stub())


def _call(body):
    reply = ref.run(body)
    return reply.status_code, json.loads(reply.get_data(as_text=True))


def test_run_answers_good_requests(stubbed):
    assert _call('{"inputs": ["a good film", "dull"]}') == \
        (200, {"predictions": [{"label": "positive", "score": 0.9}, {"label": "negative", "score": 0.2}]})
    assert _call('{"inputs": "good", "extra": 1}') == (200, {"predictions": [{"label": "positive", "score": 0.9}]})


@pytest.mark.parametrize(("body", "status"), [
    ("", 400), ("not json", 400), ("{", 400), (None, 400), ('{"inputs": 42}', 422), ('{"inputs": []}', 422),
    ('{"text": "good"}', 422), ('{"inputs": ["good", 3]}', 422), ('{"inputs": "   "}', 422), ("[1, 2]", 422),
    ('"good"', 422), ("null", 422), ("NaN", 422), ('{"inputs": [["good"]]}', 422), ("[" * 100_000, 400)])
def test_run_answers_bad_requests_with_a_4xx_and_a_message(stubbed, body, status):
    got_status, payload = _call(body)
    assert got_status == status and isinstance(payload["error"], str) and "inputs" in payload["error"]


@pytest.mark.slow
def test_init_loads_the_export_named_by_azureml_model_dir(onnx_export, monkeypatch):
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(onnx_export.output_dir))
    monkeypatch.setattr(ref, "classifier", None)
    ref.init()
    status, payload = _call('{"inputs": ["fine", "awful"]}')
    assert status == 200 and len(payload["predictions"]) == 2
