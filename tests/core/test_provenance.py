"""Provenance: what a run records about the machine it ran on."""

from __future__ import annotations


def test_provenance_records_the_hardware_cpu_and_a_faked_gpu(monkeypatch):
    """GPU fields come from torch.cuda's device properties (faked here: no GPU in CI)."""
    from types import SimpleNamespace

    import torch

    from albench.provenance import hardware

    cpu = hardware(torch.device("cpu"))
    assert cpu["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert cpu["torch_threads"] == torch.get_num_threads() and "gpu_name" not in cpu
    props = SimpleNamespace(name="Fake A100", major=8, minor=0, total_memory=40 * 2**30)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: props)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,3")
    gpu = hardware(torch.device("cuda", 0))
    assert gpu["gpu_name"] == "Fake A100" and gpu["gpu_compute_capability"] == "8.0"
    assert gpu["gpu_memory_mb"] == 40 * 1024 and gpu["gpu_count"] == 2
    assert gpu["cuda_visible_devices"] == "1,3" and isinstance(gpu["tf32_matmul"], bool)
