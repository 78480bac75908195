"""Reference answers to Part 3's deployment notebook (``part3_deployment``), and the full parity check
the ``export-onnx`` command runs.

Each exercise function's docstring is what the student sees in the notebook's answer cell.
"""

from __future__ import annotations

import json
import os

from azureml_inference_server_http.api.aml_response import AMLResponse

from finetune_kit import serve

#: The model the scoring script serves; ``init()`` loads it, ``run()`` uses it.
classifier = None


def speedups(latency_ms: dict, baseline: str = "PyTorch fp32") -> dict:
    """Each engine's speed-up over ``baseline``: ``baseline latency / engine latency``.

    ``latency_ms`` maps an engine name to its latency in milliseconds. Return a dict with the same
    keys, each value a Python ``float`` rounded with ``round(x, 1)``; the baseline itself gets ``1.0``.
    """
    base = latency_ms[baseline]
    return {engine: round(float(base / ms), 1) for engine, ms in latency_ms.items()}


def parity(torch_probs, onnx_probs, threshold=0.5):
    """Compare two models' P(positive) for the same texts: do they predict the same labels?

    ``torch_probs`` and ``onnx_probs`` are sequences (lists or NumPy arrays) of P(positive), one per
    text, in the same order; a text is predicted positive when its probability is ``>= threshold``.
    Return a dict with

    * ``"agreement"``: the share of texts with the same predicted label (a Python ``float``, 0 to 1);
    * ``"max_abs_diff"``: the largest ``|torch - onnx|`` difference of probabilities (a Python ``float``);
    * ``"flipped"``: the positions (a list of Python ``int``, ascending) where the labels differ.

    Raise ``ValueError`` when the two have different lengths or are empty.
    """
    a = [float(p) for p in torch_probs]
    b = [float(p) for p in onnx_probs]
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty lists of probabilities, got {len(a)} and {len(b)}")
    flipped = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if (x >= threshold) != (y >= threshold)]
    return {"agreement": 1.0 - len(flipped) / len(a),
            "max_abs_diff": max(abs(x - y) for x, y in zip(a, b, strict=True)),
            "flipped": flipped}


def init():
    """Load the ONNX classifier once, when the server starts a worker.

    Azure ML (and ``azmlinfsrv --model_dir``) puts the model folder's path in the environment variable
    ``AZUREML_MODEL_DIR``. Set the global ``classifier`` to
    ``serve.OnnxClassifier(serve.find_export_dir(<that path>))``.
    """
    global classifier
    classifier = serve.OnnxClassifier(serve.find_export_dir(os.environ["AZUREML_MODEL_DIR"]))


def run(raw_data):
    """Answer one request. ``raw_data`` is the request body as a ``str``; return an ``AMLResponse``.

    A good request is a JSON object whose ``"inputs"`` is a non-empty text or a non-empty list of
    non-empty texts (a text that is only spaces counts as empty)::

        {"inputs": "I loved it"}    or    {"inputs": ["I loved it", "Too slow"]}

    Answer it with status 200 and ``{"predictions": [{"label": "positive", "score": 0.97}, …]}``: one
    entry per text, in order, where ``score`` is P(positive) as a Python ``float`` and ``label`` is
    ``"positive"`` when ``score >= 0.5``, else ``"negative"``. ``classifier.predict_proba(texts)`` gives
    an array of shape ``(len(texts), 2)``: column 1 is P(positive).

    Anything else gets a **4xx** status and a JSON body ``{"error": "<what is wrong and how to fix it>"}``:

    * **400** when the body is not valid JSON;
    * **422** when it is JSON but not as described: not an object, no ``"inputs"``, wrong types, empty.

    Build every answer with ``AMLResponse(payload_dict, status, json_str=True)``. ``run`` must never
    raise: a crash is a 500 for the client.
    """
    example = 'Send {"inputs": "a review"} or {"inputs": ["a review", "another"]}.'

    def error(status, message):
        return AMLResponse({"error": f"{message} {example}"}, status, json_str=True)

    try:
        payload = json.loads(raw_data)
    except (TypeError, ValueError, RecursionError):
        return error(400, "The body is not valid JSON.")
    if not isinstance(payload, dict) or "inputs" not in payload:
        return error(422, 'The body must be a JSON object with an "inputs" field.')
    inputs = payload["inputs"]
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return error(422, '"inputs" must be a string or a list of strings.')
    if not texts or not all(t.strip() for t in texts):
        return error(422, '"inputs" is empty, or one of its texts is: there is nothing to classify.')
    scores = classifier.predict_proba(texts)[:, 1]
    predictions = [{"label": "positive" if s >= 0.5 else "negative", "score": float(s)} for s in scores]
    return AMLResponse({"predictions": predictions}, 200, json_str=True)


# --- the export-onnx command's full check (not an exercise) ---------------------------------------


def parity_check(model_dir, export_dir, texts, labels, *, data="the given texts", threshold=None, threads=1):
    """Predict ``texts`` with PyTorch and with each ONNX model (same token ids) and compare.

    Each ONNX model runs twice: one text per call (how the endpoint answers single requests) and
    in batches of 32. The int8 model's answers depend a little on the batch (dynamic quantisation
    picks one activation scale per call), so both must agree with PyTorch; the worse counts.
    """
    from pathlib import Path

    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification

    from finetune_kit import export

    threshold = export.PARITY_THRESHOLD if threshold is None else threshold
    export_dir = Path(export_dir)
    manifest = serve.read_manifest(export_dir)
    if not texts:
        raise ValueError(f"parity check needs texts; {data} has none")
    encoder = serve.Encoder(export_dir, int(manifest["max_length"]))
    feeds = export.encode_batches(encoder, list(texts))
    names = manifest["input_names"]
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
        reference = export.torch_logits(model, feeds, names)
    finally:
        torch.set_num_threads(torch_threads)
    labels = np.asarray(labels)
    accuracy = {"pytorch": float((reference.argmax(-1) == labels).mean())}
    singles = export.encode_batches(encoder, list(texts), batch_size=1)
    agreement, by_batch, diff = {}, {}, {}
    for variant, name in manifest["files"].items():
        session = serve.open_session(export_dir / name, threads=threads)
        runs = {"batch 1": singles, "batch 32": feeds}
        logits = {k: np.concatenate([session.run(None, {n: f[n] for n in names})[0] for f in fs])
                  for k, fs in runs.items()}
        accuracy[variant] = float((logits["batch 32"].argmax(-1) == labels).mean())
        by_batch[variant] = {k: float((v.argmax(-1) == reference.argmax(-1)).mean()) for k, v in logits.items()}
        agreement[variant] = min(by_batch[variant].values())
        diff[variant] = float(max(np.abs(v - reference).max() for v in logits.values()))
    return export.ParityReport(len(texts), data, threshold, accuracy, agreement, by_batch, diff)
