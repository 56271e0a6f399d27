"""Device selection and determinism switches.

``resolve_device`` turns a config string into a :class:`torch.device`;
``configure_determinism`` sets torch's global determinism flags and seeds and
returns what it set, so every run records them with its provenance.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch
import torch.utils.deterministic

ENV_DEVICE = "ALBENCH_DEVICE"
VALID_DEVICES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")
# cuBLAS needs a fixed workspace for deterministic GEMMs on CUDA >= 10.2
# (https://docs.nvidia.com/cuda/cublas/#results-reproducibility).
CUBLAS_WORKSPACE = ":4096:8"


def resolve_device(spec: str | None = "auto", require_gpu: bool = False) -> torch.device:
    """The device a run uses.

    Args:
        spec: ``"auto"`` (or None): ``$ALBENCH_DEVICE`` if set, else CUDA when
            available, else CPU. Otherwise ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
            ``"mps"``, which must be available.

    Returns:
        The device.

    Raises:
        ValueError: the spec is not a device name, or names a device that is
            not available here.
        ValueError: ``require_gpu`` is set and the device is not a CUDA device
            (a CPU-only torch build, no visible GPU, or ``device: cpu``).
    """
    if spec is None or spec == "auto":
        env = os.environ.get(ENV_DEVICE, "").strip()
        if env and env != "auto":
            device = _checked(env, source=f"${ENV_DEVICE}")
        else:
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = _checked(spec, source="device")
    if require_gpu and device.type != "cuda":
        raise ValueError(gpu_missing_message(spec or "auto", device))
    return device


def gpu_missing_message(spec: str, device: torch.device) -> str:
    """Why a run that requires a GPU got ``device`` instead, and what to check."""
    build = torch.version.cuda
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return (
        f"require_gpu is set but device {spec!r} resolved to {device.type!r}: "
        + (
            f"this torch {torch.__version__} is a CPU-only build (install a CUDA build, e.g. "
            "the job env's CUDA variant)"
            if build is None
            else f"torch {torch.__version__} (CUDA {build}) sees {torch.cuda.device_count()} "
            f"GPU(s); CUDA_VISIBLE_DEVICES={visible!r}"
        )
        + ". Set require_gpu: false to allow the CPU."
    )


def _checked(spec: str, source: str) -> torch.device:
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"{source} {spec!r} is not a device; valid values: {', '.join(VALID_DEVICES)}"
        ) from exc
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{source} {spec!r} requested but CUDA is not available here")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"{source} {spec!r}: CUDA device index {device.index} out of range "
                f"(this machine has {count} CUDA device(s))"
            )
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{source} {spec!r} requested but MPS is not available here")
        return device
    raise ValueError(
        f"{source} {spec!r}: unsupported device type {device.type!r}; "
        f"valid values: {', '.join(VALID_DEVICES)}"
    )


def default_deterministic(device: torch.device) -> bool:
    """Determinism default: on for CPU (it costs nothing there), off on accelerators."""
    return device.type == "cpu"


def _use_deterministic_algorithms(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=True)`` without its import cost.

    The public function also sets ``torch._inductor.config.deterministic``, and
    importing that module costs ~1.4 s per process; albench never compiles with
    inductor, so the eager-mode switch alone is set (and the inductor flag too, if
    something already imported it). Falls back to the public call on a PyTorch
    without the private entry point.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:
        torch.use_deterministic_algorithms(mode, warn_only=True)
        return
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = mode
    setter(mode, warn_only=True)


def configure_determinism(deterministic: bool, seed: int) -> dict[str, object]:
    """Set torch's global determinism flags and seed every global generator.

    Deterministic mode: ``torch.use_deterministic_algorithms(True,
    warn_only=True)`` (ops without a deterministic kernel warn instead of
    raising, so a long run is never killed by one op), cuDNN deterministic with
    benchmarking off, and ``CUBLAS_WORKSPACE_CONFIG`` set when the user has not
    set it. The cuBLAS variable is read when the first cuBLAS handle is made, so
    call this before any CUDA work. ``torch.utils.deterministic.
    fill_uninitialized_memory`` is turned off: it NaN-fills every fresh
    allocation (about 10 % of a small CNN's CPU training time) and only matters
    for code that reads uninitialised memory, which albench does not. Non-deterministic mode turns cuDNN
    benchmarking on (as the official TiDAL code does).

    Args:
        deterministic: the mode.
        seed: seeds Python's ``random``, NumPy's legacy global generator and
            torch (CPU and every CUDA device).

    Returns:
        The flags as set, for the run's provenance record.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    _use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    torch.utils.deterministic.fill_uninitialized_memory = False
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return {
        "deterministic": deterministic,
        "use_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "fill_uninitialized_memory": torch.utils.deterministic.fill_uninitialized_memory,
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "seed": seed,
        "torch_num_threads": torch.get_num_threads(),
    }


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); a no-op on the CPU. For timings only."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def channels_last_weights(device: torch.device, channels_last: bool) -> bool:
    """Whether training converts the convolution weights to channels-last: on CUDA when the
    batches are channels-last (cuDNN would otherwise re-layout every NCHW weight, and its
    gradient, on every call). The CPU keeps NCHW weights: its kernels take mixed layouts
    without copies, and its outputs stay bit-identical to earlier runs. Checkpoints are
    unaffected (they are saved contiguous)."""
    return channels_last and device.type == "cuda"
