"""What a job will cost, estimated from the config before anything runs (torch-free).

The workflow derives each job's SLURM ``runtime`` and ``mem_mb`` from these
estimates (and multiplies them by the attempt number on a retry), so a preset's
jobs ask for what their size needs rather than one fixed figure. The estimates
are deliberately simple and conservative: the work of a job is the number of
images its training processes; its speed is a per-backbone throughput on one
accelerator (or on CPU cores); its host memory is the interpreter and PyTorch plus
a few copies of the images it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from albench.config import DatasetConfig, TrainConfig

# Training images per second per job, per backbone: a conservative floor for one
# current GPU with the preset's batch size (ResNet-18 at 32x32 on an A100-class GPU
# runs several thousand); the small CPU models are measured on one CPU core.
THROUGHPUT = {"resnet18": 1_500.0, "small_cnn": 3_000.0}
DEFAULT_THROUGHPUT = 1_000.0
BASE_MEM_MB = 2_500  # Python, PyTorch and the CUDA context
MIN_RUNTIME_MIN = 10


@dataclass(frozen=True)
class JobEstimate:
    runtime_min: int  # SLURM --time, minutes
    mem_mb: int  # SLURM --mem


def images_trained(train: TrainConfig, labeled: int) -> int:
    """Images one cycle's training processes: ``epochs × labeled`` (at least one batch each)."""
    steps_per_epoch = math.ceil(labeled / train.batch_size)
    return train.epochs * max(labeled, steps_per_epoch)


def job_estimate(
    settings: DatasetConfig,
    train: TrainConfig,
    labeled: int,
    scored: int,
    image_shape: tuple[int, int, int] | None,
) -> JobEstimate:
    """The estimate for a job that trains on ``labeled`` images and scores ``scored``.

    Runtime: twice the training time at :data:`THROUGHPUT` plus one pass over the
    scored and test images, at least :data:`MIN_RUNTIME_MIN`. Memory: the base plus
    the images as uint8 and twice as float32 (the padded training copy and one batch
    buffer), with a 2x margin.
    """
    speed = THROUGHPUT.get(settings.model, DEFAULT_THROUGHPUT)
    seconds = 2.0 * images_trained(train, labeled) / speed + 2.0 * (scored + 10_000) / (4 * speed)
    runtime = max(MIN_RUNTIME_MIN, math.ceil(seconds / 60.0) + 5)
    pixels = math.prod(image_shape) if image_shape else 64 * 64 * 3
    image_mb = (labeled + scored) * pixels * (1 + 2 * 4) / 2**20
    return JobEstimate(runtime, int(BASE_MEM_MB + 2 * image_mb))


# ----------------------------------------------------------------------------- accelerator memory

GiB = 2**30
# Per backbone: parameters without the classifier head (at 32x32 input), embedding size d,
# and training activation bytes per image at 32x32 (forward saved tensors, measured on CPU
# with a live-bytes tracker, ×~1.8 for the backward's temporaries; fp32, i.e. without AMP).
BACKBONES = {
    "resnet18": (11_168_832, 512, 8 * 2**20),
    "small_cnn": (93_472, 128, 2**18),
    "conv_pool_cnn": (543_904, 128, 2**20),
    "conv_pool_cnn_8_16": (132_616, 128, 2**18),
}
DEFAULT_BACKBONE = (25_000_000, 2048, 16 * 2**20)  # unknown (plugin) backbones: ResNet-50-like
CUDA_CONTEXT = 1 * GiB  # CUDA context, cuBLAS/cuDNN workspaces
ALLOCATOR_MARGIN = 1.25  # caching-allocator fragmentation
TEST_ROWS = 50_000  # test-set rows held as (n, C) logits during evaluation (an upper bound)
AUX_HIDDEN = 4 * 128  # TiDAL's prediction module: 4 stage features of 128 → C
VAAL_BYTES = 2 * GiB  # VAAL's VAE + discriminator, their optimizers and one batch
MC_PASSES = 10  # BALD's T (albench.cycle.context.MC_PASSES)


@dataclass(frozen=True)
class GpuEstimate:
    """Accelerator peak of one job, in bytes, with the phase that sets it.

    Attributes:
        peak: bytes at the larger phase, with the context and the allocator margin.
        train: the training phase (weights, gradients, momentum, the prepared
            labeled set, a batch's activations, the TiDAL recorder and trackers).
        score: the scoring phase (weights, the candidates' (n, C) tables, the
            sampler's temporaries, test logits).
    """

    peak: int
    train: int
    score: int

    @property
    def peak_gb(self) -> float:
        return self.peak / 1e9


def gpu_estimate(
    settings: DatasetConfig,
    train: TrainConfig,
    labeled: int,
    scored: int,
    image_shape: tuple[int, int, int] | None,
    num_classes: int,
    needs: frozenset[str] = frozenset(),
    crop_padding: int = 4,
) -> GpuEstimate:
    """A conservative accelerator peak-memory estimate of one job (bytes; fp32 throughout).

    Training: 4 × parameters (weights, gradients, SGD momentum, one spare copy for the
    optimizer's temporaries), for the backbone, the head (d × C) and, when it trains,
    TiDAL's prediction module (512 × C) or LL4AL's; the prepared labeled set
    (float32, padded by ``crop_padding``); one batch's activations; TiDAL's recorder
    (labeled × C) and its candidate trackers (scored × C per tracked view). Scoring:
    weights; the candidates' logits, softmax and embeddings (scored × (2C + d)); BALD's
    running sums (3 × scored × C: the sum, one pass's logits and softmax, independent of T);
    a sampler that asks for the stacked (n, C, T) passes pays 2.1 × scored × C × T; the
    predicted TD (scored × C); VAAL's normalised images and models; the test logits (:data:`TEST_ROWS` × C); eval-batch
    activations. The peak is the larger phase plus the CUDA context, times
    the allocator margin. ``needs`` are :class:`~albench.samplers.Need` values (strings).
    """
    base_params, d, act_per_image = BACKBONES.get(settings.model, DEFAULT_BACKBONE)
    h, w, c = image_shape or (64, 64, 3)
    scale = h * w / (32 * 32)
    if settings.model.startswith("conv_pool_cnn"):
        base_params = int(base_params * scale)  # the flattened last stage grows with the image
    params = base_params + d * num_classes + num_classes
    tidal = "td_probs" in needs
    if tidal:
        params += AUX_HIDDEN * num_classes + 2**20
    if "predicted_loss" in needs:
        params += 2**20
    table = num_classes * 4  # one (1, C) float32 row
    tracked_views = sum(
        view in needs for view in ("tracked_probs", "tracked_probs_aug", "tracked_probs_train")
    )
    prepared = labeled * c * (h + 2 * crop_padding) * (w + 2 * crop_padding) * 4
    activations = int(train.batch_size * act_per_image * scale)
    train_bytes = (
        4 * params * 4
        + prepared
        + activations
        + (labeled * table if tidal else 0)
        + tracked_views * scored * table
    )
    score_bytes = (
        params * 4
        + scored * (2 * table + d * 4)
        + (3 * scored * table if "mc_mean_probs" in needs else 0)
        + (int(2.1 * scored * table * MC_PASSES) if "mc_probs" in needs else 0)
        + (scored * table if tidal else 0)
        + tracked_views * scored * table
        + TEST_ROWS * table
        + int(train.eval_batch_size * act_per_image * scale / 3)
        + ((labeled + scored) * c * h * w * 4 + VAAL_BYTES if "images" in needs else 0)
    )
    peak = int((max(train_bytes, score_bytes) + CUDA_CONTEXT) * ALLOCATOR_MARGIN)
    return GpuEstimate(peak, train_bytes, score_bytes)
