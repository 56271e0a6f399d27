"""TiDAL's running-mean recorder and the candidate tracker, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from albench.config import TrainConfig
from albench.models.base import Backbone
from albench.training.augment import BatchAugment, Normalization
from albench.training.dynamics import CandidateTracker, DynamicsRecorder, label_dtype


def test_recorder_running_mean_equals_the_mean_over_epochs() -> None:
    m, num_classes, epochs, batch = 7, 4, 5, 3
    generator = torch.Generator().manual_seed(0)
    recorder = DynamicsRecorder(m, num_classes)
    per_epoch = torch.zeros(epochs, m, num_classes)  # the softmax each sample got in each epoch
    for epoch in range(epochs):
        order = torch.randperm(m, generator=generator)
        for begin in range(0, m, batch):  # batches of 3, 3, 1
            idx = order[begin : begin + batch]
            probs = torch.rand(len(idx), num_classes, generator=generator).softmax(dim=1)
            per_epoch[epoch, idx] = probs
            rows = recorder.update(idx, probs, epoch)
            # Returned rows: the mean of this sample's softmaxes of epochs 0..e, this pass included.
            torch.testing.assert_close(rows, per_epoch[: epoch + 1, idx].mean(dim=0))
    torch.testing.assert_close(recorder.mean_probs, per_epoch.mean(dim=0))
    torch.testing.assert_close(recorder.mean_probs.sum(dim=1), torch.ones(m))
    recorder.check_complete(epochs)
    assert recorder.visits.tolist() == [epochs] * m


def test_recorder_first_epoch_ignores_the_old_value_and_checks_visits() -> None:
    recorder = DynamicsRecorder(3, 2)
    recorder.mean_probs.fill_(0.5)  # whatever is there, e=0 gives it weight 0
    recorder.update(torch.tensor([0, 2]), torch.tensor([[0.9, 0.1], [0.2, 0.8]]), epoch=0)
    torch.testing.assert_close(recorder.mean_probs[[0, 2]], torch.tensor([[0.9, 0.1], [0.2, 0.8]]))
    # Sample 1 was never visited: the one-visit-per-epoch assumption is broken and reported.
    with pytest.raises(
        RuntimeError, match=r"1 of 3 samples were not visited 1 times \(first row 1"
    ):
        recorder.check_complete(1)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        recorder.update(torch.tensor([1]), torch.tensor([[0.5, 0.5]]), epoch=-1)


def test_label_dtype() -> None:
    assert label_dtype(10) == torch.uint8
    assert label_dtype(255) == torch.uint8
    assert label_dtype(256) == torch.int16
    assert label_dtype(8142) == torch.int16  # iNaturalist 2018
    assert label_dtype(40_000) == torch.int32


class PixelClassModel(Backbone):
    """Predicts class (pixel value mod C) of constant images; records its mode and inputs."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embedding_dim = num_classes
        self.stage_channels = (1,)
        self.head = nn.Linear(num_classes, num_classes)
        with torch.no_grad():
            self.head.weight.copy_(3.0 * torch.eye(num_classes))
            self.head.bias.zero_()
        self.modes: list[bool] = []
        self.inputs: list[Tensor] = []

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        self.modes.append(self.training)
        self.inputs.append(x.clone())
        value = x.mean(dim=(1, 2, 3)).round().long()  # the pixel value (std = 1/255)
        return F.one_hot(value % self.num_classes, self.num_classes).float(), [x]


IDENTITY = Normalization(mean=(0.0,), std=(1 / 255,))  # normalised value = raw pixel value


def _constant_images(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 1), np.uint8)


def test_tracker_records_labels_and_mean_probs() -> None:
    model = PixelClassModel(num_classes=3).train()
    config = TrainConfig(track_interval=2, eval_batch_size=2)
    tracker = CandidateTracker(_constant_images([0, 5, 7, 2, 3]), 3, BatchAugment(IDENTITY), config)
    assert tracker.labels.shape == (5, 0) and tracker.num_records == 0
    tracker.record(model)
    with torch.no_grad():
        model.head.bias.copy_(torch.tensor([0.0, 10.0, 0.0]))  # now class 1 always wins
    tracker.record(model)
    assert tracker.labels.dtype == torch.uint8 and tracker.num_records == 2
    assert tracker.labels.tolist() == [[0, 1], [2, 1], [1, 1], [2, 1], [0, 1]]
    one_hot = F.one_hot(torch.tensor([0, 2, 1, 2, 0]), 3).float()
    expected = (
        (3 * one_hot).softmax(dim=1) + (3 * one_hot + torch.tensor([0, 10.0, 0])).softmax(dim=1)
    ) / 2
    torch.testing.assert_close(tracker.mean_probs, expected)
    # Eval mode during each pass (3 batches of ≤2 per record), train mode restored afterwards.
    assert model.modes == [False] * 6 and model.training
    model.eval()
    tracker.record(model)
    assert not model.training


def test_tracker_int16_labels_for_many_classes() -> None:
    model = PixelClassModel(num_classes=300)
    tracker = CandidateTracker(_constant_images([4, 250]), 300, BatchAugment(IDENTITY))
    with torch.no_grad():
        model.head.bias[299] = 100.0
    tracker.record(model)
    assert tracker.labels.dtype == torch.int16
    assert tracker.labels.tolist() == [[299], [299]]


def test_tracker_train_aug_view_uses_the_training_augmentation() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 5, 5, 1), dtype=np.uint8)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=2, hflip=True)
    config = TrainConfig(track_interval=3, eval_batch_size=4)
    tracker = CandidateTracker(images, 4, augment, config, view="train_aug", seed=11)
    assert (tracker.view, tracker.batch_size) == ("train_aug", 4)
    model = PixelClassModel(num_classes=4)
    tracker.record(model)
    generator = torch.Generator().manual_seed(11)
    expected = []
    for begin in (0, 4):
        batch = images[begin : begin + 4]
        expected.append(augment(augment.prepare(batch, "cpu"), torch.arange(len(batch)), generator))
    assert torch.equal(torch.cat(model.inputs), torch.cat(expected))
    clean = CandidateTracker(images, 4, augment)
    clean.record(model)
    assert torch.equal(torch.cat(model.inputs[2:]), augment.norm.apply(torch.from_numpy(images)))
    with pytest.raises(ValueError, match="view must be one of clean, train_aug, train, got 'test'"):
        CandidateTracker(images, 4, augment, view="test")


def test_train_view_uses_batch_statistics_and_leaves_the_buffers_alone() -> None:
    torch.manual_seed(0)
    images = np.random.default_rng(1).integers(0, 256, (8, 5, 5, 1), dtype=np.uint8)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=0, hflip=False)
    from albench.models.small_cnn import SmallCNN

    model = SmallCNN(1, 3).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_view = CandidateTracker(images, 3, augment, TrainConfig(eval_batch_size=8), view="train")
    clean = CandidateTracker(images, 3, augment, TrainConfig(eval_batch_size=8))
    train_view.record(model)
    clean.record(model)
    assert not model.training  # mode restored
    for key, value in model.state_dict().items():  # running statistics untouched
        assert torch.equal(value, before[key]), key
    with torch.no_grad():
        expected = model.train()(augment.norm.apply(torch.from_numpy(images))).logits.softmax(1)
    torch.testing.assert_close(train_view.mean_probs, expected)
    assert not torch.allclose(train_view.mean_probs, clean.mean_probs)


def test_a_nonfinite_softmax_row_does_not_poison_the_running_mean():
    rec = DynamicsRecorder(3, 2)
    idx = torch.tensor([0, 1, 2])
    rec.update(idx, torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]), 0)
    rec.update(idx, torch.tensor([[float("nan"), 1.0], [0.4, 0.6], [float("inf"), 0.0]]), 1)
    # Rows 0 and 2: the bad pass leaves p̄ where it was; row 1: (0.6 + 0.4) / 2, (0.4 + 0.6) / 2.
    expected = torch.tensor([[0.2, 0.8], [0.5, 0.5], [0.5, 0.5]])
    torch.testing.assert_close(rec.mean_probs, expected)
    assert int(rec.nonfinite_rows) == 2 and torch.isfinite(rec.mean_probs).all()
