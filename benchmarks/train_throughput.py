"""Training throughput: the kit's recipe vs the original recipe, same model, same data, one run.

The original recipe (../shared/assignment) pads every review to the tokenizer's ``max_length``
(512 tokens) and trains with lr 2e-5; the kit pads each batch to its longest review, groups
reviews of similar length and truncates at the profile's ``max_length``. Both train one epoch on
the same training reviews and are scored on the same test split.

    python benchmarks/train_throughput.py [--train-samples 512] [--profile offline]

Prints samples/s and test accuracy of each and the ratio; writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def run_original(profile, splits, out: Path) -> dict:
    """The original recipe's training loop: pad to max_length, default collator, lr 2e-5."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from finetune_kit import metrics, models

    tokenizer = models.load_tokenizer(profile)
    model = models.load_classifier(profile)

    def encode(df):
        ds = Dataset.from_pandas(df[["text", "label"]].rename(columns={"label": "labels"}), preserve_index=False)
        return ds.map(lambda b: tokenizer(b["text"], padding="max_length", truncation=True), batched=True,
                      remove_columns=["text"])

    args = TrainingArguments(output_dir=str(out), eval_strategy="no", learning_rate=2e-5,
                             per_device_train_batch_size=16, num_train_epochs=1, weight_decay=0.01,
                             save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True, seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=encode(splits.train), processing_class=tokenizer)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    pred = trainer.predict(encode(splits.test))
    acc = metrics.classification_metrics(pred.label_ids, np.argmax(pred.predictions, -1))["accuracy"]
    return {"seconds": seconds, "samples_per_second": len(splits.train) / seconds, "test_accuracy": acc,
            "padding": f"every review to {tokenizer.model_max_length} tokens"}


def run_kit(profile, splits, out: Path) -> dict:
    from finetune_kit import train

    result = train.fine_tune(profile, splits, out, report_to=(), num_train_epochs=1, eval_strategy="no",
                             save_strategy="no", load_best_model_at_end=False, patience=None)
    return {"seconds": result.train_seconds, "samples_per_second": len(splits.train) / result.train_seconds,
            "test_accuracy": result.metrics["accuracy"],
            "padding": f"per batch, truncated at {profile.max_length} tokens, grouped by length"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--train-samples", type=int, default=512)
    parser.add_argument("--output", type=Path, default=Path("outputs/benchmarks/train_throughput.json"))
    args = parser.parse_args(argv)

    from finetune_kit import config, data

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
