"""Training throughput: the kit's recipe vs the original recipe, same model, same data, one run.

Two modes.

``--device cpu`` (the default): accuracy and speed. The original recipe (the assignment's worked
solution) does not show its tokenizer call; a common way to follow it pads every review to the
tokenizer's ``max_length`` (512 tokens), with lr 2e-5. The course's recipe (the functions students write
in Part 2) pads each batch to its longest review and truncates at the profile's ``max_length``. Both
train one epoch on the same training reviews and are scored on the same test split.

    python benchmarks/train_throughput.py [--train-samples 512] [--profile offline]

Prints samples/s and test accuracy of each and the ratio; writes the figures as JSON (``--output``).

``--device cuda``: speed only, on a GPU. A DistilBERT-base-shaped model (``DistilBertConfig()``, random
weights, saved with the kit's offline 30,522-token uncased WordPiece tokenizer into a temporary folder:
nothing comes from the Hub) trains ``--steps`` steps (default 300) at batch 16 on synthetic reviews with
IMDB's token lengths, in three settings, in this order, in one process:

1. **kit**: Part 2's reference answers as the kit runs them (``ref.tokenize_batch``,
   ``ref.make_training_args``, ``ref.build_trainer``) with what ``profile.hardware`` picks for the GPU:
   bf16 (fp16 on V100/T4), each batch padded to a multiple of 64, grouped by length, dataloader workers;
2. **seed recipe fp32**: every review padded to 512 (``padding="max_length"``), the Trainer's default
   collator, random sampling, fp32;
3. **seed recipe bf16**: the same in bf16 (fp16 where the GPU has no bf16; the table says which).

    python benchmarks/train_throughput.py --device cuda [--steps 300] [--warmup-steps 20] [--json FILE]

Each setting's first ``--warmup-steps`` steps are timed apart from the rest: a GPU selects kernels the
first time it sees a shape (and the first setting also pays for CUDA's start-up), so the warm-up rate
shows that first-run penalty and the rest is the steady rate. Prints samples/s (steady, warm-up, whole
run), peak GPU memory (``torch.cuda.max_memory_allocated``, reset before each setting) and the ratio to the
seed recipe in fp32; writes the figures as JSON. Target on an H200-class GPU: the kit at least 700 samples/s
at batch 16, and at least the seed recipe in bf16 (``../shared/README.md`` has the figures measured there).
``--model-shape tiny`` (2 layers, 64 hidden) runs the same code in seconds; the tests call
``compare_settings`` with it on a CPU.

Synthetic review lengths (``imdb_like_lengths``), in WordPiece tokens with [CLS] and [SEP]: a two-piece
log-normal with median 230 whose log-space standard deviation is 0.52 below the median and 0.73 above it
(IMDB's long right tail), clipped to 16..3,000. That gives mean 310, quartiles 162 / 377, 90th percentile
586, and 13.6 % of reviews over 512 tokens (truncated there). The same tokenizer on 999 real IMDB reviews
(``../shared/real_reviews``) measures median 232, mean 313, quartiles 171 / 387, 90th percentile 588, 14.4 %
over 512. Each review is a string of vocabulary words that are one token each, so the drawn length is the
tokenized length; the words themselves do not matter to a speed test.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# --- --device cpu: accuracy and speed on the kit's reviews ----------------------------------------


def run_original(profile, splits, out: Path) -> dict:
    """A common reading of the original recipe: pad every review to max_length, default collator, lr 2e-5."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from finetune_kit.sentiment import metrics, models

    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)

    def encode(df):
        ds = Dataset.from_pandas(df[["text", "label"]].rename(columns={"label": "labels"}), preserve_index=False)
        return ds.map(lambda b: tokenizer(b["text"], padding="max_length", truncation=True), batched=True,
                      remove_columns=["text"])

    args = TrainingArguments(output_dir=str(out), eval_strategy="no", learning_rate=2e-5,
                             per_device_train_batch_size=16, num_train_epochs=1, weight_decay=0.01,
                             save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=_use_cpu(), seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=encode(splits.train), processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    pred = trainer.predict(encode(splits.test))
    acc = metrics.classification_metrics(pred.label_ids, np.argmax(pred.predictions, -1))["accuracy"]
    return {"seconds": seconds, "samples_per_second": len(splits.train) / seconds, "test_accuracy": acc,
            "padding": f"every review to {tokenizer.model_max_length} tokens"}


def run_kit(profile, splits, out: Path) -> dict:
    """The course's recipe (Part 2's functions, from the reference answers): truncate at the profile's
    ``max_length``, pad each batch to its longest review, the profile's learning rate."""
    from transformers import Trainer, TrainingArguments

    from finetune_kit.course import reference
    from finetune_kit.sentiment import metrics, models

    ref = reference.load("sentiment")
    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)
    args = TrainingArguments(output_dir=str(out), eval_strategy="no", learning_rate=profile.learning_rate,
                             per_device_train_batch_size=16, num_train_epochs=1, weight_decay=0.01,
                             save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=_use_cpu(), seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=ref.to_dataset(splits.train, tokenizer, profile.max_length),
                      processing_class=tokenizer, data_collator=ref.make_collator(tokenizer))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    pred = trainer.predict(ref.to_dataset(splits.test, tokenizer, profile.max_length))
    acc = metrics.classification_metrics(pred.label_ids, np.argmax(pred.predictions, -1))["accuracy"]
    return {"seconds": seconds, "samples_per_second": len(splits.train) / seconds, "test_accuracy": acc,
            "padding": f"per batch, truncated at {profile.max_length} tokens"}


def _use_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


# --- --device cuda: speed only, DistilBERT-base shape, IMDB-shaped lengths ---------------------------

#: ``DistilBertConfig`` overrides per ``--model-shape``; "distilbert-base" is the default config
#: (6 layers, 768 hidden, 12 heads: distilbert-base-uncased's shape, 67 M parameters).
MODEL_SHAPES: dict[str, dict] = {
    "distilbert-base": {},
    "tiny": {"n_layers": 2, "dim": 64, "hidden_dim": 256, "n_heads": 2},
}

#: The two-piece log-normal of IMDB review lengths (module docstring): median, log-space spread below and
#: above the median, and the shortest and longest review, all in WordPiece tokens with [CLS] and [SEP].
IMDB_MEDIAN_TOKENS = 230
IMDB_LOG_SD_BELOW = 0.52
IMDB_LOG_SD_ABOVE = 0.73
IMDB_TOKEN_RANGE = (16, 3000)

#: The seed recipe's learning rate (the kit's comes from the profile: 2e-5 too under ``azure``).
SEED_LEARNING_RATE = 2e-5
#: The issue's target for the kit on an H200-class GPU at batch 16, in samples/s.
KIT_TARGET_SAMPLES_PER_SECOND = 700.0


def _arg(default, help: str, **argparse_kwargs):
    """A dataclass field whose metadata becomes its command-line option (``--help`` text included)."""
    return field(default=default, metadata={"help": help, **argparse_kwargs})


@dataclass
class GpuBenchArgs:
    """What ``--device cuda`` measures; each field is also a command-line option (``--warmup-steps``)."""

    steps: int = _arg(300, "training steps per setting (the Trainer's max_steps), warm-up included", type=int)
    warmup_steps: int = _arg(20, "first steps of each setting timed apart from the rest (first-run penalty)",
                             type=int)
    batch_size: int = _arg(16, "reviews per training step", type=int)
    max_length: int = _arg(512, "tokens a review is truncated at (and the seed recipe pads to)", type=int)
    model_shape: str = _arg("distilbert-base", "model built from a config, with random weights",
                            choices=tuple(MODEL_SHAPES))
    json: Path = _arg(Path("outputs/benchmarks/train_throughput_cuda.json"), "where the figures are written",
                      type=Path)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"--steps and --batch-size must be at least 1 (got {self.steps}, {self.batch_size})")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"--warmup-steps must be between 0 and --steps - 1 = {self.steps - 1} "
                             f"(got {self.warmup_steps})")
        if not 8 <= self.max_length <= 512:
            raise ValueError(f"--max-length must be between 8 and 512, DistilBERT's positions (got {self.max_length})")
        if self.model_shape not in MODEL_SHAPES:
            raise ValueError(f"--model-shape must be one of {', '.join(MODEL_SHAPES)} (got {self.model_shape!r})")


@dataclass
class SettingResult:
    """One setting's run: its speed, its memory, and what the model was fed at each step."""

    label: str
    precision: str  # "fp32", "bf16" or "fp16"
    padding: str
    sampling: str  # the Trainer's train_sampling_strategy: "group_by_length" or "random"
    pad_to_multiple_of: int | None
    samples_per_second: float  # the steps after the warm-up: the steady rate
    warmup_samples_per_second: float | None  # the first warmup_steps steps (None: no warm-up)
    whole_run_samples_per_second: float
    peak_memory_gib: float | None  # None on a CPU
    batch_lengths: list[int]  # the padded sequence length of each step's batch, in order
    batch_real_lengths: list[list[int]] = field(repr=False)  # each review's unpadded length, per batch

    @property
    def padding_share(self) -> float:
        """The share of the token positions computed that were padding."""
        real = sum(sum(batch) for batch in self.batch_real_lengths)
        padded = sum(length * len(batch) for length, batch in zip(self.batch_lengths, self.batch_real_lengths,
                                                                   strict=True))
        return 1 - real / padded

    @property
    def mean_length_spread(self) -> float:
        """Mean over batches of (longest - shortest review): small when batches are grouped by length."""
        return float(np.mean([max(batch) - min(batch) for batch in self.batch_real_lengths]))

    def summary(self) -> dict:
        figures = dataclasses.asdict(self)
        del figures["batch_real_lengths"]  # 4,800 numbers per setting: the summaries below say what matters
        return {**figures, "padding_share": round(self.padding_share, 4),
                "mean_length_spread": round(self.mean_length_spread, 1),
                "distinct_batch_lengths": len(set(self.batch_lengths))}


@dataclass
class GpuReport:
    """The three settings' results, in the order they ran, and what they ran on."""

    device: str  # the GPU's name, or "cpu"
    bench: GpuBenchArgs
    lengths: dict  # the synthetic reviews' length statistics
    settings: dict[str, SettingResult]

    def ratio(self, key: str) -> float:
        """A setting's steady samples/s over the seed recipe's in fp32."""
        return self.settings[key].samples_per_second / self.settings["seed_fp32"].samples_per_second

    @property
    def target(self) -> dict:
        kit, seed_mixed = self.settings["kit"], self.settings["seed_mixed"]
        return {"kit_samples_per_second": round(kit.samples_per_second, 1),
                "kit_min_samples_per_second": KIT_TARGET_SAMPLES_PER_SECOND,
                "seed_mixed_samples_per_second": round(seed_mixed.samples_per_second, 1),
                "met": (kit.samples_per_second >= KIT_TARGET_SAMPLES_PER_SECOND
                        and kit.samples_per_second >= seed_mixed.samples_per_second),
                "applies_to": "an H200-class GPU, batch 16, the DistilBERT-base shape, max_length 512",
                "applies": (self.device != "cpu" and self.bench.batch_size == 16 and self.bench.max_length == 512
                            and self.bench.model_shape == "distilbert-base")}

    def table(self) -> str:
        def fmt(value: float | None, spec: str) -> str:
            return "-" if value is None else format(value, spec)

        lines = [f"{'setting':<22} {'samples/s':>9} {'warm-up':>8} {'whole run':>9} {'peak GiB':>8} "
                 f"{'vs seed fp32':>12} {'padding share':>13}  how"]
        for key, r in self.settings.items():
            lines.append(
                f"{r.label:<22} {r.samples_per_second:>9.1f} {fmt(r.warmup_samples_per_second, '.1f'):>8} "
                f"{r.whole_run_samples_per_second:>9.1f} {fmt(r.peak_memory_gib, '.2f'):>8} "
                f"{self.ratio(key):>11.2f}x {r.padding_share:>13.0%}  {r.precision}, {r.padding}, {r.sampling}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"device": self.device, "settings_order": list(self.settings),
                "bench": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self.bench).items()},
                "lengths": self.lengths,
                "settings": {key: r.summary() for key, r in self.settings.items()},
                "ratio_vs_seed_fp32": {key: round(self.ratio(key), 3) for key in self.settings},
                "target": self.target}


def imdb_like_lengths(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` review lengths in WordPiece tokens ([CLS] and [SEP] included), shaped like IMDB's (module docstring)."""
    z = rng.standard_normal(n)
    log_sd = np.where(z < 0, IMDB_LOG_SD_BELOW, IMDB_LOG_SD_ABOVE)
    return np.clip(np.rint(IMDB_MEDIAN_TOKENS * np.exp(z * log_sd)), *IMDB_TOKEN_RANGE).astype(int)


def single_token_words(tokenizer) -> np.ndarray:
    """Lower-case vocabulary words the tokenizer keeps as one token each (no ``##`` pieces, no specials)."""
    candidates = sorted(w for w in tokenizer.get_vocab() if len(w) > 1 and w.isascii() and w.isalpha() and w.islower())
    ids = tokenizer(candidates, add_special_tokens=False)["input_ids"]
    return np.array([word for word, word_ids in zip(candidates, ids, strict=True) if len(word_ids) == 1])


def synthetic_reviews(tokenizer, n: int, seed: int = 42):
    """A frame of ``n`` reviews (``text``, ``label``) whose tokenized lengths follow ``imdb_like_lengths``."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = single_token_words(tokenizer)
    lengths = imdb_like_lengths(n, rng)
    texts = [" ".join(rng.choice(words, size=length - 2)) for length in lengths]  # [CLS] and [SEP] are the 2
    return pd.DataFrame({"text": texts, "label": rng.integers(0, 2, n)})


def length_summary(reviews, max_length: int) -> dict:
    lengths = np.array([len(text.split()) + 2 for text in reviews["text"]])
    low, high = IMDB_TOKEN_RANGE
    return {"distribution": f"two-piece log-normal, median {IMDB_MEDIAN_TOKENS}, log sd {IMDB_LOG_SD_BELOW} below / "
                            f"{IMDB_LOG_SD_ABOVE} above, clipped to {low}..{high} tokens",
            "reviews": len(lengths), "median": float(np.median(lengths)), "mean": round(float(lengths.mean()), 1),
            "share_truncated": round(float((lengths > max_length).mean()), 4),
            "mean_after_truncation": round(float(np.minimum(lengths, max_length).mean()), 1)}


def build_model_dir(shape: str, path: Path) -> Path:
    """A standard model folder (``from_pretrained`` loads it): a DistilBERT classifier built from a config with
    random weights, and the kit's offline uncased WordPiece tokenizer (distilbert-base-uncased's 30,522-token
    vocabulary), so nothing is downloaded."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from finetune_kit.course.config import PROFILES
    from finetune_kit.sentiment import models

    labels = models.LABELS
    config = DistilBertConfig(**MODEL_SHAPES[shape], num_labels=len(labels), id2label=labels,
                              label2id={v: k for k, v in labels.items()})
    torch.manual_seed(0)
    DistilBertForSequenceClassification(config).save_pretrained(path)
    models.load_tokenizer(PROFILES["offline"]).save_pretrained(path)
    return path


class _StepClock:
    """Wall-clock marks at the start of training, after the warm-up steps and after the last step.

    On a GPU each mark waits for the queued work to finish (``torch.cuda.synchronize``); only these three
    marks synchronise, so the steps in between run as they would without the clock.
    """

    def __init__(self, warmup_steps: int, device: str):
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                clock.start = clock.now()
                clock.after_warmup = clock.start if warmup_steps == 0 else None

            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == warmup_steps:
                    clock.after_warmup = clock.now()
                if state.global_step == args.max_steps:
                    clock.end = clock.now()

        self.device = device
        self.callback = Callback()
        self.start = self.after_warmup = self.end = None

    def now(self) -> float:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()


class _BatchRecorder:
    """What the model is fed at each step, read by a forward pre-hook: padded length and real lengths."""

    def __init__(self, model):
        self.padded: list[int] = []
        self._real = []  # tensors left on the device: reading them now would synchronise every step
        self._handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs) -> None:
        mask = kwargs["attention_mask"]
        self.padded.append(int(mask.shape[1]))
        self._real.append(mask.sum(-1))

    def close(self) -> list[list[int]]:
        self._handle.remove()
        return [real.tolist() for real in self._real]


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _timed_train(trainer, bench: GpuBenchArgs, **description) -> SettingResult:
    """Train ``trainer`` (its max_steps is ``bench.steps``) and time it: warm-up steps, the rest, the whole run."""
    import torch
    from transformers import PrinterCallback

    device = _device()
    trainer.remove_callback(PrinterCallback)  # no per-epoch log lines between the setting lines and the table
    clock = _StepClock(bench.warmup_steps, device)
    trainer.add_callback(clock.callback)
    recorder = _BatchRecorder(trainer.model)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()  # the model is already on the GPU: its weights count
    trainer.train()
    real_lengths = recorder.close()
    timed_steps = bench.steps - bench.warmup_steps
    per_step = bench.batch_size
    return SettingResult(
        **description,
        sampling=str(trainer.args.train_sampling_strategy),
        samples_per_second=timed_steps * per_step / (clock.end - clock.after_warmup),
        warmup_samples_per_second=(bench.warmup_steps * per_step / (clock.after_warmup - clock.start)
                                   if bench.warmup_steps else None),
        whole_run_samples_per_second=bench.steps * per_step / (clock.end - clock.start),
        peak_memory_gib=torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
        batch_lengths=recorder.padded,
        batch_real_lengths=real_lengths,
    )


def time_kit(model_dir: Path, reviews, bench: GpuBenchArgs, output_dir: Path) -> SettingResult:
    """Setting 1, the kit: Part 2's reference answers, with what ``profile.hardware`` picks for this machine
    (on a GPU: bf16 or fp16, padding to a multiple of 64, dataloader workers; on a CPU: bf16 where it is native,
    else fp32, exact padding)."""
    from transformers import EarlyStoppingCallback
    from transformers.trainer_utils import IntervalStrategy, SaveStrategy

    from finetune_kit.course import reference
    from finetune_kit.course.config import PROFILES
    from finetune_kit.sentiment import models

    ref = reference.load("sentiment")
    # The azure profile (the full recipe on a GPU) pointed at the local folder: nothing from the Hub, no tracking.
    profile = dataclasses.replace(PROFILES["azure"], model=str(model_dir), dataset="synthetic IMDB-length reviews",
                                  max_length=bench.max_length, batch_size=bench.batch_size, needs_internet=False,
                                  tracking=())
    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)
    train_ds = ref.to_dataset(reviews, tokenizer, profile.max_length)  # ref.tokenize_batch on every review
    args = ref.make_training_args(profile, output_dir)
    # Time training steps only: the kit evaluates and saves a checkpoint at each epoch's end (the steps here make
    # one epoch) to keep the best epoch, time that is not training. With evaluation off, EarlyStoppingCallback
    # has nothing to judge and refuses to start (it asserts an eval strategy), so it goes too.
    args.eval_strategy = IntervalStrategy.NO
    args.save_strategy = SaveStrategy.NO
    args.load_best_model_at_end = False
    args.max_steps = bench.steps
    args.disable_tqdm = True  # one line per setting, then the table
    pad_multiple = profile.hardware.pad_to_multiple_of
    trainer = ref.build_trainer(model, tokenizer, train_ds, None, args, pad_to_multiple_of=pad_multiple)
    trainer.remove_callback(EarlyStoppingCallback)
    padding = f"per batch, to a multiple of {pad_multiple}" if pad_multiple else "per batch, to its longest review"
    return _timed_train(trainer, bench, label="kit", precision=profile.hardware.precision, padding=padding,
                        pad_to_multiple_of=pad_multiple)


def _time_seed_recipe(model_dir: Path, reviews, bench: GpuBenchArgs, output_dir: Path, precision: str,
                      label: str) -> SettingResult:
    """The seed recipe: every review padded to max_length, the Trainer's default collator, random sampling."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    train_ds = Dataset.from_pandas(reviews.rename(columns={"label": "labels"}), preserve_index=False).map(
        lambda b: tokenizer(b["text"], padding="max_length", truncation=True, max_length=bench.max_length),
        batched=True, remove_columns=["text"])
    args = TrainingArguments(output_dir=str(output_dir), eval_strategy="no", save_strategy="no",
                             learning_rate=SEED_LEARNING_RATE, per_device_train_batch_size=bench.batch_size,
                             max_steps=bench.steps, weight_decay=0.01, report_to="none", disable_tqdm=True,
                             seed=42, use_cpu=_device() == "cpu", bf16=precision == "bf16", fp16=precision == "fp16")
    # No data_collator: the Trainer's default (DataCollatorWithPadding, given a tokenizer) leaves rows that are
    # already max_length long as they are.
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, processing_class=tokenizer)
    return _timed_train(trainer, bench, label=label, precision=precision, pad_to_multiple_of=None,
                        padding=f"every review to {bench.max_length}")


def time_seed_fp32(model_dir: Path, reviews, bench: GpuBenchArgs, output_dir: Path) -> SettingResult:
    """Setting 2: the seed recipe in fp32."""
    return _time_seed_recipe(model_dir, reviews, bench, output_dir, "fp32", "seed recipe fp32")


def time_seed_mixed(model_dir: Path, reviews, bench: GpuBenchArgs, output_dir: Path) -> SettingResult:
    """Setting 3: the seed recipe with ``bf16=True``, or ``fp16=True`` on a GPU without bf16 (V100, T4)."""
    import torch

    precision = "fp16" if _device() == "cuda" and not torch.cuda.is_bf16_supported() else "bf16"
    return _time_seed_recipe(model_dir, reviews, bench, output_dir, precision, f"seed recipe {precision}")


#: The settings, in the order they run (in one process: the first pays CUDA's start-up in its warm-up).
SETTINGS = (("kit", time_kit), ("seed_fp32", time_seed_fp32), ("seed_mixed", time_seed_mixed))


def _free_device_memory() -> None:
    import torch

    gc.collect()  # the Trainer and its callbacks reference each other: the model goes with the collection
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def compare_settings(bench: GpuBenchArgs, log=print) -> GpuReport:
    """Run the three settings on this machine's GPU (on its CPU where there is none) and report them."""
    import torch
    from transformers import AutoTokenizer

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model_dir(bench.model_shape, Path(tmp) / "model")
        reviews = synthetic_reviews(AutoTokenizer.from_pretrained(model_dir), bench.steps * bench.batch_size)
        lengths = length_summary(reviews, bench.max_length)
        log(f"{device}: {bench.model_shape} shape, {bench.steps} steps of {bench.batch_size} "
            f"({bench.warmup_steps} warm-up), reviews: median {lengths['median']:.0f} tokens, "
            f"{lengths['share_truncated']:.0%} truncated at {bench.max_length}")
        results = {}
        for key, run in SETTINGS:
            _free_device_memory()
            results[key] = run(model_dir, reviews, bench, Path(tmp) / key)
            log(f"  {results[key].label}: {results[key].samples_per_second:.1f} samples/s")
    _free_device_memory()
    return GpuReport(device=device, bench=bench, lengths=lengths, settings=results)


def _main_cuda(args: argparse.Namespace) -> int:
    import torch

    if not torch.cuda.is_available() and not args.allow_cpu:
        print("train_throughput.py: error: --device cuda needs a CUDA GPU, and torch.cuda.is_available() is False "
              "on this machine (use --device cpu)", file=sys.stderr)
        return 2
    try:
        bench = GpuBenchArgs(**{f.name: getattr(args, f.name) for f in dataclasses.fields(GpuBenchArgs)
                                if getattr(args, f.name) is not None})
    except ValueError as error:
        print(f"train_throughput.py: error: {error}", file=sys.stderr)
        return 2

    from finetune_kit.course import config

    config.quiet_libraries()
    report = compare_settings(bench)
    print("\n" + report.table())
    kit = report.settings["kit"]
    if kit.warmup_samples_per_second is not None:
        print(f"\nfirst-run penalty: the kit's first {bench.warmup_steps} steps ran at "
              f"{kit.warmup_samples_per_second:.1f} samples/s, the rest at {kit.samples_per_second:.1f}")
    target = report.target
    verdict = ("met" if target["met"] else "not met") if target["applies"] else "not checked on this run"
    print(f"target on {target['applies_to']}: the kit >= {KIT_TARGET_SAMPLES_PER_SECOND:.0f} samples/s and >= the "
          f"seed recipe in {report.settings['seed_mixed'].precision}: {verdict}")
    bench.json.parent.mkdir(parents=True, exist_ok=True)
    bench.json.write_text(json.dumps(report.to_json(), indent=2))
    print(f"written to {bench.json}")
    return 0


# --- command line ------------------------------------------------------------------------------------


def _add_dataclass_arguments(group, cls) -> None:
    """One ``--field-name`` option per dataclass field, its help and default from the field (default None here,
    so that a missing option keeps the dataclass's default and a given one can be told apart)."""
    for f in dataclasses.fields(cls):
        kwargs = {k: v for k, v in f.metadata.items() if k != "help"}
        group.add_argument("--" + f.name.replace("_", "-"), default=None,
                           help=f"{f.metadata['help']} (default: {f.default})", **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: accuracy and speed on the kit's reviews; cuda: speed of three settings on a GPU")
    cpu = parser.add_argument_group("--device cpu")
    cpu.add_argument("--profile", default="offline", help="the kit's profile: model and reviews (default: offline)")
    cpu.add_argument("--train-samples", type=int, default=512, help="training reviews (default: 512)")
    cpu.add_argument("--output", type=Path, default=Path("outputs/benchmarks/train_throughput.json"),
                     help="where the figures are written (default: %(default)s)")
    _add_dataclass_arguments(parser.add_argument_group("--device cuda"), GpuBenchArgs)
    # Runs the cuda comparison on a CPU when there is no GPU (tests, trying the script out): not for figures.
    parser.add_argument("--allow-cpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.device == "cuda":
        return _main_cuda(args)
    given = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(GpuBenchArgs)
             if getattr(args, f.name) is not None]
    if given or args.allow_cpu:
        parser.error(f"{', '.join(given) or '--allow-cpu'}: only with --device cuda")
    return _main_cpu(args)


def _main_cpu(args: argparse.Namespace) -> int:
    from finetune_kit.course import config
    from finetune_kit.sentiment import data

    profile = config.use_profile(args.profile)
    config.quiet_libraries()
    splits = data.load_splits(profile)
    splits.train = data.subsample(splits.train, args.train_samples)
    print(f"training reviews: {len(splits.train)}, test reviews: {len(splits.test)}")
    with tempfile.TemporaryDirectory() as tmp:
        kit = run_kit(profile, splits, Path(tmp) / "kit")
        original = run_original(profile, splits, Path(tmp) / "original")
    ratio = kit["samples_per_second"] / original["samples_per_second"]
    print(f"\n{'recipe':<10} {'samples/s':>10} {'seconds':>8} {'test acc':>9}  padding")
    for name, r in (("original", original), ("kit", kit)):
        print(f"{name:<10} {r['samples_per_second']:>10.1f} {r['seconds']:>8.1f} "
              f"{r['test_accuracy']:>9.3f}  {r['padding']}")
    print(f"\nkit / original throughput: {ratio:.1f}x; accuracy difference: "
          f"{100 * (kit['test_accuracy'] - original['test_accuracy']):+.1f} points")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"original": original, "kit": kit, "speedup": ratio,
                                       "train_samples": len(splits.train)}, indent=2))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
