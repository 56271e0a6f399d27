"""Training: batched on-device augmentation, the cycle's training loop, training dynamics, evaluation."""

from albench.training.augment import (
    CIFAR10_NORMALIZATION,
    BatchAugment,
    Normalization,
    random_crop,
    random_hflip,
)
from albench.training.aux import AuxBatch, AuxiliaryObjective
from albench.training.config import TrainConfig
from albench.training.dynamics import CandidateTracker, DynamicsRecorder, label_dtype
from albench.training.evaluate import (
    accuracy,
    balanced_accuracy,
    mc_dropout_probs,
    per_class_accuracy,
    predict,
)
from albench.training.trainer import TrainResult, make_optimizer, train

__all__ = [
    "CIFAR10_NORMALIZATION",
    "AuxBatch",
    "AuxiliaryObjective",
    "BatchAugment",
    "CandidateTracker",
    "DynamicsRecorder",
    "Normalization",
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "balanced_accuracy",
    "label_dtype",
    "make_optimizer",
    "mc_dropout_probs",
    "per_class_accuracy",
    "predict",
    "random_crop",
    "random_hflip",
    "train",
]
