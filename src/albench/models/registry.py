"""Name → backbone class. The names are known without importing PyTorch (the workflow
validates ``model:`` while parsing); a class is imported when it is built."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from albench.models.base import Backbone

_BACKBONES: dict[
    str, str
] = {  # name -> "module:Class"; constructors take (in_channels, num_classes)
    "resnet18": "albench.models.resnet:ResNet18",
    "small_cnn": "albench.models.small_cnn:SmallCNN",
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
        image_size: input side length; the backbones pool globally, so it is
            only checked (>= 1) and recorded by callers.

    Returns:
        The backbone on the CPU; the caller seeds torch before building it.
    """
    if name not in _BACKBONES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(model_names())}")
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    module, _, attribute = _BACKBONES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)(in_channels, num_classes)
