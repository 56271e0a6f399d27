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
    assert "gpu_driver" in gpu  # None here: no nvidia-smi


def test_the_driver_version_comes_from_nvidia_smi_when_it_is_there(monkeypatch):
    import subprocess
    from types import SimpleNamespace

    from albench import provenance

    calls = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return SimpleNamespace(stdout="550.54.15\n550.54.15\n")

    monkeypatch.setattr(provenance.subprocess, "run", fake_run)
    assert provenance.nvidia_driver_version() == "550.54.15"
    assert calls[0][:2] == ["nvidia-smi", "--query-gpu=driver_version"]

    def missing(command, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    monkeypatch.setattr(provenance.subprocess, "run", missing)
    assert provenance.nvidia_driver_version() is None

    def failing(command, **kwargs):
        raise subprocess.CalledProcessError(9, command)

    monkeypatch.setattr(provenance.subprocess, "run", failing)
    assert provenance.nvidia_driver_version() is None


def test_peak_memory_is_measured_per_phase_on_the_host():
    import numpy as np

    from albench.provenance import PeakMemory

    memory = PeakMemory(device=None)
    with memory.phase("train"):
        small = np.ones(2**20, dtype=np.uint8)  # 1 MiB
    with memory.phase("query"):
        big = np.ones(200 * 2**20, dtype=np.uint8)  # 200 MiB, touched
        del big
    del small
    record = memory.record()
    train, query = (
        record["phases"]["train"]["host_rss_mb"],
        record["phases"]["query"]["host_rss_mb"],
    )
    assert query - train >= 190  # the phase's peak, not the process's since start
    assert record["host_rss_mb"] >= query  # the job's peak covers every phase
    assert "cuda_allocated_mb" not in record


def test_peak_memory_on_cuda_resets_and_reads_the_allocator_per_phase(monkeypatch):
    import torch

    from albench.provenance import PeakMemory

    state = {"allocated": 0, "reserved": 0, "resets": 0, "syncs": 0}

    def reset(device):
        state["resets"] += 1
        state["allocated"] = state["reserved"] = 0

    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: state["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_reserved", lambda device: state["reserved"])
    monkeypatch.setattr(
        torch.cuda, "synchronize", lambda device: state.update(syncs=state["syncs"] + 1)
    )
    memory = PeakMemory(torch.device("cuda", 0))
    with memory.phase("train"):
        state.update(allocated=300 * 2**20, reserved=512 * 2**20)
    with memory.phase("query"):
        state.update(allocated=100 * 2**20, reserved=128 * 2**20)
    record = memory.record()
    assert state["resets"] == 2 and state["syncs"] == 4  # reset and read after queued work
    assert record["phases"]["train"]["cuda_allocated_mb"] == 300.0
    assert record["phases"]["train"]["cuda_reserved_mb"] == 512.0
    assert record["phases"]["query"]["cuda_allocated_mb"] == 100.0
    assert (record["cuda_allocated_mb"], record["cuda_reserved_mb"]) == (300.0, 512.0)
