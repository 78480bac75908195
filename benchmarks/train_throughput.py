"""Training throughput: the kit's recipe vs the original recipe, same model, same data, one run.

The original recipe (the assignment's worked solution) does not show its tokenizer call; a common way to follow
it pads every review to the tokenizer's ``max_length`` (512 tokens), with lr 2e-5. The course's recipe
(the functions students write in Part 2) pads each batch to its longest review and truncates at the
profile's ``max_length``. Both train one epoch on
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--train-samples", type=int, default=512)
    parser.add_argument("--output", type=Path, default=Path("outputs/benchmarks/train_throughput.json"))
    args = parser.parse_args(argv)

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
