"""Does the scoring service validate requests, answer with the right status and shape, and find its model?"""

import json

import pytest

from finetune_kit.deploy import serve
from finetune_kit.deploy.serve import Limits, Prediction, RequestError, ScoringService
from finetune_kit.deploy.serve import _parse_request as parse_request  # private: the notebook's run() is the exercise


def _error(body: bytes, limits: Limits | None = None) -> RequestError:
    with pytest.raises(RequestError) as info:
        parse_request(body, limits or Limits())
    return info.value


def test_single_text_and_list_are_accepted():
    assert parse_request(b'{"inputs": "I loved it"}') == (["I loved it"], True)
    assert parse_request(b'{"inputs": ["a", "b"], "extra": 1}') == (["a", "b"], False)


@pytest.mark.parametrize("body, status, code, says", [
    (b"", 400, "empty_body", "empty"),
    (b"  \n", 400, "empty_body", "empty"),
    (b'{"inputs": "x"', 400, "invalid_json", "not valid JSON"),
    (b'{"inputs": "\xff"}', 400, "not_utf8", "UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json", "nested"),
    (b'"just a string"', 422, "wrong_type", "JSON string"),
    (b'{"text": "hi"}', 422, "missing_inputs", "'text'"),
    (b'{"inputs": null}', 422, "wrong_type", "JSON null"),
    (b'{"inputs": {"a": 1}}', 422, "wrong_type", "JSON object"),
    (b'{"inputs": ["ok", true]}', 422, "wrong_type", '"inputs"[1]'),
    (b'{"inputs": []}', 422, "empty_list", "empty list"),
    (b'{"inputs": "\\t "}', 422, "empty_text", "whitespace"),
    (b'{"inputs": ["fine", ""]}', 422, "empty_text", '"inputs"[1]'),
])
def test_bad_requests_say_what_is_wrong(body, status, code, says):
    err = _error(body, Limits(max_body_bytes=1_000_000))
    assert (err.status, err.code) == (status, code)
    assert says in err.message
    assert err.payload() == {"error": {"code": code, "message": err.message}}


def test_limits_give_413():
    limits = Limits(max_body_bytes=1000, max_items=3, max_chars=50)
    assert _error(json.dumps({"inputs": ["a"] * 4}).encode(), limits).code == "too_many_items"
    assert _error(json.dumps({"inputs": "x" * 51}).encode(), limits).code == "text_too_long"
    big = _error(json.dumps({"inputs": "x" * 2000}).encode(), limits)
    assert (big.status, big.code) == (413, "body_too_large")
    assert parse_request(json.dumps({"inputs": ["x" * 50] * 3}).encode(), limits)[0] == ["x" * 50] * 3


class FakeClassifier:
    version = "fake-1"

    def predict(self, texts):
        return [Prediction("positive" if "good" in t else "negative", 0.9) for t in texts]


class ListCollector:
    def __init__(self):
        self.calls = []

    def collect(self, texts, predictions, *, request_id=""):
        self.calls.append((list(texts), [p.label for p in predictions], request_id))


def _reader(body: bytes, chunk: int = 7):
    """A stream that hands the body over in small pieces, as a socket may."""
    state = {"at": 0}

    def read(n):
        piece = body[state["at"]:state["at"] + min(n, chunk)]
        state["at"] += len(piece)
        return piece
    return read, state


def test_handle_answers_single_and_batch_and_collects():
    collector = ListCollector()
    service = ScoringService(FakeClassifier(), collector=collector)
    body = b'{"inputs": "a good phone"}'
    read, _ = _reader(body)
    status, payload = service.handle("POST", len(body), read, request_id="r1")
    assert status == 200
    assert payload == {"label": "positive", "score": 0.9, "model_version": "fake-1"}
    body = b'{"inputs": ["good", "bad"]}'
    status, payload = service.handle("POST", None, _reader(body)[0])
    assert status == 200 and payload["model_version"] == "fake-1"
    assert [p["label"] for p in payload["predictions"]] == ["positive", "negative"]
    assert collector.calls == [(["a good phone"], ["positive"], "r1"), (["good", "bad"], ["positive", "negative"], "")]


def test_handle_rejects_other_methods_and_drains_oversized_bodies():
    service = ScoringService(FakeClassifier(), limits=Limits(max_body_bytes=100))
    status, payload = service.handle("GET", None, lambda n: b"")
    assert status == 405 and "POST" in payload["error"]["message"]
    body = b"x" * 5000
    read, state = _reader(body, chunk=512)
    status, payload = service.handle("POST", len(body), read)
    assert (status, payload["error"]["code"]) == (413, "body_too_large")
    assert state["at"] == len(body), "the oversized body is read to the end so the client gets the 413"


def test_bad_request_is_not_collected():
    collector = ListCollector()
    status, _ = ScoringService(FakeClassifier(), collector=collector).handle("POST", 2, _reader(b"{}")[0])
    assert status == 422 and collector.calls == []


def test_find_export_dir_looks_below_azure_model_dir(tmp_path):
    nested = tmp_path / "azureml-models" / "sentiment-onnx" / "3" / "onnx"
    nested.mkdir(parents=True)
    (nested / serve.MANIFEST).write_text("{}")
    root = tmp_path / "azureml-models" / "sentiment-onnx" / "3"
    assert serve.find_export_dir(root) == nested
    assert serve.find_export_dir(nested) == nested
    with pytest.raises(FileNotFoundError, match="export.json"):
        serve.find_export_dir(tmp_path / "elsewhere")


def test_model_version_prefers_env_then_azure_path(monkeypatch, tmp_path):
    monkeypatch.delenv(serve.ENV_MODEL_VERSION, raising=False)
    assert serve.model_version(tmp_path, "m-abc", "") == "m-abc"
    assert serve.model_version(tmp_path, "m-abc", "/var/azureml-app/azureml-models/sentiment-onnx/3") == \
        "sentiment-onnx:3"
    monkeypatch.setenv(serve.ENV_MODEL_VERSION, "v9")
    assert serve.model_version(tmp_path, "m-abc", "/var/azureml-app/azureml-models/sentiment-onnx/3") == "v9"


def test_missing_model_dir_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="AZUREML_MODEL_DIR"):
        ScoringService.from_environment()


@pytest.mark.slow
def test_onnx_classifier_predicts_in_request_order(onnx_export):
    texts = ["Great.", "The worst purchase I have made this year, it broke in a day and support ignored me.", "ok"]
    # fp32: padding and batch mates must not change a text's answer. int8: almost, because dynamic
    # quantisation picks one activation scale for the whole batch.
    for variant, tolerance in (("fp32", 1e-5), ("int8", 1e-2)):
        clf = serve.OnnxClassifier(onnx_export.output_dir, variant=variant)
        together = clf.predict_proba(texts)
        alone = [clf.predict_proba([t])[0] for t in texts]
        for a, b in zip(together, alone, strict=True):
            assert abs(a - b).max() < tolerance, variant
    preds = clf.predict(texts)
    assert all(p.label in ("negative", "positive") and 0.5 <= p.score <= 1 for p in preds)
    with pytest.raises(ValueError, match="fp16"):
        serve.OnnxClassifier(onnx_export.output_dir, variant="fp16")


def test_the_endpoint_runtime_needs_no_torch_or_transformers():
    """score.py's imports must work in the small serving environment (azure/deploy/conda.yml)."""
    import subprocess
    import sys

    code = ("import sys, finetune_kit.deploy.serve, finetune_kit.deploy.monitoring, finetune_kit.sentiment.metrics, "
            "finetune_kit.sentiment.pieces; "
            "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
