"""The precision a cycle trains and tracks in: fp32, bf16 autocast, or fp16 autocast + GradScaler.

One function decides it (:func:`resolve_precision`), from ``train.amp``,
``train.amp_dtype`` and the device, so the trainer and the candidate trackers agree
and the CUDA branch is testable with a ``torch.device("cuda")`` object on a CPU-only
machine. Why bf16 is the CUDA default where the GPU has it natively (compute capability
≥ 8.0): it has fp32's exponent range, so it needs no loss scaling. fp16 does, and
``GradScaler`` then checks every step for overflow; albench's optimizer reads that
check on the device (:class:`albench.training.sgd.SGD`), but bf16 also removes the
skipped steps and the overflow risk for TiDAL's running-mean target. The CPU default
stays fp32 (bit-identical outputs); ``bf16`` or ``fp16`` can be forced there, e.g. to
exercise the mixed-precision code in tests.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from albench.config import TrainConfig

__all__ = ["Precision", "resolve_precision"]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """Autocast settings for one device.

    Attributes:
        name: ``"off"`` (fp32), ``"bf16"`` or ``"fp16"``.
        device_type: the device type autocast runs on (``"cpu"``, ``"cuda"``).
    """

    name: str
    device_type: str

    def __post_init__(self) -> None:
        if self.name not in ("off", *_DTYPES):
            raise ValueError(f"precision must be off, bf16 or fp16, got {self.name!r}")

    @property
    def enabled(self) -> bool:
        """Whether autocast is on (TrainResult.amp)."""
        return self.name != "off"

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype; None for fp32."""
        return _DTYPES.get(self.name)

    @property
    def scaled(self) -> bool:
        """fp16 needs loss scaling (a GradScaler); bf16 and fp32 do not."""
        return self.name == "fp16"

    def autocast(self) -> contextlib.AbstractContextManager:
        """``torch.autocast`` in this dtype, or a no-op context for fp32."""
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler, enabled only for fp16 (a disabled one just calls ``optimizer.step``)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.scaled)


def resolve_precision(config: TrainConfig, device: torch.device | str) -> Precision:
    """The precision ``config`` asks for on ``device`` (see the module docstring).

    ``amp: false`` or ``amp_dtype: off`` → fp32. ``auto`` → fp32 on anything but CUDA;
    on CUDA bf16 when the device supports it natively, else fp16. ``bf16``/``fp16`` →
    that dtype on any device.
    """
    device = torch.device(device)
    choice = config.amp_dtype  # validated by TrainConfig
    if not config.amp or choice == "off":
        return Precision("off", device.type)
    if choice == "auto":
        if device.type != "cuda":
            return Precision("off", device.type)
        choice = "bf16" if native_bf16(device) else "fp16"
    return Precision(choice, device.type)


def native_bf16(device: torch.device) -> bool:
    """Whether a CUDA device computes bf16 in hardware (compute capability ≥ 8.0), not by
    emulation (which ``torch.cuda.is_bf16_supported()`` also accepts by default)."""
    major, _ = torch.cuda.get_device_capability(device)
    return major >= 8
