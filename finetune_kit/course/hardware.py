"""What the machine decides about training: numeric precision, padding and data-loading workers.

A profile says *what* to train (model, data, epochs); the hardware says *how fast* it can go without
changing the result. Measured on an H200 with a DistilBERT-base-shaped model at batch 16
(``../shared/README.md``, ``benchmarks/train_throughput.py``): fp32 with exact-length padding 446
samples/s, bf16 with exact-length padding 224 (every new sequence length costs GPU kernel selection the
first time it is seen), bf16 padded to a multiple of 64 728. A CPU pays nothing for a new shape, so there
each batch is padded to its own longest review and no worker processes start. A CPU with native bf16
instructions (AVX512-BF16 or AMX: AMD Zen 4 and later, Intel Sapphire Rapids and later) trains under bf16
autocast: on the 2-core development machine the offline profile's 3 epochs (learning rate 5e-5) took 473 s
instead of 670 s, with the same validation F1 (0.912) and test accuracy (0.882 against 0.881); the weights
stay fp32. Other CPUs stay fp32: x86 chips without those instructions would emulate bf16, slower, and torch's
probes only know x86 (an ARM laptop stays fp32 too).
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


_CPU_PADDING = "each batch padded to its longest review (a CPU pays nothing for a new shape)"
_CPU_WORKERS = "no dataloader workers (batches are tokenized in advance; workers only add start-up time)"
CPU = Hardware(
    device="cpu", name="CPU", precision="fp32", pad_to_multiple_of=None, dataloader_workers=0,
    reasons=("fp32 (this CPU has no native bf16 instructions: half precision would be emulated, slower)",
             _CPU_PADDING, _CPU_WORKERS),
)
CPU_BF16 = Hardware(
    device="cpu", name="CPU with native bf16", precision="bf16", pad_to_multiple_of=None, dataloader_workers=0,
    reasons=("bf16 autocast (AVX512-BF16/AMX: about 1.4x faster training, same accuracy; weights stay fp32)",
             _CPU_PADDING, _CPU_WORKERS),
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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (torch's own probes; False where torch has none)."""
    import torch

    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(probe() for probe in probes if probe is not None)


def for_cpu() -> Hardware:
    """The CPU choices; ``FINETUNE_KIT_CPU_PRECISION=fp32`` keeps fp32 even where bf16 is native."""
    if os.environ.get("FINETUNE_KIT_CPU_PRECISION", "").lower() == "fp32":
        return CPU
    return CPU_BF16 if cpu_has_native_bf16() else CPU


@functools.lru_cache(maxsize=1)
def detect() -> Hardware:
    """This machine's choices; ``FINETUNE_KIT_DEVICE=cpu`` forces the CPU ones."""
    if os.environ.get("FINETUNE_KIT_DEVICE", "").lower() == "cpu":
        return for_cpu()
    import torch

    if not torch.cuda.is_available():
        return for_cpu()
    return for_cuda(torch.cuda.get_device_name(0), torch.cuda.is_bf16_supported(), os.cpu_count() or 1)
