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
