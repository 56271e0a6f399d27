"""Training hyper-parameters of one active-learning cycle.

Defaults are the official TiDAL code's (``config.py``): 200 epochs, batch 128,
SGD lr 0.1, momentum 0.9, weight decay 5e-4, LR × 0.1 at epoch 160 (its second
milestone, 260, is never reached and is dropped). The label-dispersion paper's
protocol is ``epochs=100, lr=0.02, milestones=(60, 80), gamma=0.2``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TRACK_VIEWS = ("clean", "train_aug")


@dataclass(frozen=True)
class TrainConfig:
    """One cycle's training schedule (units in the comments).

    ``milestones`` beyond ``epochs`` are allowed (they never fire), as in the
    official TiDAL code's ``[160, 260]``.
    """

    epochs: int = 200  # passes over the labeled set per cycle
    batch_size: int = 128  # images per SGD step; the last partial batch is kept
    lr: float = 0.1  # initial learning rate, reset every cycle
    momentum: float = 0.9  # SGD momentum, in [0, 1)
    weight_decay: float = 5e-4  # L2 coefficient applied by SGD
    milestones: tuple[int, ...] = (160,)  # lr *= gamma once this many epochs have finished
    gamma: float = 0.1  # multiplicative LR decay at each milestone
    nesterov: bool = False  # Nesterov momentum (needs momentum > 0)
    eval_batch_size: int = 256  # images per forward pass at evaluation / scoring time
    amp: bool = True  # mixed precision (autocast fp16 + GradScaler); used only on CUDA
    channels_last: bool = True  # NHWC training batches: faster convolutions (CPU and AMP on CUDA)
    deterministic: bool | None = None  # deterministic kernels; None → True on CPU, False on CUDA
    track_interval: int = 1  # epochs between candidate-tracking passes
    track_view: str = "clean"  # candidate-tracking input: "clean" (test view) or "train_aug"

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", _int_tuple(self.milestones))
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("eval_batch_size", self.eval_batch_size)
        _positive_int("track_interval", self.track_interval)
        _positive_float("lr", self.lr)
        _positive_float("gamma", self.gamma)
        if not _is_real(self.momentum) or not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if (
            not _is_real(self.weight_decay)
            or self.weight_decay < 0
            or math.isinf(self.weight_decay)
        ):
            raise ValueError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}"
            )
        for name in ("nesterov", "amp", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.deterministic is not None and not isinstance(self.deterministic, bool):
            raise ValueError(
                f"deterministic must be true, false or null, got {self.deterministic!r}"
            )
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        if self.track_view not in TRACK_VIEWS:
            raise ValueError(
                f"track_view must be one of {', '.join(TRACK_VIEWS)}, got {self.track_view!r}"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a config mapping; unknown keys are an error.

        Raises:
            ValueError: an unknown key (named, with the valid keys listed) or an
                out-of-range value.
        """
        valid = [field.name for field in dataclasses.fields(cls)]
        for key in values:
            if key not in valid:
                raise ValueError(
                    f"unknown training option {key!r}; valid options: {', '.join(valid)}"
                )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (milestones as a list), for provenance."""
        values = dataclasses.asdict(self)
        values["milestones"] = list(self.milestones)
        return values


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _positive_float(name: str, value: object) -> None:
    if not _is_real(value) or value <= 0 or math.isinf(value):  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _int_tuple(milestones: object) -> tuple[int, ...]:
    if isinstance(milestones, int | str | bytes) or not hasattr(milestones, "__iter__"):
        raise ValueError(f"milestones must be a list of epochs, got {milestones!r}")
    values = tuple(milestones)  # type: ignore[arg-type]
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"milestones must be integers >= 1, got {list(values)!r}")
    if list(values) != sorted(set(values)):
        raise ValueError(f"milestones must be strictly increasing, got {list(values)!r}")
    return values
