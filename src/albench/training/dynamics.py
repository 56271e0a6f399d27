"""Training dynamics: what the model predicted for a sample over the epochs of one cycle.

Two recorders, for two different uses:

* :class:`DynamicsRecorder` — TiDAL's training target. For each *labeled*
  sample, the running mean over epochs of the softmax of the **training forward
  pass** (train-mode BatchNorm, augmented view, weights at that step), updated
  inside the training loop at no extra forward cost.
* :class:`CandidateTracker` — an extra eval-mode pass over the scored
  *unlabeled* subset every ``interval`` epochs, recording the predicted label
  (label dispersion) and the running mean softmax (the "actual" training
  dynamics that TiDAL's module learns to predict).

References:
    Kye, Choi, Byun, Chang. "TiDAL: Learning Training Dynamics for Active
    Learning." ICCV 2023. arXiv:2210.06788.
    Zolfaghari Bengar, Raducanu, van de Weijer. "When Deep Learners Change Their
    Mind: Learning Dynamics for Active Learning." CAIP 2021. arXiv:2107.14707.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from albench import checks
from albench.config import TRACK_VIEWS, TrainConfig
from albench.training.augment import BatchAugment, as_uint8_tensor
from albench.training.precision import resolve_precision


def label_dtype(num_classes: int) -> torch.dtype:
    """Smallest integer dtype for labels 0..C-1: uint8 for C ≤ 255, int16 up to 32,767, else int32."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if num_classes <= 255:
        return torch.uint8
    if num_classes <= 32767:
        return torch.int16
    return torch.int32


class DynamicsRecorder:
    """Running mean of the training-pass softmax of each labeled sample (TiDAL's p̄).

    When labeled sample x is visited in epoch e (0-based within the cycle):
    p̄ₓ ← (e·p̄ₓ + pₓ)/(e + 1), i.e. the mean of p₀…p_e including the current
    pass, as in the official code (``train_test/train_test.py``). The formula
    assumes each labeled sample is visited exactly once per epoch (a random
    permutation per epoch); :meth:`check_complete` verifies it.

    Args:
        num_samples: m, labeled samples (rows are indices 0..m-1 into the labeled set).
        num_classes: C.
        device: where the (m, C) float32 table lives.
    """

    def __init__(
        self, num_samples: int, num_classes: int, device: torch.device | str = "cpu"
    ) -> None:
        if num_samples < 1 or num_classes < 1:
            raise ValueError(
                f"DynamicsRecorder needs num_samples >= 1 and num_classes >= 1, "
                f"got {num_samples} and {num_classes}"
            )
        self.mean_probs = torch.zeros(num_samples, num_classes, device=device)  # (m, C)
        self.visits = torch.zeros(num_samples, dtype=torch.int32, device=device)  # (m,)
        # Rows whose softmax was not finite (an fp16 overflow): counted on the device, no sync.
        self.nonfinite_rows = torch.zeros((), dtype=torch.int64, device=device)

    @property
    def num_samples(self) -> int:
        return self.mean_probs.shape[0]

    def update(self, sample_idx: Tensor, probs: Tensor, epoch: int) -> Tensor:
        """Fold one batch's softmax into the running mean.

        Args:
            sample_idx: (B,) distinct rows of the labeled set.
            probs: (B, C) softmax of the training forward pass.
            epoch: e, 0-based epoch within the cycle.

        Returns:
            (B, C) the updated p̄ of these rows (a copy, detached).

        A row of ``probs`` that is not finite (a mixed-precision overflow) is replaced by
        the row's current p̄, so one bad forward pass cannot turn the sample's target
        into NaN for the rest of the cycle (its p̄ then stays, up to rounding, what it
        was); :attr:`nonfinite_rows` counts such rows. Finite rows are folded in with
        exactly the arithmetic above.
        """
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        rows = self.mean_probs[sample_idx]  # (B, C), a copy
        p = probs.detach().float()
        finite = torch.isfinite(p).all(dim=1, keepdim=True)  # (B, 1)
        self.nonfinite_rows += (~finite).sum()
        p = torch.where(finite, p, rows)
        rows.mul_(epoch).add_(p).div_(epoch + 1)
        self.mean_probs[sample_idx] = rows
        self.visits[sample_idx] += 1
        return rows

    def check_complete(self, epochs: int) -> None:
        """Raise if some labeled sample was not visited exactly ``epochs`` times."""
        wrong = (self.visits != epochs).nonzero().flatten()
        if len(wrong):
            raise RuntimeError(
                f"training dynamics assume one visit per labeled sample per epoch: "
                f"{len(wrong)} of {self.num_samples} samples were not visited {epochs} times "
                f"(first row {int(wrong[0])}: {int(self.visits[wrong[0]])} visits)"
            )


class CandidateTracker:
    """Predictions on the scored unlabeled subset, recorded when the trainer calls
    :meth:`record` (after the epochs :meth:`albench.config.Schedule.records_after` picks).

    Each record is one batched forward pass over the n candidates, in one of
    three views (:data:`albench.config.TRACK_VIEWS`): ``"clean"`` (eval mode, test
    transform; the label-dispersion paper), ``"train_aug"`` (eval mode, training
    augmentation; the dispersion research code) or ``"train"`` (train mode,
    training augmentation: the view in which the trainer records the labeled
    set's running mean, TiDAL's target). Augmentation draws come from the
    tracker's own generator, so training draws are unaffected; the model's mode
    and buffers are restored afterwards.

    Args:
        images: (n, H, W, C_in) uint8 candidate images.
        num_classes: C.
        augment: the training augmentation (its normalisation is used for both views).
        config: the cycle's settings: ``eval_batch_size`` images per forward pass,
            autocast as in training (:func:`~albench.training.precision.resolve_precision`;
            the softmax is taken in float32).
        view: ``"clean"``, ``"train_aug"`` or ``"train"``.
        device: where images and records live.
        seed: seeds the augmentation generator of the augmented views.
        interval: None → record on the training's tracking schedule
            (:meth:`~albench.config.Schedule.records_after`); k → every k epochs and after
            the last (:meth:`~albench.config.Schedule.diagnostics_after`), for a tracker
            kept only for the KL diagnostics.

    Attributes:
        labels: (n, T) predicted label per record (dtype from :func:`label_dtype`).
        mean_probs: (n, C) float32 running mean of the recorded softmax.
        num_records: T.
    """

    def __init__(
        self,
        images: np.ndarray | Tensor,
        num_classes: int,
        augment: BatchAugment,
        config: TrainConfig | None = None,
        *,
        view: str = "clean",
        device: torch.device | str = "cpu",
        seed: int = 0,
        interval: int | None = None,
    ) -> None:
        if view not in TRACK_VIEWS:
            raise ValueError(f"view must be one of {', '.join(TRACK_VIEWS)}, got {view!r}")
        config = config or TrainConfig()
        self.device = torch.device(device)
        self.images = as_uint8_tensor(images, self.device)  # (n, H, W, C_in)
        self.num_classes = num_classes
        self.augment = augment
        self.view = view
        self.batch_size = config.eval_batch_size
        self.precision = resolve_precision(config, self.device)
        self.interval = checks.check_optional_int(interval, "interval", minimum=1)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.mean_probs = torch.zeros(len(self.images), num_classes, device=self.device)  # (n, C)
        self._labels: list[Tensor] = []  # T × (n,)

    @property
    def num_records(self) -> int:
        return len(self._labels)

    @property
    def labels(self) -> Tensor:
        if not self._labels:
            return torch.zeros(
                len(self.images), 0, dtype=label_dtype(self.num_classes), device=self.device
            )
        return torch.stack(self._labels, dim=1)  # (n, T)

    @torch.no_grad()
    def record(self, model: nn.Module) -> None:
        """One pass over the candidates in this tracker's view; appends a column to :attr:`labels`.

        The ``"train"`` view runs the model in train mode (BatchNorm normalises each
        batch by its own statistics, as in the training forward pass) and restores
        every buffer afterwards, so the running statistics training uses are untouched.
        """
        was_training = model.training
        buffers = [b.clone() for b in model.buffers()] if self.view == "train" else []
        model.train(self.view == "train")
        try:
            probs = torch.cat(
                [self._probs(model, start) for start in range(0, len(self.images), self.batch_size)]
            )
        finally:
            model.train(was_training)
            for buffer, saved in zip(model.buffers(), buffers, strict=False):
                buffer.copy_(saved)
        t = self.num_records
        self.mean_probs.mul_(t).add_(probs).div_(t + 1)  # (n, C)
        self._labels.append(probs.argmax(dim=1).to(label_dtype(self.num_classes)))  # (n,)

    def _probs(self, model: nn.Module, start: int) -> Tensor:
        batch = self.images[start : start + self.batch_size]  # (B, H, W, C_in)
        if self.view == "clean":
            x = self.augment.norm.apply(batch)  # (B, C_in, H, W)
        else:
            prepared = self.augment.prepare(batch, self.device, channels_last=True)
            x = self.augment(prepared, torch.arange(len(batch), device=self.device), self.generator)
        with self.precision.autocast():
            logits = model(x).logits
        return logits.float().softmax(dim=1)  # (B, C)
