"""No host synchronisation grows with the number of batches (training, evaluation, k-center).

Autocast is forced on the CPU (``amp_dtype: bf16`` / ``fp16``): the CPU runs the same
Python code as CUDA (autocast, GradScaler, the optimizer's step), so a per-batch
``.item()`` shows up here as a per-batch ``aten._local_scalar_dense`` call. Each test
compares a run of 2 batches with one of 6: the counts must be equal (the constant
syncs are the label range check, the final loss/accuracy reads and the fit pass).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from albench.config import TrainConfig
from albench.samplers.scores import k_center_greedy
from albench.sync_count import HostSyncCounter
from albench.training.augment import BatchAugment, Normalization
from albench.training.dynamics import CandidateTracker
from albench.training.evaluate import predict
from albench.training.objectives import build_objective, objective_named
from albench.training.trainer import TrainHooks, train
from trainer_support import quadrant_data, small_model


def _syncs_of_training(
    num_batches: int, amp_dtype: str, objective: str | None
) -> tuple[int, str, object]:
    images, labels = quadrant_data(16 * num_batches)
    augment = BatchAugment(Normalization((0.3,), (0.25,)), crop_padding=1)
    model = small_model()
    aux = (
        [build_objective(objective_named(objective), model.stage_channels, 4, {})]
        if objective
        else []
    )
    config = TrainConfig(epochs=1, batch_size=16, lr=0.05, milestones=(5,), amp_dtype=amp_dtype)
    with HostSyncCounter() as counter:
        result, _ = _train_tracked(model, aux, images, labels, augment, config, seed=1)
    assert result.steps == num_batches
    return counter.count, result.amp_dtype, result


def _train_tracked(model, aux, images, labels, augment, config, seed):
    """Train with the given objectives and a train-view tracker of the first 20 images."""
    tracker = CandidateTracker(images[:20], 4, augment, config, view="train", seed=1)
    hooks = TrainHooks(aux=aux, trackers=[tracker], progress=False)
    return train(model, images, labels, config, augment=augment, seed=seed, hooks=hooks), tracker


@pytest.mark.parametrize("amp_dtype", ["bf16", "fp16", "off"])
@pytest.mark.parametrize("objective", [None, "tidal", "ll4al"])
def test_training_syncs_do_not_grow_with_the_number_of_batches(amp_dtype, objective) -> None:
    few, used, _ = _syncs_of_training(2, amp_dtype, objective)
    many, _, _ = _syncs_of_training(6, amp_dtype, objective)
    assert used == amp_dtype  # the autocast dtype forced on the CPU was really used
    assert few == many
    # 2 label-range reads, 2 fit-pass reads, 2 final progress reads, +1 visit check (TiDAL).
    assert few == 6 + (objective is not None)


def test_the_fp16_scaler_step_is_taken_on_the_device() -> None:
    """Under fp16 the GradScaler's overflow flag never reaches the host, and steps happen."""
    _, _, result = _syncs_of_training(3, "fp16", "tidal")
    assert result.amp and np.isfinite(result.loss)


@pytest.mark.parametrize("budget", [1, 4, 12])
def test_k_center_greedy_reads_the_host_once_whatever_the_budget(budget) -> None:
    emb = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    counter = HostSyncCounter()
    with counter:
        positions, _ = k_center_greedy(emb, emb[:3], budget)
    assert len(positions) == budget
    assert counter.count == 2  # the two finiteness checks; the picks are read once, copied


def test_predict_reads_nothing_back_per_batch() -> None:
    images, _ = quadrant_data(48)
    counter = HostSyncCounter()
    with counter:
        logits, embeddings = predict(small_model(), images, Normalization((0.3,), (0.25,)), 8)
    assert counter.count == 0 and logits.shape == (48, 4)
    assert not logits.is_inference() and not embeddings.is_inference()  # usable by callers


def test_the_counter_counts_scalar_reads_and_value_dependent_shapes() -> None:
    x = torch.tensor([0.0, 2.0, 0.0, 3.0])
    with HostSyncCounter() as counter:
        float(x.sum())
        x.max().item()
        bool(x[1] > 0)
        int(x.argmax())
        x.nonzero()
        x[x > 0]  # boolean indexing: a value-dependent shape
        x + 1  # none of these three syncs
        x[torch.tensor([1, 3])]
        x.cpu()
    assert dict(counter.by_op) == {
        "_local_scalar_dense": 4,
        "nonzero": 1,
        "index(bool mask)": 1,
    }


# The default CPU path (fp32, NCHW weights, the foreach SGD step) gives the weights it gave
# before the mixed-precision options existed (AVX512: recorded at commit 0293c92; AVX2:
# recorded at ec0a544, whose smoke workflow still matches the AVX2 golden run of
# tests/workflow/golden). Kernel choices depend on the CPU's vector capability, so each
# digest is checked where it was recorded.
GOLDEN = {
    "AVX512": "03dd0e18d9ebe1112bf318f781dd36853363bdadadcd61ff22580d15f29482d6",
    "AVX2": "08ac00cc9c3230463daca41847430b5097a4cad99c14fc030baf1ecc17243cae",
}


def test_default_cpu_training_gives_the_recorded_bytes() -> None:
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in GOLDEN:
        pytest.skip(f"digest recorded on {', '.join(GOLDEN)}, this CPU is {capability}")
    images, labels = quadrant_data(70)
    augment = BatchAugment(Normalization.from_images(images), crop_padding=1, hflip=True)
    model = small_model(3)
    aux = build_objective(objective_named("tidal"), model.stage_channels, 4, {})
    config = TrainConfig(epochs=3, batch_size=16, lr=0.05, milestones=(2,))
    result, tracker = _train_tracked(model, [aux], images, labels, augment, config, seed=7)
    assert result.amp is False and result.amp_dtype == "off"
    digest = hashlib.sha256()
    for module in (model, aux):
        for key, value in module.state_dict().items():
            digest.update(key.encode())
            digest.update(value.detach().contiguous().numpy().tobytes())
    digest.update(tracker.mean_probs.numpy().tobytes())
    assert digest.hexdigest() == GOLDEN[capability]
