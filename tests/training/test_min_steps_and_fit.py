"""The ``min_steps`` schedule floor, fit metrics, evenly spaced tracking, and determinism."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from albench.config import Schedule, TrainConfig
from albench.models.base import Backbone
from albench.models.small_cnn import SmallCNN
from albench.training.augment import BatchAugment, Normalization
from albench.training.dynamics import CandidateTracker
from albench.training.evaluate import predict
from albench.training.trainer import TrainHooks, train
from trainer_support import QuadraticAux, quadrant_data, small_model

QUIET = TrainHooks(progress=False)


@pytest.mark.parametrize(
    ("config", "m", "expected"),
    [
        # Unset: the nominal schedule whatever the set size (40 steps on 200 labels).
        (TrainConfig(epochs=10, batch_size=64, milestones=(8,)), 200, Schedule(10, (8,), 4)),
        # 200 labels, batch 64: s = 4, 10·4 = 40 < 500 → E' = 125, M' = 8·125/10 = 100.
        (
            TrainConfig(epochs=10, batch_size=64, milestones=(8,), min_steps=500),
            200,
            Schedule(125, (100,), 4),
        ),
        # 1,000 labels: s = 16, E' = ⌈500/16⌉ = 32, M' = ⌊25.6 + ½⌋ = 26.
        (
            TrainConfig(epochs=10, batch_size=64, milestones=(8,), min_steps=500),
            1000,
            Schedule(32, (26,), 16),
        ),
        # Boundary: E·s = 160 = min_steps is enough, nothing changes ...
        (
            TrainConfig(epochs=10, batch_size=64, milestones=(8,), min_steps=160),
            1000,
            Schedule(10, (8,), 16),
        ),
        # ... one step more: E' = ⌈161/16⌉ = 11, M' = ⌊8.8 + ½⌋ = 9.
        (
            TrainConfig(epochs=10, batch_size=64, milestones=(8,), min_steps=161),
            1000,
            Schedule(11, (9,), 16),
        ),
        # Halves round up: E = 4 → E' = 6, M = 1 → 1.5 → 2 and M = 3 → 4.5 → 5 (banker's: 2, 4).
        (
            TrainConfig(epochs=4, batch_size=10, milestones=(1, 3), min_steps=6),
            10,
            Schedule(6, (2, 5), 1),
        ),
        # A milestone beyond the nominal end stays beyond the stretched one (never fires).
        (
            TrainConfig(epochs=10, batch_size=10, milestones=(8, 12), min_steps=40),
            7,
            Schedule(40, (32, 48), 1),
        ),
        # Last partial batch is a step: 70 images at batch 32 → 3 steps/epoch, E' = ⌈20/3⌉ = 7.
        (
            TrainConfig(epochs=2, batch_size=32, milestones=(), min_steps=20),
            70,
            Schedule(7, (), 3),
        ),
    ],
)
def test_schedule_stretches_epochs_and_milestones(config, m, expected) -> None:
    schedule = config.schedule(m)
    assert schedule == expected
    assert schedule.steps == expected.epochs * expected.steps_per_epoch
    if config.min_steps is not None:
        assert schedule.steps >= config.min_steps
        assert schedule.steps - schedule.steps_per_epoch < max(
            config.min_steps, config.epochs * schedule.steps_per_epoch
        )


def test_schedule_milestones_stay_strictly_increasing_and_in_range() -> None:
    # Crowded milestones (every epoch) under every stretch ratio from 1 to 7.
    for min_steps in range(1, 50):
        config = TrainConfig(
            epochs=7, batch_size=1, milestones=(1, 2, 3, 4, 5, 6, 7), min_steps=min_steps
        )
        schedule = config.schedule(1)
        assert schedule.epochs == max(7, min_steps)
        assert list(schedule.milestones) == sorted(set(schedule.milestones))
        assert schedule.milestones[0] >= 1 and schedule.milestones[-1] == schedule.epochs


def test_min_steps_is_validated() -> None:
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="min_steps must be null or an integer >= 1"):
            TrainConfig(min_steps=bad)
    cfg = TrainConfig.from_dict({"epochs": 10, "min_steps": 500})
    assert cfg.min_steps == 500 and TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        cfg.schedule(0)


def test_trainer_runs_the_stretched_schedule() -> None:
    images, labels = quadrant_data(40)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=False)
    # 40 images at batch 16: s = 3, 2·3 = 6 < 14 → E' = ⌈14/3⌉ = 5, milestone 1 → ⌊2.5 + ½⌋ = 3.
    config = TrainConfig(epochs=2, batch_size=16, lr=0.1, milestones=(1,), min_steps=14)
    aux = QuadraticAux()
    result = train(
        small_model(),
        images,
        labels,
        config,
        augment=augment,
        seed=0,
        hooks=TrainHooks(aux=[aux], progress=False),
    )
    assert (result.epochs, result.steps, result.milestones) == (5, 15, (3,))
    assert len(result.loss_history) == len(result.accuracy_history) == 5
    assert aux.seen == [(e, 5) for e in range(5) for _ in range(3)]  # AuxBatch.num_epochs = E'
    assert result.recorder is not None and (result.recorder.visits == 5).all()  # one visit/epoch
    # The LR really drops after epoch 3 of 5: the same SGD on ½w² alone.
    w = nn.Parameter(torch.tensor(1.0))
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3], gamma=0.1)
    for _ in range(5):
        for _ in range(3):
            optimizer.zero_grad()
            (0.5 * w**2).backward()
            optimizer.step()
        scheduler.step()
    torch.testing.assert_close(aux.w.detach(), w.detach())


def test_an_unstretched_min_steps_trains_bit_identically_to_none() -> None:
    images, labels = quadrant_data(70)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=True)
    base = TrainConfig(epochs=3, batch_size=32, lr=0.05, milestones=(2,))
    plain, floored = small_model(), small_model()
    a = train(plain, images, labels, base, augment=augment, seed=3, hooks=QUIET)
    floor = TrainConfig(epochs=3, batch_size=32, lr=0.05, milestones=(2,), min_steps=9)  # 3·3 = 9
    b = train(floored, images, labels, floor, augment=augment, seed=3, hooks=QUIET)
    assert (a.epochs, a.steps, b.epochs, b.steps) == (3, 9, 3, 9)
    for key, value in plain.state_dict().items():
        assert torch.equal(value, floored.state_dict()[key]), key
    assert (a.loss_history, a.fit_accuracy, a.fit_loss) == (
        b.loss_history,
        b.fit_accuracy,
        b.fit_loss,
    )


def test_same_seed_gives_identical_weights_and_fit_with_min_steps() -> None:
    images, labels = quadrant_data(50)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=True)
    config = TrainConfig(epochs=1, batch_size=16, lr=0.05, milestones=(1,), min_steps=12)
    runs = []
    for _ in range(2):
        model = small_model()
        result = train(model, images, labels, config, augment=augment, seed=7, hooks=QUIET)
        runs.append((model.state_dict(), result))
    (state_a, a), (state_b, b) = runs
    assert a.epochs == 3 and a.steps == 12 and a.milestones == (3,)  # 1 → ⌊1·3/1 + ½⌋ = 3
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert (a.fit_accuracy, a.fit_loss, a.loss_history) == (
        b.fit_accuracy,
        b.fit_loss,
        b.loss_history,
    )


class ConstantLogits(Backbone):
    """Logits 0 for every class whatever the input (a trainable scalar with zero gradient)."""

    num_classes = 4
    embedding_dim = 1
    stage_channels = (1,)

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.head = nn.Linear(1, 4)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.head.requires_grad_(False)

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        embedding = x.mean(dim=(1, 2, 3)).unsqueeze(1) * 0 + 0 * self.w  # (B, 1) zeros
        return embedding, [x[:, :1]]


def test_fit_metrics_on_hand_computed_constant_logits() -> None:
    images, _ = quadrant_data(10)
    labels = np.array([0, 0, 0, 1, 2, 3, 3, 1, 2, 2])  # 3 of 10 are class 0
    augment = BatchAugment(Normalization.from_images(images), crop_padding=2, hflip=True)
    result = train(
        ConstantLogits(),
        images,
        labels,
        TrainConfig(epochs=2, batch_size=4, eval_batch_size=3),
        augment=augment,
        seed=0,
        hooks=QUIET,
    )
    # Equal logits: CE = ln 4 for every sample; argmax of a tie is class 0 → accuracy 3/10.
    assert result.fit_loss == pytest.approx(math.log(4), abs=1e-6)
    assert result.fit_accuracy == pytest.approx(0.3)
    assert result.loss == pytest.approx(math.log(4), abs=1e-6)  # the last epoch's batches too


def test_fit_metrics_are_the_final_model_in_eval_mode_on_clean_images(digits) -> None:
    """A small CNN memorises 120 8×8 digits without augmentation: fit accuracy 1."""
    images = np.asarray(digits.train_images[:120])
    labels = np.array(digits.train_labels[:120])
    norm = Normalization.from_images(images)
    augment = BatchAugment(norm, crop_padding=0, hflip=False)
    torch.manual_seed(0)
    model = SmallCNN(in_channels=1, num_classes=10, widths=(16, 32, 64))
    config = TrainConfig(epochs=5, batch_size=32, lr=0.05, milestones=(4,), min_steps=160)
    result = train(model, images, labels, config, augment=augment, seed=0, hooks=QUIET)
    assert (result.epochs, result.steps, result.milestones) == (40, 160, (32,))  # s = 4
    assert model.training  # mode restored after the fit pass
    logits, _ = predict(model, images, norm, 64)  # independent eval-mode pass
    y = torch.from_numpy(labels)
    assert result.fit_accuracy == float((logits.argmax(1) == y).double().mean()) == 1.0
    ce = torch.nn.functional.cross_entropy(logits, y).item()
    assert result.fit_loss == pytest.approx(ce, rel=1e-5) and result.fit_loss < 0.05
    assert result.accuracy == result.accuracy_history[-1]


@pytest.mark.parametrize(
    ("num_epochs", "records", "after"),
    [
        (10, 4, [2, 4, 7, 9]),  # ⌊(e+1)·4/10⌋ steps up after epochs 2, 4, 7, 9
        (100, 30, None),  # checked by count below
        (5, 5, [0, 1, 2, 3, 4]),
        (3, 8, [0, 1, 2]),  # more records than epochs: every epoch
        (7, 1, [6]),  # one record: after the last epoch
    ],
)
def test_track_records_are_evenly_spaced(num_epochs: int, records: int, after) -> None:
    config = TrainConfig(epochs=num_epochs, batch_size=1, track_records=records)
    schedule = config.schedule(1)
    chosen = [e for e in range(num_epochs) if schedule.records_after(e, config)]
    assert len(chosen) == min(records, num_epochs) and chosen[-1] == num_epochs - 1
    if after is not None:
        assert chosen == after
    gaps = np.diff([-1, *chosen])
    assert gaps.max() - gaps.min() <= 1  # as even as integers allow


def test_track_records_caps_the_tracking_passes_of_a_stretched_cycle() -> None:
    images, labels = quadrant_data(32)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=False)
    # 32 images at batch 16: s = 2, E' = ⌈20/2⌉ = 10 epochs; 4 records after epochs 2, 4, 7, 9.
    config = TrainConfig(epochs=2, batch_size=16, milestones=(), min_steps=20, track_records=4)
    tracker = CandidateTracker(images[:6], 4, augment, config)
    plain = small_model()
    train(
        plain,
        images,
        labels,
        dataclasses.replace(config, track_records=None),
        augment=augment,
        seed=1,
        hooks=QUIET,
    )
    tracked = small_model()
    result = train(
        tracked,
        images,
        labels,
        config,
        augment=augment,
        seed=1,
        hooks=TrainHooks(trackers=[tracker], progress=False),
    )
    assert result.epochs == 10 and tracker.num_records == 4
    for key, value in plain.state_dict().items():  # tracking never changes training
        assert torch.equal(value, tracked.state_dict()[key]), key
    with pytest.raises(ValueError, match="give track_interval or track_records, not both"):
        TrainConfig(track_interval=2, track_records=5)
    with pytest.raises(ValueError, match="track_records must be null or an integer >= 1"):
        TrainConfig(track_records=0)
