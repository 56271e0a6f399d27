"""The training loop of one active-learning cycle, airbench-style.

The labeled set lives on the device as one normalised, padded float tensor;
each epoch draws a seeded ``randperm`` and slices it into batches (the last
partial batch is kept); augmentation runs on whole batches
(:mod:`albench.training.augment`) and, by default, yields channels-last (NHWC)
batches, on which convolutions train 10–35 % faster on the CPU (and which AMP on
CUDA prefers). No DataLoader, no worker processes, and no
host synchronisation inside an epoch: loss and accuracy are summed on the
device and read once per epoch (only when a progress bar shows them) and once
at the end.

The loop follows the official TiDAL code (``main.py``,
``train_test/train_test.py``): SGD with momentum and weight decay,
MultiStepLR stepped once per epoch, cross-entropy; optimizers and schedulers
are rebuilt on every call (LR back to its initial value each cycle), whether or
not the model is warm-started. Each auxiliary objective (TiDAL's TD predictor,
LL4AL's loss predictor) gets its own SGD optimizer with the same
hyper-parameters and the same schedule, and its loss is added to the
classifier's: L = CE.mean() + Σ aux.loss(batch).

The loop is model-agnostic: anything that returns a
:class:`~albench.models.base.ModelOutput` trains here.

References:
    Kye, Choi, Byun, Chang. "TiDAL: Learning Training Dynamics for Active
    Learning." ICCV 2023. arXiv:2210.06788.
    Jordan. "94% on CIFAR-10 in 3.29 Seconds on a Single GPU." 2024.
    arXiv:2404.00498 (the airbench data pipeline).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from albench.config import TrainConfig
from albench.device import configure_determinism, default_deterministic
from albench.models.base import Backbone
from albench.training.augment import BatchAugment
from albench.training.dynamics import CandidateTracker, DynamicsRecorder
from albench.training.objectives import AuxBatch, AuxiliaryObjective


@dataclass
class TrainResult:
    """What one call of :func:`train` produced.

    Attributes:
        loss: mean cross-entropy over the last epoch (train mode, augmented view).
        accuracy: top-1 accuracy over the last epoch, in [0, 1] (same view).
        epochs: epochs run.
        wall_time_s: seconds for the whole call (data preparation, training, tracking).
        images_per_s: labeled images × epochs / wall time.
        recorder: TiDAL's running-mean softmax of the labeled set, or None.
        amp: whether mixed precision was used (CUDA only).
        determinism: flags set by :func:`albench.device.configure_determinism`.
        loss_history: (epochs,) mean cross-entropy of every epoch.
        accuracy_history: (epochs,) accuracy of every epoch.
    """

    loss: float
    accuracy: float
    epochs: int
    wall_time_s: float
    images_per_s: float
    recorder: DynamicsRecorder | None
    amp: bool
    determinism: dict[str, object] = field(default_factory=dict)
    loss_history: list[float] = field(default_factory=list)
    accuracy_history: list[float] = field(default_factory=list)


def make_optimizer(
    module: nn.Module, config: TrainConfig
) -> tuple[torch.optim.SGD, torch.optim.lr_scheduler.MultiStepLR]:
    """SGD + MultiStepLR with the cycle's hyper-parameters (same for classifier and modules)."""
    optimizer = torch.optim.SGD(
        module.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(config.milestones), gamma=config.gamma
    )
    return optimizer, scheduler


def train(
    model: Backbone,
    images: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    config: TrainConfig,
    *,
    augment: BatchAugment,
    seed: int,
    device: torch.device | str = "cpu",
    aux: Sequence[AuxiliaryObjective] = (),
    record_dynamics: bool = False,
    trackers: Sequence[CandidateTracker] = (),
    progress: bool | None = None,
    desc: str = "train",
) -> TrainResult:
    """Train ``model`` (and any auxiliary objectives) on the labeled set for one cycle.

    Args:
        model: the backbone, initialised (or warm-started) by the caller; moved to ``device``.
        images: (m, H, W, C_in) uint8 labeled images.
        labels: (m,) class indices in [0, C).
        config: schedule and optimizer settings.
        augment: training augmentation (normalisation, crop padding, flip).
        seed: seeds the batch order and augmentation draws (and torch's global
            generators, via :func:`~albench.device.configure_determinism`).
        device: where data, model and statistics live.
        aux: auxiliary objectives trained jointly; each receives an
            :class:`~albench.training.objectives.AuxBatch` per batch.
        record_dynamics: keep TiDAL's running-mean softmax of the labeled set even
            without auxiliary objectives (always kept when ``aux`` is non-empty,
            since :attr:`AuxBatch.td_target` is part of the batch contract).
        trackers: each records predictions on the scored subset after every
            ``tracker.interval``-th epoch (one per view).
        progress: show a tqdm bar over epochs; None → only when stderr is a TTY.
        desc: the bar's label.

    Returns:
        A :class:`TrainResult`.
    """
    start_time = time.perf_counter()
    device = torch.device(device)
    deterministic = config.deterministic
    if deterministic is None:
        deterministic = default_deterministic(device)
    determinism = configure_determinism(deterministic, seed)
    use_amp = config.amp and device.type == "cuda"

    x_all = augment.prepare(images, device, config.channels_last)  # (m, C_in, H+2p, W+2p)
    y_all = torch.as_tensor(np.array(labels) if not isinstance(labels, Tensor) else labels)
    y_all = y_all.to(device=device, dtype=torch.long)  # (m,)
    num_samples = len(x_all)
    _check_labels(y_all, num_samples, model.num_classes)

    model.to(device).train()
    modules: list[nn.Module] = [model]
    for objective in aux:
        objective.to(device).train()
        if any(True for _ in objective.parameters()):
            modules.append(objective)
    optimizers, schedulers = zip(
        *(make_optimizer(module, config) for module in modules), strict=True
    )
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    autocast = (
        torch.autocast(device.type, dtype=torch.float16) if use_amp else contextlib.nullcontext()
    )
    recorder = (
        DynamicsRecorder(num_samples, model.num_classes, device) if aux or record_dynamics else None
    )
    generator = torch.Generator(device=device).manual_seed(seed)

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(range(config.epochs), desc=desc, disable=not show, leave=False, file=sys.stderr)
    loss_sums, correct_sums = [], []
    for epoch in bar:
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        order = torch.randperm(num_samples, generator=generator, device=device)  # (m,)
        for begin in range(0, num_samples, config.batch_size):
            idx = order[begin : begin + config.batch_size]  # (B,)
            x = augment(x_all, idx, generator)  # (B, C_in, H, W)
            y = y_all[idx]  # (B,)
            with autocast:
                output = model(x)
            logits = output.logits.float()  # (B, C)
            per_sample_ce = F.cross_entropy(logits, y, reduction="none")  # (B,)
            loss = per_sample_ce.mean()
            if recorder is not None:
                td_target = recorder.update(idx, logits.detach().softmax(dim=1), epoch)  # (B, C)
                if aux:
                    batch = AuxBatch(output, y, per_sample_ce, td_target, epoch, config.epochs)
                    with autocast:
                        for objective in aux:
                            loss = loss + objective.loss(batch)
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            for optimizer in optimizers:
                scaler.step(optimizer)
            scaler.update()
            loss_sum += per_sample_ce.detach().sum()
            correct += (logits.detach().argmax(dim=1) == y).sum()
        for scheduler in schedulers:
            scheduler.step()
        for tracker in trackers:
            if tracker.should_record(epoch):
                tracker.record(model)
        loss_sums.append(loss_sum)
        correct_sums.append(correct)
        if show:
            bar.set_postfix(
                loss=f"{loss_sum.item() / num_samples:.4f}",
                acc=f"{correct.item() / num_samples:.3f}",
            )
    bar.close()

    losses = (torch.stack(loss_sums) / num_samples).tolist()  # (epochs,)
    accuracies = (torch.stack(correct_sums).double() / num_samples).tolist()  # (epochs,)
    if recorder is not None:
        recorder.check_complete(config.epochs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start_time
    return TrainResult(
        loss=losses[-1],
        accuracy=accuracies[-1],
        epochs=config.epochs,
        wall_time_s=wall,
        images_per_s=num_samples * config.epochs / wall,
        recorder=recorder,
        amp=use_amp,
        determinism=determinism,
        loss_history=losses,
        accuracy_history=accuracies,
    )


def _check_labels(labels: Tensor, num_samples: int, num_classes: int) -> None:
    if labels.shape != (num_samples,):
        raise ValueError(f"{num_samples} images but labels of shape {tuple(labels.shape)}")
    if num_samples == 0:
        raise ValueError("cannot train on an empty labeled set")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got values in [{low}, {high}]")
