"""What the machine decides about training: numeric precision, padding and data-loading workers.

A profile says *what* to train (model, data, epochs); the hardware says *how fast* it can go without
changing the result. Measured on an H200 with a DistilBERT-base-shaped model at batch 16
(``../shared/README.md``, ``benchmarks/train_throughput.py``): fp32 with exact-length padding 446
samples/s, bf16 with exact-length padding 224 (every new sequence length costs GPU kernel selection the
first time it is seen), bf16 padded to a multiple of 64 728. A CPU pays nothing for a new shape and has
no fast half-precision path in this kit's builds, so there everything stays as it was: fp32, each batch
padded to its own longest review, no worker processes.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Hardware:
    """The training choices this machine calls for, each with the one-line reason shown to students."""

    device: str  # "cpu" or "cuda"
    name: str  # what the machine is, for people
    precision: str  # "bf16", "fp16" or "fp32"
    pad_to_multiple_of: int | None  # None: pad each batch to its own longest sequence
    dataloader_workers: int
    reasons: tuple[str, ...]

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    @property
    def fp16(self) -> bool:
        return self.precision == "fp16"

    def describe(self) -> str:
        return f"{self.name}: " + "; ".join(self.reasons)


CPU = Hardware(
    device="cpu", name="CPU", precision="fp32", pad_to_multiple_of=None, dataloader_workers=0,
    reasons=("fp32 (no fast half precision on this path)",
             "each batch padded to its longest review (a CPU pays nothing for a new shape)",
             "no dataloader workers (batches are tokenized in advance; workers only add start-up time)"),
)

#: Sequence lengths are rounded up to a multiple of this on a GPU: at most 512/64 = 8 shapes per batch size.
GPU_PAD_MULTIPLE = 64


def for_cuda(name: str, bf16_supported: bool, cpu_count: int) -> Hardware:
    """The GPU choices, from what the device reports (kept apart from ``detect`` so tests can call it)."""
    workers = min(4, cpu_count // 2)
    if bf16_supported:
        precision, why = "bf16", "bf16 (Ampere or later: fp32's range at half the memory traffic, no loss scaling)"
    else:
        precision, why = "fp16", "fp16 with loss scaling (V100/T4-class GPUs have no fast bf16)"
    return Hardware(
        device="cuda", name=name, precision=precision, pad_to_multiple_of=GPU_PAD_MULTIPLE,
        dataloader_workers=workers,
        reasons=(why,
                 f"padding to a multiple of {GPU_PAD_MULTIPLE} (few distinct shapes: each new length costs kernel "
                 "selection the first time)",
                 f"{workers} dataloader workers (collating on the side keeps the GPU fed)"),
    )


@functools.lru_cache(maxsize=1)
def detect() -> Hardware:
    """This machine's choices; ``FINETUNE_KIT_DEVICE=cpu`` forces the CPU ones."""
    if os.environ.get("FINETUNE_KIT_DEVICE", "").lower() == "cpu":
        return CPU
    import torch

    if not torch.cuda.is_available():
        return CPU
    return for_cuda(torch.cuda.get_device_name(0), torch.cuda.is_bf16_supported(), os.cpu_count() or 1)
