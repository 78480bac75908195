"""The machine decides precision, padding and workers; the recipe (profile) does not change with it."""

from __future__ import annotations

import dataclasses

import pytest

from finetune_kit.course import config, hardware


def test_without_a_gpu_training_stays_fp32_with_exact_padding_and_no_workers(monkeypatch):
    import torch

    hardware.detect.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        found = hardware.detect()
    finally:
        hardware.detect.cache_clear()
    assert found is hardware.CPU
    assert (found.precision, found.pad_to_multiple_of, found.dataloader_workers) == ("fp32", None, 0)
    assert not found.bf16 and not found.fp16


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
        assert hardware.detect() is hardware.CPU
    finally:
        hardware.detect.cache_clear()


def test_profiles_read_the_machine_unless_told_otherwise_and_say_so(capsys):
    smoke = config.PROFILES["smoke"]
    assert smoke.hardware is hardware.detect()
    t4 = hardware.for_cuda("Tesla T4", False, 8)
    assert dataclasses.replace(smoke, forced_hardware=t4).hardware is t4
    config.use_profile("smoke")
    assert f"device: {hardware.detect().describe()}" in capsys.readouterr().out
