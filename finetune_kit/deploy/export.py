"""Export a fine-tuned model to ONNX, optimise it for CPU and quantise it to int8.

Why ONNX Runtime? The same weights run several times faster on a CPU than in PyTorch: the graph is
fixed ahead of time, the transformer blocks are *fused* (one ``Attention`` kernel instead of a
dozen small operations), and dynamic int8 quantisation turns the big matrix products into 8-bit
integer ones (4× smaller weights, much faster multiply-adds on CPUs with VNNI).

Steps, in the order ``export_onnx`` runs them:

1. ``torch.onnx.export`` of the classifier with dynamic batch and sequence axes. We use the
   TorchScript exporter (``dynamo=False``): ONNX Runtime's BERT optimiser recognises its attention
   pattern and fuses it; on the graph of the newer ``torch.export``-based exporter it fuses only
   the layer norms and GELUs, which measured about 15 % slower after quantisation on this kit's
   2-core machine.
2. ``onnxruntime.transformers.optimizer``: fused ``Attention``, ``EmbedLayerNormalization`` and
   ``BiasGelu``; saved as ``model.onnx`` (fp32). The residual ``Add`` + ``LayerNormalization`` pairs
   are deliberately *not* fused into ``SkipLayerNormalization``: in ONNX Runtime 1.32 that CPU kernel
   took 117 µs on a [1, 54, 384] input where the unfused pair took 22 µs, and un-fusing made the int8
   model 19 % faster at batch 1 (p50 6.47 → 5.23 ms on the test split). ``open_session`` keeps the
   runtime from fusing them again (``SKIP_FUSIONS``).
3. **SmoothQuant** (Xiao et al., 2023) on both feed-forward projections (the matrix products
   after each layer norm and after each GELU): a few channels of their inputs are far larger than
   the rest, and dynamic quantisation gives a whole input one scale, so those channels cost every
   other one its precision. We divide each input channel by ``s = amax^α / wmax^(1-α)`` (``amax``
   measured on 256 training texts, ``wmax`` from the weights) and multiply the weight's row by
   ``s``: the same product in fp32, an easier one in int8. What and how much to smooth was chosen
   by the int8 model's distance to fp32 on the other 3,173 train and validation texts (labels are
   not needed to compare two models), never on the test split the parity check then reports.
   Mean |logit difference| at batch 1 / 32: no smoothing 0.031 / 0.031; down-projections only,
   α 0.85: 0.022 / 0.022; both projections, α 0.7 / 0.85 / 0.95: 0.023 / 0.018 / 0.020 at batch 1.
   The early layers' feed-forward products were the source of the error: quantising any single one
   of layers 0–2 alone moved logits by up to 1.5, those of layers 3–5 by at most 0.2.
4. ``onnxruntime.quantization.quantize_dynamic``: the weights of every matrix product (attention
   and feed-forward) to int8 ahead of time, one scale per output channel, activations per call;
   the classifier head stays fp32; saved as ``model.int8.onnx``.
5. The tokenizer, ``config.json`` and ``export.json`` (what was exported, how, and the parity
   check's result) go beside them: the folder is what the endpoint serves.

IO binding was tried as well: on CPU it made no measurable difference (inputs are already host
memory), so plain ``session.run`` is used.

How many labels int8 flips depends on the model more than on these settings: a label flips only
where the fp32 margin is smaller than the rounding error. The ``offline`` model of December 2026
(256 tokens, 2e-5) leaves 10 of its 745 validation reviews within 0.1 logit of the boundary, and
int8 flips 10 (mean |logit difference| 0.057; the model of issue 5 flipped none). Measured on that
validation split, batch-1 p50 on this 2-core machine (fp32 ONNX 8.9 ms, int8 as shipped 3.5 ms):
SmoothQuant on the attention inputs as well (α 0.7): 7 flips, 3.5 ms; 8-bit weights
(``reduce_range=False``): 7, 3.5 ms; weight-only 8-bit ``MatMulNBits`` (blocks of 32, int8 compute,
so activations get one scale per 32 channels of a token): 2 flips but 7.2 ms; the 6 or 8 most
sensitive products kept in fp32 (``nodes_to_exclude``): 5 or 3 flips at 5.5 or 5.8 ms. None keeps
both the speed and 99.5 % agreement, so the export keeps full int8 and the parity check says what
it costs; Part 3 teaches how to read and decide on it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit.course import memo
from finetune_kit.deploy.serve import MANIFEST, Encoder, open_session

FP32, INT8 = "model.onnx", "model.int8.onnx"
#: SmoothQuant's migration strength (module docstring, step 3); how many texts it calibrates on is the profile's.
SMOOTH_ALPHA = 0.85
#: Share of test texts on which an ONNX model must predict the same label as PyTorch.
PARITY_THRESHOLD = 0.995
OPSET = 17


@dataclass
class ExportResult:
    output_dir: Path
    files: dict[str, str]  # variant ("fp32", "int8") -> file name in output_dir
    sizes_mb: dict[str, float]
    fused_operators: dict[str, int]
    manifest: dict[str, Any] = field(repr=False, default_factory=dict)

    def path(self, variant: str) -> Path:
        return self.output_dir / self.files[variant]

    def summary(self) -> str:
        fused = ", ".join(f"{n} {k}" for k, n in self.fused_operators.items()) or "none"
        lines = [f"ONNX export in {self.output_dir}"]
        lines += [f"  {variant:<5} {name:<17} {self.sizes_mb[variant]:7.1f} MB" for variant, name in self.files.items()]
        lines.append(f"  fused operators: {fused}")
        return "\n".join(lines)


def _file_mb(path: Path) -> float:
    return round(path.stat().st_size / 1e6, 1)


def file_sha256(path: Path) -> str:
    """A file's SHA-256, read in 1 MiB blocks (model weights run to hundreds of megabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _forward_inputs(model: Any, encoded: dict[str, Any]) -> list[str]:
    """The tokenizer outputs the model's ``forward`` takes, in its argument order (DistilBERT has no token types)."""
    import inspect

    params = list(inspect.signature(model.forward).parameters)
    return [name for name in params if name in encoded]


def _export_torch(model_dir: Path, target: Path, opset: int) -> tuple[Any, list[str]]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # Eager attention: the explicit softmax(QK^T)V pattern ONNX Runtime knows how to fuse.
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # Two texts of different length: the traced graph sees a real batch with padding.
    sample = tokenizer(["A short review.", "A slightly longer review, so that the batch needs padding."],
                       padding=True, return_tensors="pt")
    names = _forward_inputs(model, sample)
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter announces its deprecation and tracer details on stderr; the
        # parity check below is what tells us the graph is right.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(sample[n] for n in names), str(target), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    return model.config, names


def _optimize(raw: Path, target: Path, config: Any) -> dict[str, int]:
    import logging

    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    heads = getattr(config, "num_attention_heads", getattr(config, "n_heads", 0))
    hidden = getattr(config, "hidden_size", getattr(config, "dim", 0))
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False  # slower than Add + LayerNormalization on CPU (module docstring)
    optimized = optimizer.optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden,
                                         optimization_options=options)
    optimized.save_model_to_file(str(target))
    return {k: int(v) for k, v in optimized.get_fused_operator_statistics().items() if v}


def _feed_forward_matmuls(graph: Any) -> list[Any]:
    """Both feed-forward projections: MatMul nodes with a constant weight fed by a layer norm or a GELU."""
    producer = {out: node for node in graph.node for out in node.output}
    weights = {init.name for init in graph.initializer}
    feeders = ("LayerNormalization", "Gelu", "BiasGelu", "FastGelu")
    return [node for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights
            and getattr(producer.get(node.input[0]), "op_type", "") in feeders]


def _smooth(source: Path, target: Path, calibration: list[dict[str, np.ndarray]], input_names: list[str],
            alpha: float = SMOOTH_ALPHA) -> int:
    """SmoothQuant the feed-forward projections of ``source`` into ``target``; returns how many.

    The fp32 result is the same function (``x / s`` times ``diag(s) W``, up to rounding): only the
    int8 model made from it changes.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    nodes = _feed_forward_matmuls(graph)
    if not nodes or not calibration:
        onnx.save(model, str(target))
        return 0
    # Calibration: the per-channel largest |input| of each projection, padding included (it is in
    # the tensor dynamic quantisation scales at run time too).
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None) for n in nodes)
    session = open_session(probe.SerializeToString())
    wanted = [n.input[0] for n in nodes]
    amax: dict[str, np.ndarray] = {}
    for feed in calibration:
        values = session.run(wanted, {n: feed[n] for n in input_names})
        for name, value in zip(wanted, values, strict=True):
            top = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            amax[name] = np.maximum(amax[name], top) if name in amax else top
    inits = {init.name: init for init in graph.initializer}
    for node in nodes:
        weight = numpy_helper.to_array(inits[node.input[1]])  # (in, out)
        scale = (np.maximum(amax[node.input[0]], 1e-5) ** alpha
                 / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1 - alpha)).astype(np.float32)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(weight * scale[:, None], node.input[1]))
        inverse, smoothed = f"{node.name}/smooth_scale", f"{node.input[0]}/smoothed_for/{node.name}"
        graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inverse))
        position = list(graph.node).index(node)
        graph.node.insert(position, helper.make_node("Mul", [node.input[0], inverse], [smoothed],
                                                     name=f"{node.name}/smooth"))
        node.input[0] = smoothed
    onnx.save(model, str(target))
    return len(nodes)


def calibration_texts(profile: Any, n: int | None = None, seed: int = 0) -> list[str]:
    """``n`` texts of the profile's *training* split, seeded: what SmoothQuant measures activations on."""
    from finetune_kit.sentiment import data

    if n is None:
        n = profile.calibration_texts
    train = data.load_splits(profile).train["text"].tolist()
    order = np.random.default_rng(seed).permutation(len(train))[:n]
    return [train[i] for i in order]


def _quantize(source: Path, target: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    outputs = {o.name for o in graph.output}
    head = [node.name for node in graph.node if set(node.output) & outputs]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic advises "pre-processing" on the root logger; not for dynamic
    try:
        # reduce_range: 7-bit weights, so the int8 products cannot saturate on CPUs without VNNI (many Azure
        # SKUs); measured on this machine it also kept more labels equal to fp32 (379 vs 378 of 381)
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=head,
                         # shape inference cannot type the outputs of fused contrib ops; they are float
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)


def saved_max_length(model_dir: Path) -> int | None:
    """The tokens per text a saved model was trained on, from its ``tokenizer_config.json`` (None if it names none)."""
    from finetune_kit.sentiment import train

    path = model_dir / "tokenizer_config.json"
    return train.usable_length(json.loads(path.read_text()).get("model_max_length") if path.exists() else None)


def export_onnx(model_dir: Path | str, output_dir: Path | str, *, quantize: bool = True, optimize: bool = True,
                max_length: int | None = None, opset: int = OPSET, smooth_alpha: float = SMOOTH_ALPHA,
                calibration: list[str] | None = None) -> ExportResult:
    """Write ``model.onnx`` (fp32) and, with ``quantize``, ``model.int8.onnx`` plus tokenizer and manifest.

    ``max_length`` is the truncation the endpoint applies (default: the length the model was fine-tuned
    with, ``model_max_length`` in its saved tokenizer, else ``config.active_profile()``'s).
    ``smooth_alpha`` 0 turns SmoothQuant off;
    ``calibration`` are the texts it measures activations on (default: ``calibration_texts``, 256 of
    the active profile's training split, 32 under ``smoke``).
    """
    from finetune_kit.course.config import active_profile

    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if not (model_dir / "config.json").exists():
        raise FileNotFoundError(f"{model_dir}: not a model directory (no config.json); train or save one first")
    output_dir.mkdir(parents=True, exist_ok=True)
    profile = active_profile()
    max_length = max_length or saved_max_length(model_dir) or profile.max_length
    if quantize and smooth_alpha and calibration is None:
        calibration = calibration_texts(profile)
    return _export(model_dir, output_dir, quantize=quantize, optimize=optimize, max_length=max_length, opset=opset,
                   smooth_alpha=smooth_alpha, calibration=calibration)


@memo.reusable("export_onnx")
def _export(model_dir: Path, output_dir: Path, *, quantize: bool, optimize: bool, max_length: int, opset: int,
            smooth_alpha: float, calibration: list[str] | None) -> ExportResult:
    """``export_onnx`` with every setting decided: what the export depends on, besides the model's files."""
    import onnxruntime
    import torch
    import transformers
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(model_dir).save_pretrained(output_dir)

    files, smoothed = {"fp32": FP32}, 0
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        config, input_names = _export_torch(model_dir, raw, opset)
        fused: dict[str, int] = {}
        if optimize:
            fused = _optimize(raw, output_dir / FP32, config)
        else:
            shutil.copyfile(raw, output_dir / FP32)
        if quantize:
            to_quantize = output_dir / FP32
            if smooth_alpha:
                feeds = encode_batches(Encoder(output_dir, max_length), calibration, batch_size=16)
                to_quantize = Path(tmp) / "smoothed.onnx"
                smoothed = _smooth(output_dir / FP32, to_quantize, feeds, input_names, smooth_alpha)
            _quantize(to_quantize, output_dir / INT8)
            files["int8"] = INT8
    config.save_pretrained(output_dir)
    sizes = {variant: _file_mb(output_dir / name) for variant, name in files.items()}
    manifest = {
        "source_model": str(model_dir.resolve()),
        "model_version": f"{model_dir.name}-{file_sha256(output_dir / FP32)[:10]}",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": files,
        "sizes_mb": sizes,
        "input_names": input_names,
        "max_length": max_length,
        "labels": {str(k): v for k, v in config.id2label.items()},
        "exporter": f"torch.onnx.export (TorchScript, opset {opset})",
        "optimized": optimize,
        "fused_operators": fused,
        "quantization": ("dynamic int8: MatMul and Attention weights per channel, 7-bit range; "
                         f"SmoothQuant alpha {smooth_alpha} on {smoothed} feed-forward projections; "
                         "embeddings, layer norms and classifier head fp32") if quantize else None,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnxruntime": onnxruntime.__version__},
    }
    (output_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(output_dir, files, sizes, fused, manifest)


def read_export(output_dir: Path, model_dir: Path) -> ExportResult:
    """An export folder written before, as ``export_onnx`` returns it, its manifest naming ``model_dir``."""
    manifest = json.loads((output_dir / MANIFEST).read_text())
    manifest["source_model"] = str(model_dir.resolve())
    (output_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    sizes = {variant: _file_mb(output_dir / name) for variant, name in manifest["files"].items()}
    return ExportResult(output_dir, manifest["files"], sizes, manifest["fused_operators"], manifest)


# --- parity ---------------------------------------------------------------------------------------


def labelled_texts(profile: Any, data_path: Path | str | None = None) -> tuple[list[str], np.ndarray, str]:
    """Texts and labels to check against: the whole CSV at ``data_path``, else the profile's test split."""
    from finetune_kit.sentiment import data

    if data_path is not None:
        df = data.read_reviews(data_path)
        where = f"{data_path} ({len(df)} rows)"
    else:
        df = data.load_splits(profile).test
        where = f"the {profile.name} profile's test split ({len(df)} rows)"
    return df["text"].tolist(), df["label"].to_numpy(dtype=int), where


@dataclass
class ParityReport:
    """How far each ONNX model's predictions are from PyTorch's on the same texts."""

    n: int
    data: str
    threshold: float
    accuracy: dict[str, float]  # engine -> accuracy (ONNX: batches of 32); "pytorch" included
    agreement: dict[str, float]  # ONNX variant -> share of labels equal to PyTorch's, the worse of:
    agreement_by_batch: dict[str, dict[str, float]]  # variant -> {"batch 1": …, "batch 32": …}
    max_abs_logit_diff: dict[str, float]

    @property
    def passed(self) -> bool:
        return all(share >= self.threshold for share in self.agreement.values())

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}

    def summary(self) -> str:
        lines = [f"Parity on {self.data}: same label as PyTorch on at least {self.threshold:.1%} of texts?"]
        lines.append(f"  {'pytorch':<8} accuracy {self.accuracy['pytorch']:.2%}")
        for variant, share in self.agreement.items():
            verdict = "ok" if share >= self.threshold else "BELOW THRESHOLD"
            by_batch = ", ".join(f"{k} {v:.2%}" for k, v in self.agreement_by_batch[variant].items())
            lines.append(f"  {variant:<8} accuracy {self.accuracy[variant]:.2%}   agreement {share:.2%} ({verdict}; "
                         f"{by_batch}), max |logit diff| {self.max_abs_logit_diff[variant]:.4f}")
        return "\n".join(lines)


def torch_logits(model: Any, feeds: list[dict[str, np.ndarray]], input_names: list[str]) -> np.ndarray:
    """PyTorch logits for already-encoded batches (the arrays ONNX Runtime gets, shared without a copy)."""
    import torch

    with torch.inference_mode():
        return np.concatenate([model(**{n: torch.from_numpy(f[n]) for n in input_names}).logits.numpy()
                               for f in feeds])


def encode_batches(encoder: Encoder, texts: list[str], batch_size: int = 32) -> list[dict[str, np.ndarray]]:
    return [encoder(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]


def record_parity(export_dir: Path | str, report: ParityReport) -> None:
    """Keep the parity result in ``export.json``, so the served model carries its own evidence."""
    path = Path(export_dir) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["parity"] = report.to_dict()
    path.write_text(json.dumps(manifest, indent=2) + "\n")


# --- which model to deploy ------------------------------------------------------------------------


def model_to_deploy(profile: Any) -> tuple[Path, str]:
    """The fine-tuned model of the profile, and a sentence saying where it came from.

    Part 2 (or Part 3's evaluation) leaves it in ``artifact_dir(profile)/sentiment-model``. Under
    ``smoke`` nothing heavy may run, so when it is missing we save the pre-trained encoder with its
    new, untrained head instead: every step below works the same, only the accuracy means nothing.
    Under other profiles a missing model is trained (``train.ensure_model``).
    """
    from finetune_kit.course.config import artifact_dir
    from finetune_kit.sentiment import models, train

    trained = artifact_dir(profile) / "sentiment-model"
    if (trained / "metrics.json").exists() and (trained / "config.json").exists():
        return trained, f"the model fine-tuned under the {profile.name} profile ({trained})"
    if profile.stand_in_model:
        fresh = artifact_dir(profile) / "fresh-model"
        if not (fresh / "config.json").exists():
            models.load_classifier(profile).save_pretrained(fresh)
            models.load_tokenizer(profile).save_pretrained(fresh)
        return fresh, (f"no fine-tuned model yet, so (smoke profile) the pre-trained encoder with an untrained "
                       f"head, saved to {fresh}: accuracies below are near chance, the steps are real")
    return train.ensure_model(profile), f"the model fine-tuned under the {profile.name} profile"
