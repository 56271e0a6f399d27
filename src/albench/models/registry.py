"""Name → backbone class. The names are known without importing PyTorch (the workflow
validates ``model:`` while parsing); a class is imported when it is built."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from albench.models.base import Backbone

# name -> ("module:Class", keyword arguments); every constructor takes
# (in_channels, num_classes, image_size=..., **keywords).
_BACKBONES: dict[str, tuple[str, dict]] = {
    "conv_pool_cnn": ("albench.models.conv_pool_cnn:ConvPoolCNN", {"widths": (32, 64)}),
    "conv_pool_cnn_8_16": ("albench.models.conv_pool_cnn:ConvPoolCNN", {"widths": (8, 16)}),
    "resnet18": ("albench.models.resnet:ResNet18", {}),
    "small_cnn": ("albench.models.small_cnn:SmallCNN", {}),
}


def model_names() -> list[str]:
    """Registered backbone names, sorted."""
    return sorted(_BACKBONES)


def build_model(name: str, in_channels: int, num_classes: int, image_size: int) -> Backbone:
    """Build a freshly initialised backbone.

    Args:
        name: one of :func:`model_names`.
        in_channels: image channels.
        num_classes: C.
        image_size: input side length. ``resnet18`` and ``small_cnn`` pool globally and
            only check it; ``conv_pool_cnn*`` flatten their last stage and size the
            fully connected layer from it.

    Returns:
        The backbone on the CPU; the caller seeds torch before building it.
    """
    if name not in _BACKBONES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(model_names())}")
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    target, keywords = _BACKBONES[name]
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    return cls(in_channels, num_classes, image_size=image_size, **keywords)
