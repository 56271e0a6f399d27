"""Backbones: output shapes, the Backbone contract, and the model registry."""

from __future__ import annotations

import pytest
import torch

from albench.models.base import Backbone, ModelOutput, count_parameters
from albench.models.conv_pool_cnn import ConvPoolCNN
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
    assert model_names() == ["conv_pool_cnn", "conv_pool_cnn_8_16", "resnet18", "small_cnn"]
    narrow = build_model("conv_pool_cnn_8_16", 1, 10, 28)
    assert isinstance(narrow, ConvPoolCNN) and narrow.stage_channels == (8, 16)
    assert narrow.fc.in_features == 16 * 7 * 7
    assert isinstance(build_model("small_cnn", 1, 10, 28), SmallCNN)
    resnet = build_model("resnet18", 3, 100, 32)
    assert isinstance(resnet, ResNet18) and resnet.num_classes == 100
    with pytest.raises(
        ValueError,
        match=r"unknown model 'vgg'; valid models: conv_pool_cnn, conv_pool_cnn_8_16, resnet18",
    ):
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


@pytest.mark.parametrize(
    ("channels", "size", "spatial"),
    [(1, 28, [14, 7]), (1, 8, [4, 2]), (3, 32, [16, 8]), (1, 7, [4, 2]), (1, 1, [1, 1])],
)
def test_conv_pool_cnn_shapes(channels: int, size: int, spatial: list[int]) -> None:
    model = ConvPoolCNN(in_channels=channels, num_classes=10, image_size=size)
    out = _forward(model, channels, size, batch=3)
    assert out.logits.shape == (3, 10)
    assert out.embedding.shape == (3, 128) and model.embedding_dim == 128
    assert model.stage_channels == (32, 64) and len(out.features) == 2
    assert [tuple(f.shape) for f in out.features] == [
        (3, c, s, s) for c, s in zip((32, 64), spatial, strict=True)
    ]
    # The embedding is ReLU(FC(flattened last stage)); the logits are its linear map.
    flat = out.features[-1].flatten(1)  # (3, 64·s²)
    assert model.fc.in_features == 64 * spatial[-1] ** 2
    torch.testing.assert_close(out.embedding, (flat @ model.fc.weight.T + model.fc.bias).relu())
    torch.testing.assert_close(model.classify(out.embedding), out.logits)


def test_conv_pool_cnn_layout_and_parameter_count() -> None:
    model = ConvPoolCNN(1, 10, 28)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 2
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.padding) for c in convs] == [((3, 3), (1, 1), (1, 1))] * 2
    # conv 1·32·9 + BN 2·32, conv 32·64·9 + BN 2·64, FC 3136·128 + 128, head 128·10 + 10.
    expected = 288 + 64 + 18_432 + 128 + (3136 * 128 + 128) + (1280 + 10)
    assert count_parameters(model) == expected == 421_738
    with pytest.raises(ValueError, match="built for 7×7 last-stage maps"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="ConvPoolCNN needs"):
        ConvPoolCNN(1, 10, 0)


def test_conv_pool_cnn_carries_the_tidal_and_ll4al_heads() -> None:
    from albench.training.objectives import LossPredictionObjective, TiDALObjective

    torch.manual_seed(0)
    model = build_model("conv_pool_cnn_8_16", 1, 4, 8).eval()
    with torch.no_grad():
        out = model(torch.randn(5, 1, 8, 8))
        assert TiDALObjective(model.stage_channels, 4).eval().predict(out).shape == (5, 4)
        assert LossPredictionObjective(model.stage_channels, 4).eval().predict(out).shape == (5,)
