"""Backbones: every model returns logits, a penultimate embedding and per-stage features."""

from albench.models.base import Backbone, ModelOutput, count_parameters
from albench.models.registry import build_model, model_names
from albench.models.resnet import ResNet18
from albench.models.small_cnn import SmallCNN

__all__ = [
    "Backbone",
    "ModelOutput",
    "ResNet18",
    "SmallCNN",
    "build_model",
    "count_parameters",
    "model_names",
]
