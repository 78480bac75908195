"""Serving the exported ONNX classifier: everything behind ``azure/score/score.py``.

An Azure ML online endpoint calls ``init()`` once per worker and ``run()`` once per request; the
scoring script only forwards to ``ScoringService`` here, where it can be tested without a server.
The runtime needs numpy, onnxruntime and tokenizers only (no torch, no transformers), so the
deployment image stays small and a worker starts in about a second.

Request and response (``azure/score/sample-request.json``)::

    {"inputs": "I loved it"}            -> {"label": "positive", "score": 0.97, "model_version": "…"}
    {"inputs": ["I loved it", "Meh"]}   -> {"predictions": [{"label": …, "score": …}, …], "model_version": "…"}

Bad input is answered with a 4xx status and ``{"error": {"code": …, "message": …}}`` saying what
is wrong; only a fault of the server itself is a 5xx.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The file ``finetune_kit.deploy.export`` writes beside the ONNX models; it describes them.
MANIFEST = "export.json"
#: Environment variables the scoring service reads (all optional).
ENV_VARIANT = "FINETUNE_KIT_ONNX_VARIANT"  # "int8" (default) or "fp32"
ENV_THREADS = "FINETUNE_KIT_ORT_THREADS"  # ONNX Runtime threads per worker (default 1)
ENV_MODEL_VERSION = "FINETUNE_KIT_MODEL_VERSION"  # overrides the version reported to clients


# --- the model ------------------------------------------------------------------------------------


#: ONNX Runtime graph rewrites the kit turns off: its CPU SkipLayerNormalization kernel is slower than
#: the Add + LayerNormalization it replaces (measured in ``finetune_kit.deploy.export``'s docstring).
SKIP_FUSIONS = ["SkipLayerNormFusion"]


def open_session(path: Path | str | bytes, *, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with a fixed number of threads.

    One intra-op thread per worker is the usual CPU serving setup (scale with more workers); the
    benchmark uses the same function so its numbers describe what the endpoint runs. A session holds
    no state between ``run`` calls (and may be shared by threads), so the session of a file that has
    not changed since is reused: a notebook that checks parity, benchmarks and monitors the same
    export optimises its graph once, not three times.
    """
    if isinstance(path, bytes):
        return _new_session(path, threads)
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, threads)
    session = _SESSIONS.get(key)
    if session is None:
        while len(_SESSIONS) >= 4:  # a notebook uses two (fp32, int8): keep the newest few
            _SESSIONS.pop(next(iter(_SESSIONS)))
        session = _SESSIONS[key] = _new_session(str(path), threads)
    return session


#: Open sessions by (file, size, mtime, threads), oldest first.
_SESSIONS: dict[tuple[str, int, int, int], Any] = {}


def _new_session(model: str | bytes, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: warnings would land on a notebook's stderr
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"], disabled_optimizers=SKIP_FUSIONS)


def truncation_side(model_dir: Path) -> str:
    """The end the saved tokenizer cuts long texts from (``tokenizer_config.json``; ``right`` by default)."""
    config = model_dir / "tokenizer_config.json"
    side = json.loads(config.read_text()).get("truncation_side", "right") if config.is_file() else "right"
    if side not in ("left", "right"):
        raise ValueError(f"{config}: truncation_side must be 'left' or 'right', not {side!r}")
    return side


class Encoder:
    """Text → padded int64 arrays, with the fast tokenizer saved beside the model.

    Uses ``tokenizers`` directly (what ``AutoTokenizer`` wraps) so the endpoint needs no
    transformers. Padding goes to the longest text of the call, never to a fixed length.
    """

    def __init__(self, model_dir: Path | str, max_length: int):
        from tokenizers import Tokenizer

        path = Path(model_dir) / "tokenizer.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no tokenizer.json beside the model (export it with export-onnx)")
        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.enable_truncation(max_length, direction=truncation_side(Path(model_dir)))
        pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        self.max_length = max_length

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(list(texts))
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float  # probability of ``label``

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 6)}


def read_manifest(export_dir: Path | str) -> dict[str, Any]:
    path = Path(export_dir) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: not an ONNX export (run `python -m finetune_kit export-onnx` first)")
    return json.loads(path.read_text())


class OnnxClassifier:
    """The exported classifier: texts in, labels and probabilities out.

    With the int8 model a text's probabilities can move in the third decimal with its batch mates:
    dynamic quantisation picks one activation scale per call. fp32 answers do not depend on the batch.
    """

    def __init__(self, export_dir: Path | str, *, variant: str = "int8", threads: int = 1):
        self.export_dir = Path(export_dir)
        self.manifest = read_manifest(self.export_dir)
        files = self.manifest["files"]
        if variant not in files:
            raise ValueError(f"{self.export_dir}: no {variant!r} model in this export; it has {sorted(files)}")
        self.variant = variant
        self.session = open_session(self.export_dir / files[variant], threads=threads)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.encoder = Encoder(self.export_dir, int(self.manifest["max_length"]))
        self.labels = {int(k): v for k, v in self.manifest["labels"].items()}
        self.version = self.manifest["model_version"]

    def logits(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Logits, in the order of ``texts``; long lists go in batches of similar length.

        A review longer than ``pieces.PIECE_WORDS`` words is read whole and in pieces, and its logits
        averaged, as ``train.predict_proba`` does (``finetune_kit.sentiment.pieces`` says why).
        """
        from finetune_kit.sentiment import pieces  # numpy only: fine for the endpoint

        def logits_of(batch: list[str]) -> np.ndarray:
            feed = self.encoder(batch)
            return self.session.run(None, {name: feed[name] for name in self.input_names})[0]

        views, owners = pieces.expand(list(texts))
        return pieces.combine(pieces.batched(views, logits_of, len(self.labels), batch_size=batch_size),
                              owners, len(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from finetune_kit.sentiment.metrics import softmax  # numpy only at import: fine for the endpoint

        return softmax(self.logits(texts))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        probs = self.predict_proba(texts)
        best = probs.argmax(axis=-1)
        return [Prediction(self.labels[int(b)], float(p[b])) for b, p in zip(best, probs, strict=True)]


def find_export_dir(root: Path | str) -> Path:
    """The folder holding ``export.json`` at or below ``root`` (Azure mounts a model one level down).

    Azure ML sets ``AZUREML_MODEL_DIR`` to ``…/azureml-models/<name>/<version>``; the files of a
    model registered from the folder ``onnx/`` are then in ``$AZUREML_MODEL_DIR/onnx/``.
    """
    root = Path(root)
    if (root / MANIFEST).exists():
        return root
    found = sorted(root.glob(f"*/{MANIFEST}")) + sorted(root.glob(f"*/*/{MANIFEST}"))
    if not found:
        raise FileNotFoundError(f"{root}: no {MANIFEST} in this folder or the two below it; "
                                "point AZUREML_MODEL_DIR at the output of export-onnx")
    return found[0].parent


_AZURE_MODEL_PATH = re.compile(r"azureml-models/([^/]+)/([^/]+)/?$")


def model_version(export_dir: Path, manifest_version: str, azure_model_dir: str = "") -> str:
    """What clients see as the model version: set explicitly, else Azure's ``name:version``, else the export's."""
    if os.environ.get(ENV_MODEL_VERSION):
        return os.environ[ENV_MODEL_VERSION]
    match = _AZURE_MODEL_PATH.search(azure_model_dir.replace(os.sep, "/"))
    return f"{match.group(1)}:{match.group(2)}" if match else manifest_version


# --- requests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one request may carry; anything bigger is answered with 413 before the model runs."""

    max_body_bytes: int = 256_000
    max_items: int = 32
    max_chars: int = 20_000


class RequestError(Exception):
    """A client mistake: answered with ``status`` (4xx) and a JSON body that says what to fix."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def payload(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


EXAMPLE = 'Send JSON such as {"inputs": "I loved it"} or {"inputs": ["I loved it", "Too slow"]}.'
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _parse_request(body: bytes, limits: Limits = Limits()) -> tuple[list[str], bool]:
    """The texts of a request body and whether it sent a single text; raise ``RequestError`` if bad."""
    if not body.strip():
        raise RequestError(400, "empty_body", f"The request body is empty. {EXAMPLE}")
    if len(body) > limits.max_body_bytes:
        raise RequestError(413, "body_too_large",
                           f"The request body has {len(body):,} bytes; the limit is {limits.max_body_bytes:,}.")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RequestError(400, "not_utf8", f"The body is not UTF-8 text (byte {err.start}). {EXAMPLE}") from None
    except json.JSONDecodeError as err:
        raise RequestError(400, "invalid_json", f"The body is not valid JSON ({err.msg}: line {err.lineno}, "
                                                f"column {err.colno}). {EXAMPLE}") from None
    except RecursionError:
        raise RequestError(400, "invalid_json", f"The JSON is nested too deeply. {EXAMPLE}") from None
    if not isinstance(payload, dict):
        raise RequestError(422, "wrong_type", f"The body must be a JSON object, got a JSON {_json_type(payload)}. "
                                              f"{EXAMPLE}")
    if "inputs" not in payload:
        keys = ", ".join(map(repr, list(payload)[:5])) or "none"
        raise RequestError(422, "missing_inputs", f'The JSON object has no "inputs" field (fields found: {keys}). '
                                                  f"{EXAMPLE}")
    inputs = payload["inputs"]
    single = isinstance(inputs, str)
    if single:
        texts = [inputs]
    elif isinstance(inputs, list):
        if not inputs:
            raise RequestError(422, "empty_list", '"inputs" is an empty list: send at least one text.')
        if len(inputs) > limits.max_items:
            raise RequestError(413, "too_many_items", f'"inputs" has {len(inputs)} texts; the limit is '
                                                      f"{limits.max_items} per request. Split it into batches.")
        for i, item in enumerate(inputs):
            if not isinstance(item, str):
                raise RequestError(422, "wrong_type", f'"inputs"[{i}] must be a string, got a JSON {_json_type(item)}.')
        texts = inputs
    else:
        raise RequestError(422, "wrong_type", f'"inputs" must be a string or a list of strings, got a JSON '
                                              f"{_json_type(inputs)}.")
    for i, text in enumerate(texts):
        where = '"inputs"' if single else f'"inputs"[{i}]'
        if not text.strip():
            raise RequestError(422, "empty_text", f"{where} is empty or only whitespace: there is nothing to classify.")
        if len(text) > limits.max_chars:
            raise RequestError(413, "text_too_long", f"{where} has {len(text):,} characters; the limit is "
                                                     f"{limits.max_chars:,}.")
    return texts, single


class ScoringService:
    """``init()`` builds one, ``run()`` calls ``handle``: validation, prediction, data collection."""

    def __init__(self, classifier: OnnxClassifier, *, version: str | None = None, collector: Any = None,
                 limits: Limits = Limits()):
        self.classifier = classifier
        self.version = version or classifier.version
        self.collector = collector
        self.limits = limits

    @classmethod
    def from_environment(cls) -> ScoringService:
        """Read ``AZUREML_MODEL_DIR`` (set by Azure ML and by ``azmlinfsrv --model_dir``) and the kit's variables."""
        from finetune_kit.deploy import monitoring

        model_root = os.environ.get("AZUREML_MODEL_DIR", "")
        if not model_root:
            raise FileNotFoundError("AZUREML_MODEL_DIR is not set: start the server with --model_dir <export folder>")
        export_dir = find_export_dir(model_root)
        classifier = OnnxClassifier(export_dir, variant=os.environ.get(ENV_VARIANT, "int8"),
                                    threads=int(os.environ.get(ENV_THREADS, "1")))
        version = model_version(export_dir, classifier.version, model_root)
        return cls(classifier, version=version, collector=monitoring.DataCollector.from_environment(version))

    def handle(self, method: str, content_length: int | None, read: Callable[[int], bytes],
               request_id: str = "") -> tuple[int, dict[str, Any]]:
        """Answer one HTTP request: ``(status, JSON payload)``."""
        try:
            if method != "POST":
                raise RequestError(405, "method_not_allowed", f"{method} is not supported here: POST JSON. {EXAMPLE}")
            if content_length is not None and content_length > self.limits.max_body_bytes:
                _drain(read, content_length)
                raise RequestError(413, "body_too_large", f"The request body has {content_length:,} bytes; the "
                                                          f"limit is {self.limits.max_body_bytes:,}.")
            texts, single = _parse_request(_read_up_to(read, self.limits.max_body_bytes + 1), self.limits)
        except RequestError as err:
            return err.status, err.payload()
        predictions = self.classifier.predict(texts)
        if self.collector is not None:
            self.collector.collect(texts, predictions, request_id=request_id)
        if single:
            return 200, {**predictions[0].to_dict(), "model_version": self.version}
        return 200, {"predictions": [p.to_dict() for p in predictions], "model_version": self.version}


#: A body larger than this is not read at all; the connection is simply closed after the 413.
_MAX_DRAIN_BYTES = 64 * 1024 * 1024


def _read_up_to(read: Callable[[int], bytes], limit: int) -> bytes:
    """At most ``limit`` bytes of the body; a stream may hand them over in several pieces."""
    chunks, total = [], 0
    while total < limit:
        chunk = read(limit - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _drain(read: Callable[[int], bytes], content_length: int) -> None:
    """Read and drop an oversized body so the client, still sending, receives the 413 instead of a reset."""
    left = min(content_length, _MAX_DRAIN_BYTES)
    while left > 0:
        chunk = read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
