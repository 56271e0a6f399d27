"""The training loop of one active-learning cycle, airbench-style.

The labeled set lives on the device as one normalised, padded float tensor;
each epoch draws a seeded ``randperm`` and slices it into batches (the last
partial batch is kept); augmentation runs on whole batches
(:mod:`albench.training.augment`) and, by default, yields channels-last (NHWC)
batches, on which convolutions train 10–35 % faster on the CPU (and which AMP on
CUDA prefers; there the weights are converted to channels-last too, so cuDNN does not
re-layout every weight on every call). No DataLoader, no worker processes, and no host
synchronisation inside an epoch: loss and accuracy are summed on the device and read
once per epoch only when progress is shown, and once at the end; under fp16 autocast
the GradScaler's overflow check stays on the device (:mod:`albench.training.sgd`), and
bf16 (the CUDA default where supported, :mod:`albench.training.precision`) needs no
scaler at all. ``tests/training/test_host_syncs.py`` counts the syncs.

The loop follows the official TiDAL code (``main.py``,
``train_test/train_test.py``): SGD with momentum and weight decay, the learning
rate stepped down at epoch milestones, cross-entropy; the optimizer state and
the learning rate are reset on every call (each cycle), whether or not the model
is warm-started. Each auxiliary objective (TiDAL's TD predictor, LL4AL's loss
predictor) is trained with the same SGD hyper-parameters and schedule, and its
loss is added to the classifier's: L = CE.mean() + Σ aux.loss(batch). The
optimizer is :class:`albench.training.sgd.SGD` (the bits of ``torch.optim.SGD``).

A cycle runs ``config.epochs`` epochs, or, when ``config.min_steps`` is set and
the labeled set is too small for that many steps, the stretched schedule of
:meth:`~albench.config.TrainConfig.schedule`. After the last epoch one eval-mode
pass over the clean labeled set measures how well the final model fits it
(:attr:`TrainResult.fit_accuracy`, :attr:`TrainResult.fit_loss`).

The loop is model-agnostic: anything that returns a
:class:`~albench.models.base.ModelOutput` trains here.

References:
    Kye, Choi, Byun, Chang. "TiDAL: Learning Training Dynamics for Active
    Learning." ICCV 2023. arXiv:2210.06788.
    Jordan. "94% on CIFAR-10 in 3.29 Seconds on a Single GPU." 2024.
    arXiv:2404.00498 (the airbench data pipeline).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from albench.config import Schedule, TrainConfig
from albench.device import channels_last_weights, configure_determinism, default_deterministic
from albench.models.base import Backbone
from albench.training.augment import BatchAugment
from albench.training.dynamics import CandidateTracker, DynamicsRecorder
from albench.training.evaluate import model_device, predict
from albench.training.objectives import AuxBatch, AuxiliaryObjective
from albench.training.precision import resolve_precision
from albench.training.sgd import SGD, step_lr

LOG_EVERY_S = 10.0  # without a progress bar: a progress line at most this often


@dataclass(frozen=True)
class TrainHooks:
    """What rides along with a cycle's training, besides the backbone itself.

    Attributes:
        aux: auxiliary objectives trained jointly; each receives an
            :class:`~albench.training.objectives.AuxBatch` per batch.
        trackers: record predictions on the scored subset during training (one per view).
        record_dynamics: keep TiDAL's running-mean softmax of the labeled set even
            without auxiliary objectives (always kept when ``aux`` is non-empty).
        progress: a tqdm bar over epochs; None → only when stderr is a TTY. Without
            a bar, a progress line goes to stderr every :data:`LOG_EVERY_S` seconds.
        desc: the bar's and the progress lines' label.
    """

    aux: Sequence[AuxiliaryObjective] = ()
    trackers: Sequence[CandidateTracker] = ()
    record_dynamics: bool = False
    progress: bool | None = None
    desc: str = "train"


@dataclass
class TrainResult:
    """What one call of :func:`train` produced.

    Two kinds of training-set figures, not to be confused: ``loss``/``accuracy``
    average the *last epoch's training batches* (train mode, augmented view, each
    batch seen before its step: they lag the final model), while
    ``fit_loss``/``fit_accuracy`` measure the *final* model in eval mode on the
    clean labeled set, once after training: whether the model fits its labeled set.

    Attributes:
        loss: mean cross-entropy over the last epoch (train mode, augmented view).
        accuracy: top-1 accuracy over the last epoch, in [0, 1] (same view).
        epochs: epochs run (E′ when ``min_steps`` stretched the schedule).
        wall_time_s: seconds for the whole call (data preparation, training,
            tracking, the fit pass).
        images_per_s: labeled images × epochs / wall time.
        recorder: TiDAL's running-mean softmax of the labeled set, or None.
        amp: whether mixed precision (autocast) was used.
        determinism: flags set by :func:`albench.device.configure_determinism`.
        loss_history: (epochs,) mean cross-entropy of every epoch.
        accuracy_history: (epochs,) accuracy of every epoch.
        steps: optimizer steps taken.
        milestones: the learning-rate milestones used, in effective epochs.
        fit_loss: mean cross-entropy of the final model on the clean labeled set.
        fit_accuracy: accuracy of the final model on the clean labeled set.
        amp_dtype: the autocast dtype used: ``"off"`` (fp32), ``"bf16"`` or ``"fp16"``.
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
    steps: int = 0
    milestones: tuple[int, ...] = ()
    fit_loss: float = float("nan")
    fit_accuracy: float = float("nan")
    amp_dtype: str = "off"


def train(
    model: Backbone,
    images: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    config: TrainConfig,
    *,
    augment: BatchAugment,
    seed: int,
    hooks: TrainHooks = TrainHooks(),
) -> TrainResult:
    """Train ``model`` (and any auxiliary objectives) on the labeled set for one cycle.

    Args:
        model: the backbone, initialised (or warm-started) by the caller and moved to
            the device training runs on (the objectives are moved there too).
        images: (m, H, W, C_in) uint8 labeled images.
        labels: (m,) class indices in [0, C).
        config: schedule and optimizer settings.
        augment: training augmentation (normalisation, crop padding, flip).
        seed: seeds the batch order and augmentation draws (and torch's global
            generators, via :func:`~albench.device.configure_determinism`).
        hooks: auxiliary objectives, candidate trackers and progress display.

    Returns:
        A :class:`TrainResult`.
    """
    start_time = time.perf_counter()
    device = model_device(model)
    deterministic = config.deterministic
    if deterministic is None:
        deterministic = default_deterministic(device)
    determinism = configure_determinism(deterministic, seed)
    precision = resolve_precision(config, device)

    x_all = augment.prepare(images, device, config.channels_last)  # (m, C_in, H+2p, W+2p)
    y_all = torch.as_tensor(np.array(labels) if not isinstance(labels, Tensor) else labels)
    y_all = y_all.to(device=device, dtype=torch.long)  # (m,)
    num_samples = len(x_all)
    _check_labels(y_all, num_samples, model.num_classes)
    schedule = config.schedule(num_samples)

    model.train()
    for objective in hooks.aux:
        objective.to(device).train()
    if channels_last_weights(device, config.channels_last):
        for module in (model, *hooks.aux):
            module.to(memory_format=torch.channels_last)  # 4-D weights only
    optimizer = SGD(
        [model, *hooks.aux],
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
    )
    scaler = precision.grad_scaler()
    autocast = precision.autocast()
    recorder = None
    if hooks.aux or hooks.record_dynamics:
        recorder = DynamicsRecorder(num_samples, model.num_classes, device)
    generator = torch.Generator(device=device).manual_seed(seed)
    progress = _Progress(hooks, schedule.epochs, num_samples)

    loss_sums, correct_sums = [], []
    for epoch in progress.epochs():
        optimizer.lr = step_lr(config.lr, schedule.milestones, config.gamma, epoch)
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
                if hooks.aux:
                    batch = AuxBatch(output, y, per_sample_ce, td_target, epoch, schedule.epochs)
                    with autocast:
                        for objective in hooks.aux:
                            loss = loss + objective.loss(batch)
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += per_sample_ce.detach().sum()
            correct += (logits.detach().argmax(dim=1) == y).sum()
        for tracker in hooks.trackers:
            if _tracker_due(tracker, schedule, epoch, config):
                tracker.record(model)
        loss_sums.append(loss_sum)
        correct_sums.append(correct)
        progress.epoch_done(epoch, loss_sum, correct)
    progress.close()

    losses = (torch.stack(loss_sums) / num_samples).tolist()  # (epochs,)
    accuracies = (torch.stack(correct_sums).double() / num_samples).tolist()  # (epochs,)
    if recorder is not None:
        recorder.check_complete(schedule.epochs)
    fit_loss, fit_accuracy = fit_metrics(model, images, y_all, augment, config.eval_batch_size)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start_time
    return TrainResult(
        loss=losses[-1],
        accuracy=accuracies[-1],
        epochs=schedule.epochs,
        wall_time_s=wall,
        images_per_s=num_samples * schedule.epochs / wall,
        recorder=recorder,
        amp=precision.enabled,
        determinism=determinism,
        loss_history=losses,
        accuracy_history=accuracies,
        steps=schedule.steps,
        milestones=schedule.milestones,
        fit_loss=fit_loss,
        fit_accuracy=fit_accuracy,
        amp_dtype=precision.name,
    )


def _tracker_due(tracker: CandidateTracker, schedule: Schedule, epoch: int, config) -> bool:
    """Whether ``tracker`` records after ``epoch``: the tracking schedule, or, for a tracker
    kept only for the diagnostics, its own ``interval`` (:meth:`Schedule.diagnostics_after`)."""
    if tracker.interval is None:
        return schedule.records_after(epoch, config)
    return schedule.diagnostics_after(epoch, tracker.interval)


def fit_metrics(
    model: Backbone,
    images: np.ndarray | Tensor,
    labels: Tensor,
    augment: BatchAugment,
    batch_size: int,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` in eval mode on the clean labeled images
    (the pixels :func:`~albench.training.evaluate.predict` sees at test time)."""
    logits, _ = predict(model, images, augment.norm, batch_size)  # (m, C)
    labels = labels.to(logits.device)
    loss = F.cross_entropy(logits, labels, reduction="sum").double() / len(labels)
    accuracy = (logits.argmax(dim=1) == labels).double().mean()
    return float(loss), float(accuracy)


class _Progress:
    """A tqdm bar on a TTY; otherwise a line on stderr at most every :data:`LOG_EVERY_S` s."""

    def __init__(self, hooks: TrainHooks, epochs: int, num_samples: int) -> None:
        self.bar = sys.stderr.isatty() if hooks.progress is None else hooks.progress
        self.desc, self.total, self.num_samples = hooks.desc, epochs, num_samples
        self.started = self.last = time.perf_counter()
        self._epochs = tqdm(
            range(epochs), desc=hooks.desc, disable=not self.bar, leave=False, file=sys.stderr
        )

    def epochs(self):
        return self._epochs

    def epoch_done(self, epoch: int, loss_sum: Tensor, correct: Tensor) -> None:
        now = time.perf_counter()
        last = epoch + 1 == self.total
        if self.bar:
            self._epochs.set_postfix(
                loss=f"{loss_sum.item() / self.num_samples:.4f}",
                acc=f"{correct.item() / self.num_samples:.3f}",
            )
        elif last or now - self.last >= LOG_EVERY_S:
            self.last = now
            print(
                f"{self.desc}: epoch {epoch + 1}/{self.total}, loss "
                f"{loss_sum.item() / self.num_samples:.4f}, accuracy "
                f"{correct.item() / self.num_samples:.3f} (train batches), "
                f"{now - self.started:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        self._epochs.close()


def _check_labels(labels: Tensor, num_samples: int, num_classes: int) -> None:
    if labels.shape != (num_samples,):
        raise ValueError(f"{num_samples} images but labels of shape {tuple(labels.shape)}")
    if num_samples == 0:
        raise ValueError("cannot train on an empty labeled set")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got values in [{low}, {high}]")
