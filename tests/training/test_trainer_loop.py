"""The trainer: determinism, learning, auxiliary objectives, tracking, no AMP on CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albench.config import TrainConfig
from albench.training.augment import BatchAugment, Normalization
from albench.training.dynamics import CandidateTracker
from albench.training.trainer import TrainHooks, train
from trainer_support import QuadraticAux, quadrant_data, small_model

QUIET = TrainHooks(progress=False)


def _setup(n: int = 96) -> tuple[np.ndarray, np.ndarray, BatchAugment]:
    images, labels = quadrant_data(n)
    return (
        images,
        labels,
        BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=False),
    )


def test_same_seed_gives_bit_identical_weights() -> None:
    images, labels, augment = _setup(70)
    config = TrainConfig(epochs=2, batch_size=32, lr=0.05)  # batches of 32, 32, 6
    states = []
    for _ in range(2):
        model = small_model()
        train(model, images, labels, config, augment=augment, seed=4, hooks=QUIET)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    other = small_model()
    train(other, images, labels, config, augment=augment, seed=5, hooks=QUIET)
    assert not torch.equal(other.head.weight, states[0]["head.weight"])


def test_loss_decreases_and_the_model_learns() -> None:
    images, labels, augment = _setup()
    config = TrainConfig(epochs=15, batch_size=16, lr=0.05, milestones=(12,))
    result = train(small_model(), images, labels, config, augment=augment, seed=0, hooks=QUIET)
    assert result.epochs == 15 and len(result.loss_history) == 15
    assert result.loss_history[-1] < 0.5 * result.loss_history[0]
    assert result.accuracy >= 0.9 and result.accuracy == result.accuracy_history[-1]
    assert result.images_per_s == pytest.approx(96 * 15 / result.wall_time_s)
    assert result.recorder is None


def test_no_amp_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("autocast must not be used on CPU")

    monkeypatch.setattr(torch, "autocast", forbidden)
    images, labels, augment = _setup(32)
    config = TrainConfig(epochs=1, batch_size=16, amp=True, channels_last=False)
    result = train(small_model(), images, labels, config, augment=augment, seed=0, hooks=QUIET)
    assert result.amp is False and len(result.loss_history) == 1
    assert result.determinism["deterministic"] is True  # the CPU default


def test_aux_gets_the_same_sgd_and_schedule_and_the_td_target() -> None:
    images, labels, augment = _setup(40)
    config = TrainConfig(epochs=3, batch_size=16, lr=0.1, milestones=(2,), gamma=0.1, nesterov=True)
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
    # Reference: the same optimizer and schedule on ½w² alone (its gradient does not
    # depend on the classifier), 3 steps per epoch (16 + 16 + 8 samples).
    w = torch.nn.Parameter(torch.tensor(1.0))
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2], gamma=0.1)
    for _ in range(3):
        for _ in range(3):
            optimizer.zero_grad()
            (0.5 * w**2).backward()
            optimizer.step()
        scheduler.step()
    torch.testing.assert_close(aux.w.detach(), w.detach())

    assert [len(b.targets) for b in aux.batches] == [16, 16, 8] * 3
    assert [b.epoch for b in aux.batches] == [0] * 3 + [1] * 3 + [2] * 3
    assert all(b.num_epochs == 3 for b in aux.batches)
    assert result.recorder is not None  # always on when an auxiliary objective trains
    first_epoch = aux.batches[:3]
    for batch in first_epoch:  # epoch 0: p̄ is exactly this pass's softmax
        torch.testing.assert_close(batch.td_target, batch.output.logits.detach().softmax(dim=1))
        ce = torch.nn.functional.cross_entropy(batch.output.logits, batch.targets, reduction="none")
        torch.testing.assert_close(batch.per_sample_ce.detach(), ce.detach())
    # The final table row of each sample equals the td_target it got in the last epoch.
    last = torch.cat([b.td_target for b in aux.batches[-3:]])
    assert torch.allclose(result.recorder.mean_probs.sum(dim=1), torch.ones(40))
    assert sorted(map(tuple, last.tolist())) == sorted(
        map(tuple, result.recorder.mean_probs.tolist())
    )


def test_tracker_interval_and_tracking_does_not_change_training() -> None:
    images, labels, augment = _setup(48)
    config = TrainConfig(epochs=5, batch_size=16, track_interval=2)
    plain = small_model()
    train(plain, images, labels, config, augment=augment, seed=2, hooks=QUIET)
    tracked = small_model()
    tracker = CandidateTracker(images[:10], 4, augment, config)
    result = train(
        tracked,
        images,
        labels,
        config,
        augment=augment,
        seed=2,
        hooks=TrainHooks(trackers=[tracker], record_dynamics=True, progress=False),
    )
    assert tracker.num_records == 2  # after epochs 1 and 3
    assert tracker.labels.shape == (10, 2) and tracker.labels.dtype == torch.uint8
    assert result.recorder is not None and result.recorder.mean_probs.shape == (48, 4)
    assert tracked.training  # the tracker restored train mode
    for key, value in plain.state_dict().items():
        assert torch.equal(value, tracked.state_dict()[key]), key


def test_bad_labels_are_rejected() -> None:
    images, labels, augment = _setup(8)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\), got values in \[0, 7\]"):
        train(
            small_model(),
            images,
            np.r_[labels[:-1], 7],
            TrainConfig(epochs=1),
            augment=augment,
            seed=0,
            hooks=QUIET,
        )
    with pytest.raises(ValueError, match="8 images but labels of shape"):
        train(
            small_model(),
            images,
            labels[:5],
            TrainConfig(epochs=1),
            augment=augment,
            seed=0,
            hooks=QUIET,
        )


def test_a_diagnostic_tracker_records_every_k_epochs_and_after_the_last() -> None:
    images, labels, augment = _setup(48)
    config = TrainConfig(epochs=10, batch_size=16, track_interval=1)
    schedule = config.schedule(48)
    # k = 4 over 10 epochs: after (0-based) epochs 3, 7 and the last one, 9.
    assert [e for e in range(10) if schedule.diagnostics_after(e, 4)] == [3, 7, 9]
    assert [e for e in range(10) if schedule.diagnostics_after(e, 5)] == [4, 9]
    assert [e for e in range(10) if schedule.diagnostics_after(e, 1)] == list(range(10))
    every = CandidateTracker(images[:10], 4, augment, config)
    sparse = CandidateTracker(images[:10], 4, augment, config, interval=4)
    train(
        small_model(),
        images,
        labels,
        config,
        augment=augment,
        seed=2,
        hooks=TrainHooks(trackers=[every, sparse], progress=False),
    )
    assert (every.num_records, sparse.num_records) == (10, 3)
    # The sparse tracker's records are the full tracker's records 3, 7 and 9 (same model).
    assert torch.equal(sparse.labels, every.labels[:, [3, 7, 9]])


def test_a_tracker_interval_below_one_is_refused_by_name() -> None:
    images, _, augment = _setup(16)
    with pytest.raises(ValueError, match="interval"):
        CandidateTracker(images[:4], 4, augment, TrainConfig(), interval=0)
