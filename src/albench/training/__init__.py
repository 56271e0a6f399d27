"""Training: batched on-device augmentation, the cycle's training loop, the auxiliary
objectives trained with it, training dynamics, evaluation, and VAAL's adversarial training.

The schedule's settings are :class:`albench.config.TrainConfig`.
"""

from albench.training.augment import (
    CIFAR10_NORMALIZATION,
    BatchAugment,
    Normalization,
    random_crop,
    random_hflip,
)
from albench.training.dynamics import CandidateTracker, DynamicsRecorder, label_dtype
from albench.training.evaluate import (
    accuracy,
    balanced_accuracy,
    mc_dropout_probs,
    per_class_accuracy,
    predict,
)
from albench.training.trainer import TrainHooks, TrainResult, train

__all__ = [
    "CIFAR10_NORMALIZATION",
    "BatchAugment",
    "CandidateTracker",
    "DynamicsRecorder",
    "Normalization",
    "TrainHooks",
    "TrainResult",
    "accuracy",
    "balanced_accuracy",
    "label_dtype",
    "mc_dropout_probs",
    "per_class_accuracy",
    "predict",
    "random_crop",
    "random_hflip",
    "train",
]
