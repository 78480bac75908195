"""The machine decides precision, padding and workers; the recipe (profile) does not change with it."""

from __future__ import annotations

import dataclasses

import pytest

from finetune_kit.course import config, hardware


@pytest.mark.parametrize(("native_bf16", "expected", "precision"), [(False, "CPU", "fp32"), (True, "CPU_BF16", "bf16")])
def test_without_a_gpu_precision_follows_the_cpu_with_exact_padding_and_no_workers(monkeypatch, native_bf16, expected,
                                                                                 precision):
    import torch

    hardware.detect.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native_bf16)
    monkeypatch.delenv("FINETUNE_KIT_CPU_PRECISION", raising=False)
    try:
        found = hardware.detect()
    finally:
        hardware.detect.cache_clear()
    assert found is getattr(hardware, expected)
    assert (found.precision, found.pad_to_multiple_of, found.dataloader_workers) == (precision, None, 0)
    assert found.bf16 == native_bf16 and not found.fp16
    assert found.describe().startswith("CPU") and precision in found.reasons[0]


def test_fp32_can_be_kept_on_a_cpu_with_native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setenv("FINETUNE_KIT_CPU_PRECISION", "fp32")
    assert hardware.for_cpu() is hardware.CPU
    monkeypatch.setenv("FINETUNE_KIT_CPU_PRECISION", "")
    assert hardware.for_cpu() is hardware.CPU_BF16


def test_the_native_bf16_probe_matches_the_cpu_flags():
    flags = set()
    try:
        with open("/proc/cpuinfo") as fh:
            flags = {f for line in fh if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    except OSError:
        pytest.skip("no /proc/cpuinfo here")
    assert hardware.cpu_has_native_bf16() == bool(flags & {"avx512_bf16", "amx_bf16"})


@pytest.mark.parametrize(("name", "bf16", "precision"), [("NVIDIA H200", True, "bf16"), ("NVIDIA A100", True, "bf16"),
                                                          ("Tesla V100-PCIE-16GB", False, "fp16"),
                                                          ("Tesla T4", False, "fp16")])
def test_a_gpu_gets_mixed_precision_it_supports_and_few_shapes(name, bf16, precision):
    found = hardware.for_cuda(name, bf16, cpu_count=16)
    assert found.precision == precision and found.bf16 == bf16 and found.fp16 == (not bf16)
    assert found.pad_to_multiple_of == hardware.GPU_PAD_MULTIPLE
    assert found.dataloader_workers == 4 and hardware.for_cuda(name, bf16, cpu_count=2).dataloader_workers == 1
    assert found.describe().startswith(name) and len(found.reasons) == 3


def test_a_gpu_machine_can_be_told_to_train_like_a_cpu(monkeypatch):
    import torch

    hardware.detect.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("FINETUNE_KIT_DEVICE", "cpu")
    try:
        assert hardware.detect() is hardware.for_cpu() and hardware.detect().device == "cpu"
    finally:
        hardware.detect.cache_clear()


def test_profiles_read_the_machine_unless_told_otherwise_and_say_so(capsys):
    smoke = config.PROFILES["smoke"]
    assert smoke.hardware is hardware.detect()
    t4 = hardware.for_cuda("Tesla T4", False, 8)
    assert dataclasses.replace(smoke, forced_hardware=t4).hardware is t4
    config.use_profile("smoke")
    assert f"device: {hardware.detect().describe()}" in capsys.readouterr().out
