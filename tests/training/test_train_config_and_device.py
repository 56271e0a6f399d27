"""TrainConfig validation, device resolution and determinism flags."""

from __future__ import annotations

import pytest
import torch

from albench.config import TrainConfig
from albench.device import configure_determinism, default_deterministic, resolve_device


def test_defaults_are_the_official_tidal_settings() -> None:
    cfg = TrainConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (
        200,
        128,
        0.1,
        0.9,
        5e-4,
    )
    assert cfg.milestones == (160,) and cfg.gamma == 0.1 and cfg.eval_batch_size == 256
    assert cfg.track_interval == 1 and cfg.deterministic is None


def test_from_dict_converts_and_round_trips() -> None:
    cfg = TrainConfig.from_dict({"epochs": 100, "lr": 0.02, "milestones": [60, 80], "gamma": 0.2})
    assert cfg.milestones == (60, 80)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["milestones"] == [60, 80]


def test_unknown_key_is_named_with_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"train: unknown key\(s\) 'epoch'; valid keys: amp, amp_dtype, batch_size, ",
    ):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("epochs", 2.5, "epochs must be an integer"),
        ("batch_size", True, "batch_size must be an integer"),
        ("lr", 0, "lr must be a finite number > 0, got 0"),
        ("lr", float("nan"), "lr must be a finite number"),
        ("momentum", 1.0, r"momentum must be a finite number in \[0, 1\)"),
        ("weight_decay", -1e-4, "weight_decay must be a finite number >= 0"),
        ("milestones", [80, 60], "milestones must be strictly increasing"),
        ("milestones", 60, "milestones must be a list"),
        ("gamma", -0.1, "gamma must be a finite number > 0"),
        ("track_interval", 0, "track_interval must be an integer >= 1"),
        ("amp", "yes", "amp must be true or false"),
        ("deterministic", 1, "deterministic must be true or false"),
    ],
)
def test_out_of_range_values_are_rejected(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict({key: value})


def test_nesterov_needs_momentum() -> None:
    with pytest.raises(ValueError, match="nesterov"):
        TrainConfig(nesterov=True, momentum=0.0)
    assert TrainConfig(nesterov=True).nesterov


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    monkeypatch.setenv("ALBENCH_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setenv("ALBENCH_DEVICE", "tpu9")
    with pytest.raises(ValueError, match=r"\$ALBENCH_DEVICE 'tpu9' is not a device; valid values"):
        resolve_device()
    with pytest.raises(ValueError, match="'gpu' is not a device; valid values: auto, cpu, cuda"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_configure_determinism_sets_and_reports_flags() -> None:
    assert default_deterministic(torch.device("cpu")) is True
    assert default_deterministic(torch.device("cuda")) is False
    try:
        flags = configure_determinism(True, 5)
        assert flags["use_deterministic_algorithms"] is True
        assert flags["cudnn_deterministic"] is True and flags["cudnn_benchmark"] is False
        assert flags["cublas_workspace_config"] is not None and flags["seed"] == 5
        first = torch.rand(3)
        configure_determinism(True, 5)
        assert torch.equal(torch.rand(3), first)
        flags = configure_determinism(False, 5)
        assert flags["use_deterministic_algorithms"] is False and flags["cudnn_benchmark"] is True
    finally:
        configure_determinism(True, 0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        configure_determinism(True, -1)


def test_determinism_switch_skips_the_inductor_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from albench.device import configure_determinism\n"
        "flags = configure_determinism(True, 0)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert flags['use_deterministic_algorithms'] is True\n"
        "print('torch._inductor.config' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_require_gpu_never_falls_back_to_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU-less node (CPU-only torch build or no visible device) fails loudly."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"  # allowed without the flag
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ValueError, match=r"resolved to 'cpu': this torch .* is a CPU-only build"):
        resolve_device("auto", require_gpu=True)
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ValueError, match=r"sees 0 GPU\(s\); CUDA_VISIBLE_DEVICES=''"):
        resolve_device("auto", require_gpu=True)
    with pytest.raises(ValueError, match="require_gpu is set but device 'cpu'"):
        resolve_device("cpu", require_gpu=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto", require_gpu=True) == torch.device("cuda")
