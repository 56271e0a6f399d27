"""Backbones: output shapes, the Backbone contract, and the model registry."""

from __future__ import annotations

import pytest
import torch

from albench.models.base import Backbone, ModelOutput
from albench.models.registry import build_model, model_names
from albench.models.resnet import ResNet18
from albench.models.small_cnn import SmallCNN


def _forward(model: Backbone, channels: int, size: int, batch: int = 2) -> ModelOutput:
    torch.manual_seed(0)
    model.eval()
    with torch.no_grad():
        return model(torch.randn(batch, channels, size, size))


@pytest.mark.parametrize(
    ("channels", "size", "spatial"),
    [(3, 32, [32, 16, 8, 4]), (1, 28, [28, 14, 7, 4]), (1, 8, [8, 4, 2, 1])],
)
def test_resnet18_shapes(channels: int, size: int, spatial: list[int]) -> None:
    model = ResNet18(in_channels=channels, num_classes=7)
    out = _forward(model, channels, size)
    assert out.logits.shape == (2, 7)
    assert out.embedding.shape == (2, 512)
    assert [tuple(f.shape) for f in out.features] == [
        (2, c, s, s) for c, s in zip((64, 128, 256, 512), spatial, strict=True)
    ]
    assert model.stage_channels == (64, 128, 256, 512)
    # The embedding is the global average of the last stage; the logits are its linear map.
    torch.testing.assert_close(out.embedding, out.features[-1].mean(dim=(2, 3)))
    torch.testing.assert_close(out.logits, out.embedding @ model.head.weight.T + model.head.bias)


def test_resnet18_is_the_cifar_variant() -> None:
    model = ResNet18(3, 10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    blocks = [len(stage) for stage in (model.layer1, model.layer2, model.layer3, model.layer4)]
    assert blocks == [2, 2, 2, 2]
    assert (model.head.in_features, model.head.out_features) == (512, 10)
    # 11,173,962 parameters: the well-known count of CIFAR ResNet-18 with 10 classes.
    assert sum(p.numel() for p in model.parameters()) == 11_173_962


@pytest.mark.parametrize(
    ("channels", "size", "spatial"),
    [(1, 28, [14, 7, 4]), (1, 8, [4, 2, 1]), (3, 32, [16, 8, 4]), (3, 8, [4, 2, 1])],
)
def test_small_cnn_shapes(channels: int, size: int, spatial: list[int]) -> None:
    model = SmallCNN(in_channels=channels, num_classes=10)
    out = _forward(model, channels, size, batch=3)
    assert out.logits.shape == (3, 10)
    assert out.embedding.shape == (3, 128) and model.embedding_dim == 128
    assert [tuple(f.shape) for f in out.features] == [
        (3, c, s, s) for c, s in zip((32, 64, 128), spatial, strict=True)
    ]
    assert len(out.features) == len(model.stage_channels) == 3
    torch.testing.assert_close(out.embedding, out.features[-1].mean(dim=(2, 3)))
    torch.testing.assert_close(model.classify(out.embedding), out.logits)


def test_registry_builds_and_rejects() -> None:
    assert model_names() == ["resnet18", "small_cnn"]
    assert isinstance(build_model("small_cnn", 1, 10, 28), SmallCNN)
    resnet = build_model("resnet18", 3, 100, 32)
    assert isinstance(resnet, ResNet18) and resnet.num_classes == 100
    with pytest.raises(ValueError, match=r"unknown model 'vgg'; valid models: resnet18, small_cnn"):
        build_model("vgg", 3, 10, 32)
    with pytest.raises(ValueError, match="image_size"):
        build_model("small_cnn", 1, 10, 0)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("small_cnn", 1, 1, 28)


def test_same_seed_same_initialisation() -> None:
    torch.manual_seed(3)
    a = build_model("small_cnn", 1, 10, 28).state_dict()
    torch.manual_seed(3)
    b = build_model("small_cnn", 1, 10, 28).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
