"""Name → backbone constructor."""

from __future__ import annotations

from collections.abc import Callable

from albench.models.base import Backbone
from albench.models.resnet import ResNet18
from albench.models.small_cnn import SmallCNN

_BUILDERS: dict[str, Callable[[int, int], Backbone]] = {
    "resnet18": lambda in_channels, num_classes: ResNet18(in_channels, num_classes),
    "small_cnn": lambda in_channels, num_classes: SmallCNN(in_channels, num_classes),
}


def model_names() -> list[str]:
    """Registered backbone names, sorted."""
    return sorted(_BUILDERS)


def build_model(name: str, in_channels: int, num_classes: int, image_size: int) -> Backbone:
    """Build a freshly initialised backbone.

    Args:
        name: one of :func:`model_names`.
        in_channels: image channels.
        num_classes: C.
        image_size: input side length; both backbones pool globally, so it is
            only checked (>= 1) and recorded by callers.

    Returns:
        The backbone on the CPU; the caller seeds torch before building it.
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(model_names())}")
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    return _BUILDERS[name](in_channels, num_classes)
