"""PyTorch fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8, measured side by side in one run.

What makes the comparison fair:

- **the same inputs**: every engine gets the identical token-id arrays, tokenized once beforehand
  (tokenizing is the same cost for all three and is not what we compare);
- **realistic lengths**: batch-1 inputs are the evaluation texts themselves (the test split), not
  one fixed sentence, because the speed-up depends strongly on length (see ``speedup_by_length``);
- **the same threads**: ``torch.set_num_threads`` and ONNX Runtime's ``intra_op_num_threads`` get
  the same number (default 1: a CPU endpoint runs one request per worker thread and scales with
  workers);
- **warm-up** before timing, and **interleaving**: engines take turns in chunks of 20 requests, so a
  burst of load from another process on a shared machine hits all of them, not just one; the load
  average before and after is recorded with the results.

Latency is the model call only, at batch 1 without padding; throughput is texts per second at
``batch_size`` with each batch padded to its longest text. Accuracy comes from the batched pass.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from finetune_kit.deploy.export import torch_logits
from finetune_kit.deploy.serve import Encoder, open_session, read_manifest

PYTORCH, ORT_FP32, ORT_INT8 = "PyTorch fp32", "ONNX Runtime fp32", "ONNX Runtime int8"
#: The issue's target for ONNX Runtime int8 against PyTorch fp32.
TARGET_SPEEDUP, TARGET_MAX_ACCURACY_DROP = 6.0, 0.005
#: Token-length buckets for the speed-up breakdown: (upper bound inclusive, name).
LENGTH_BUCKETS = ((16, "short (<=16 tokens)"), (64, "medium (17-64)"), (10**6, "long (>64)"))
CHUNK = 20


@dataclass
class EngineResult:
    engine: str
    p50_ms: float
    p95_ms: float
    throughput: float  # texts per second at the report's batch size
    size_mb: float
    accuracy: float
    agreement: float  # share of texts with the same label as PyTorch fp32
    speedup: float = 1.0  # PyTorch p50 / this engine's p50, at batch 1
    throughput_speedup: float = 1.0
    speedup_by_length: dict[str, float] = field(default_factory=dict)


def fmt_speedup(value: float) -> str:
    """``6.5x``: how speed-ups are written everywhere in the kit."""
    return f"{value:.1f}x"


@dataclass
class BenchReport:
    engines: list[EngineResult]
    settings: dict[str, Any]

    def engine(self, name: str) -> EngineResult:
        return next(e for e in self.engines if e.engine == name)

    @property
    def target(self) -> dict[str, Any]:
        base, int8 = self.engine(PYTORCH), self.engine(ORT_INT8)
        drop = base.accuracy - int8.accuracy
        met_speed, met_acc = int8.speedup >= TARGET_SPEEDUP, drop <= TARGET_MAX_ACCURACY_DROP + 1e-12
        return {"speedup": int8.speedup, "speedup_target": TARGET_SPEEDUP, "speedup_met": met_speed,
                "accuracy_drop_points": round(100 * drop, 2), "max_drop_points": 100 * TARGET_MAX_ACCURACY_DROP,
                "accuracy_met": met_acc, "met": met_speed and met_acc, "explanation": self._explain(met_speed, met_acc)}

    def _explain(self, met_speed: bool, met_acc: bool) -> str:
        int8 = self.engine(ORT_INT8)
        parts = []
        if not met_speed:
            by_length = ", ".join(f"{fmt_speedup(v)} on {k}" for k, v in int8.speedup_by_length.items())
            parts.append(
                f"int8 is {fmt_speedup(int8.speedup)} faster at the median, below {fmt_speedup(TARGET_SPEEDUP)} "
                f"({by_length}). PyTorch's fixed per-call overhead dominates short texts, where ONNX Runtime "
                "gains most; longer texts are bound by matrix products, where int8 can be at most about 4x "
                "faster than fp32 on a CPU, so the median review length "
                f"({self.settings['tokens']['median']:.0f} tokens) decides the result.")
        if not met_acc:
            parts.append(f"int8 loses {self.target_drop_points():.2f} accuracy points; with an untrained head "
                         "(margins near zero) any rounding flips labels, so judge this on a fine-tuned model.")
        load = self.settings["machine"]["load_average"]
        cores = self.settings["machine"]["cpu_count"] or 1
        if max(load) > 0.5 * cores:
            parts.append(f"The machine was busy (load average {max(load):.1f} on {cores} cores): percentiles are "
                         "noisy; rerun on an idle machine for final numbers.")
        return " ".join(parts) or "Target met."

    def target_drop_points(self) -> float:
        return 100 * (self.engine(PYTORCH).accuracy - self.engine(ORT_INT8).accuracy)

    def table(self) -> str:
        s = self.settings
        head = (f"| engine | p50 ms (b=1) | p95 ms (b=1) | texts/s (b={s['batch_size']}) | size MB | accuracy "
                f"| same label as PyTorch | speed-up b=1 | speed-up b={s['batch_size']} |")
        rows = [head, "|" + "---|" * 9]
        for e in self.engines:
            rows.append(f"| {e.engine} | {e.p50_ms:.2f} | {e.p95_ms:.2f} | {e.throughput:.1f} | {e.size_mb:.1f} "
                        f"| {e.accuracy:.2%} | {e.agreement:.2%} | {fmt_speedup(e.speedup)} "
                        f"| {fmt_speedup(e.throughput_speedup)} |")
        t = self.target
        verdict = "MET" if t["met"] else "MISSED"
        rows.append("")
        rows.append(f"{s['iterations']} batch-1 requests per engine, {s['threads']} thread(s) each, texts from "
                    f"{s['data']}; tokens per text: median {s['tokens']['median']:.0f}, "
                    f"mean {s['tokens']['mean']:.0f}, max {s['tokens']['max']}.")
        rows.append(f"Target (int8 >= {fmt_speedup(TARGET_SPEEDUP)} faster at batch 1, <= 0.5 point accuracy "
                    f"loss): {verdict}. {t['explanation']}")
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"engines": [asdict(e) | {"speedup_text": fmt_speedup(e.speedup)} for e in self.engines],
                "settings": self.settings, "target": self.target}

    def plot(self) -> Any:
        """Two bar charts: batch-1 median latency (p95 whiskers) and batch throughput, speed-ups on the bars."""
        from finetune_kit.course import plots

        plt = plots._plt()
        fig, (ax_lat, ax_thr) = plt.subplots(1, 2, figsize=(11, 3.8))
        names = [e.engine.replace(" Runtime", "\nRuntime") for e in self.engines]
        colors = ["#8c8c8c", "#4c78a8", "#f58518"]
        p50 = [e.p50_ms for e in self.engines]
        whisker = [[0] * len(p50), [e.p95_ms - e.p50_ms for e in self.engines]]
        bars = ax_lat.bar(names, p50, yerr=whisker, capsize=4, color=colors)
        ax_lat.bar_label(bars, [fmt_speedup(e.speedup) for e in self.engines], padding=3)
        ax_lat.set(ylabel="milliseconds", title="Latency at batch 1 (median; whisker to p95)")
        bars = ax_thr.bar(names, [e.throughput for e in self.engines], color=colors)
        ax_thr.bar_label(bars, [fmt_speedup(e.throughput_speedup) for e in self.engines], padding=3)
        ax_thr.set(ylabel="texts per second", title=f"Throughput at batch {self.settings['batch_size']}")
        for ax in (ax_lat, ax_thr):
            ax.grid(axis="y", alpha=0.3)
            ax.margins(y=0.15)
        fig.suptitle(f"{self.settings['threads']} thread(s) per engine, same inputs", fontsize=9)
        fig.tight_layout()
        plt.close(fig)  # shown once, as the value of a notebook cell, not again by the inline backend
        return fig

    def save(self, output_dir: Path | str) -> dict[str, Path]:
        """``bench.json``, ``bench.md`` (the table) and ``bench.png`` (the bar chart) in ``output_dir``."""
        from finetune_kit.course import plots

        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "bench.json", "table": out / "bench.md", "chart": out / "bench.png"}
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        paths["table"].write_text(self.table() + "\n")
        plots.save(self.plot(), paths["chart"])
        return paths


# --- measuring ------------------------------------------------------------------------------------

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


def _runners(model_dir: Path, export_dir: Path, manifest: dict[str, Any], threads: int) -> dict[str, Runner]:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(threads)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    names = manifest["input_names"]

    def pytorch(feed: dict[str, np.ndarray]) -> np.ndarray:
        return torch_logits(model, [feed], names)

    def onnx(session: Any) -> Runner:
        return lambda feed: session.run(None, {n: feed[n] for n in names})[0]

    runners = {PYTORCH: pytorch}
    labels = {"fp32": ORT_FP32, "int8": ORT_INT8}
    for variant in ("fp32", "int8"):
        if variant not in manifest["files"]:
            raise FileNotFoundError(f"{export_dir}: no {variant} model; export with --quantize int8")
        runners[labels[variant]] = onnx(open_session(export_dir / manifest["files"][variant], threads=threads))
    return runners


def _interleaved(runners: dict[str, Runner], feeds: list[dict[str, np.ndarray]], warmup: int,
                 chunk: int = CHUNK) -> dict[str, list[float]]:
    """Milliseconds per call; engines take turns by chunk, and who goes first rotates."""
    for run in runners.values():
        for feed in feeds[:max(1, warmup)]:
            run(feed)
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for turn, start in enumerate(range(0, len(feeds), chunk)):
        block = feeds[start:start + chunk]
        for name in names[turn % len(names):] + names[:turn % len(names)]:
            run = runners[name]
            run(block[0])  # re-warm caches after the other engines ran
            for feed in block:
                t0 = time.perf_counter()
                run(feed)
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def _size_mb(paths: list[Path]) -> float:
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 1e6, 1)


def _machine(load_before: tuple[float, ...]) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else (0.0,)
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "load_average": [round(load_before[0], 2),
                                                                       round(load_after[0], 2)]}


def bench_inference(model_dir: Path | str, export_dir: Path | str, texts: list[str], labels: np.ndarray, *,
                    threads: int = 1, iterations: int = 400, warmup: int = 5, batch_size: int = 32,
                    throughput_passes: int = 2, data: str = "the given texts", seed: int = 0,
                    max_texts: int | None = None) -> BenchReport:
    """Time the three engines on ``texts`` (the first ``max_texts`` of them, if given) and score them
    on ``labels``; see the module docstring."""
    import onnxruntime
    import torch

    model_dir, export_dir = Path(model_dir), Path(export_dir)
    if not len(texts):
        raise ValueError(f"benchmark needs texts; {data} has none")
    if max_texts is not None and len(texts) > max_texts:
        texts, labels = list(texts)[:max_texts], np.asarray(labels)[:max_texts]
        data = f"{data}, the first {max_texts}"
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else (0.0,)
    manifest = read_manifest(export_dir)
    encoder = Encoder(export_dir, int(manifest["max_length"]))
    torch_threads = torch.get_num_threads()
    try:
        runners = _runners(model_dir, export_dir, manifest, threads)
        engines, lengths = _measure(runners, encoder, texts, labels, iterations=iterations, warmup=warmup,
                                    batch_size=batch_size, throughput_passes=throughput_passes, seed=seed,
                                    sizes=_sizes(model_dir, export_dir, manifest))
    finally:
        torch.set_num_threads(torch_threads)  # a notebook goes on with its own setting
    settings = {
        "threads": threads, "iterations": iterations, "warmup": warmup, "batch_size": batch_size,
        "throughput_passes": max(1, throughput_passes), "n_texts": len(texts), "data": data,
        "tokens": {"median": float(np.median(lengths)), "mean": round(float(lengths.mean()), 1),
                   "max": int(lengths.max()), "max_length": int(manifest["max_length"])},
        "latency_measures": "model call only, batch 1, no padding; tokenization excluded (same for all engines)",
        "machine": _machine(load_before),
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "model_dir": str(model_dir), "export_dir": str(export_dir),
    }
    return BenchReport(engines, settings)


def _sizes(model_dir: Path, export_dir: Path, manifest: dict[str, Any]) -> dict[str, float]:
    return {PYTORCH: _size_mb([model_dir / "model.safetensors", model_dir / "pytorch_model.bin"]),
            ORT_FP32: _size_mb([export_dir / manifest["files"]["fp32"]]),
            ORT_INT8: _size_mb([export_dir / manifest["files"]["int8"]])}


def _measure(runners: dict[str, Runner], encoder: Encoder, texts: list[str], labels: np.ndarray, *,
             iterations: int, warmup: int, batch_size: int, throughput_passes: int, seed: int,
             sizes: dict[str, float]) -> tuple[list[EngineResult], np.ndarray]:
    """Latency (interleaved, batch 1), throughput and accuracy (batched) of every runner."""
    rng = np.random.default_rng(seed)
    picks = rng.permutation(np.resize(np.arange(len(texts)), max(iterations, 1)))[:iterations]
    feeds = [encoder([texts[i]]) for i in picks]
    lengths = np.array([f["input_ids"].shape[1] for f in feeds])
    latency = _interleaved(runners, feeds, warmup)

    order = rng.permutation(len(texts))
    batches = [encoder([texts[i] for i in order[s:s + batch_size]]) for s in range(0, len(texts), batch_size)]
    seconds = {name: 0.0 for name in runners}
    logits: dict[str, np.ndarray] = {}
    names = list(runners)
    for p in range(max(1, throughput_passes)):
        for name in names[p % len(names):] + names[:p % len(names)]:
            t0 = time.perf_counter()
            out = [runners[name](b) for b in batches]
            seconds[name] += time.perf_counter() - t0
            logits.setdefault(name, np.concatenate(out))

    labels = np.asarray(labels)[order]
    reference = logits[PYTORCH].argmax(-1)
    engines = []
    for name in runners:
        ms = np.array(latency[name])
        engines.append(EngineResult(
            engine=name, p50_ms=round(float(np.percentile(ms, 50)), 3), p95_ms=round(float(np.percentile(ms, 95)), 3),
            throughput=round(len(texts) * max(1, throughput_passes) / seconds[name], 1), size_mb=sizes[name],
            accuracy=float((logits[name].argmax(-1) == labels).mean()),
            agreement=float((logits[name].argmax(-1) == reference).mean())))
    base = engines[0]
    base_ms = np.array(latency[PYTORCH])
    for e in engines:
        e.speedup = round(base.p50_ms / e.p50_ms, 2)
        e.throughput_speedup = round(e.throughput / base.throughput, 2)
        ms = np.array(latency[e.engine])
        low = 0
        for high, bucket in LENGTH_BUCKETS:
            mask = (lengths > low) & (lengths <= high)
            if mask.any():
                e.speedup_by_length[bucket] = round(float(np.median(base_ms[mask]) / np.median(ms[mask])), 2)
            low = high
    return engines, lengths
