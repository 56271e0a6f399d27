"""A conv + max-pool CNN with a fully connected hidden layer, for small grey-scale images.

The classic small-image CNN (LeNet lineage; the Keras/PyTorch MNIST examples):
per stage a 3×3 convolution (padding 1) + BatchNorm + ReLU at full resolution,
then 2×2 max-pooling; the last stage's map is flattened into a fully connected
hidden layer (ReLU), whose output is the penultimate embedding; a linear head
gives the logits. Default widths 32/64 and 128 hidden units: for a 28×28
FashionMNIST image the stages are (32, 14²) and (64, 7²) and the flattened map
has 3,136 features.

Unlike :class:`~albench.models.small_cnn.SmallCNN` (stride-2 convolutions and a
global average pool) it convolves at full resolution before each pooling and
keeps the spatial layout through the fully connected layer, which makes it
more accurate on FashionMNIST and slower per image (each stage's convolution
runs at 4× the resolution of the strided one). Max-pooling uses
``ceil_mode=True``, so odd sides round up (7 → 4) and any input of at least
1×1 works; the flattened size follows from ``image_size``.

Not a model of the TiDAL or label-dispersion papers (both use ResNet-18). The
per-stage pooled maps are the :attr:`ModelOutput.features` on which TiDAL's
and LL4AL's modules attach.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from albench.models.base import Backbone


class ConvPoolCNN(Backbone):
    """Conv-BN-ReLU-MaxPool stages, a flattening FC hidden layer, a linear head.

    Args:
        in_channels: image channels.
        num_classes: C.
        image_size: input side length H = W (fixes the flattened size).
        widths: channels of the stages (one 3×3 convolution each).
        hidden: units of the fully connected layer = the embedding size.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        widths: tuple[int, ...] = (32, 64),
        hidden: int = 128,
    ) -> None:
        super().__init__()
        if (
            in_channels < 1
            or num_classes < 2
            or image_size < 1
            or not widths
            or min(widths) < 1
            or hidden < 1
        ):
            raise ValueError(
                f"ConvPoolCNN needs in_channels >= 1, num_classes >= 2, image_size >= 1 and "
                f"positive widths and hidden, got in_channels={in_channels}, "
                f"num_classes={num_classes}, image_size={image_size}, widths={widths}, "
                f"hidden={hidden}"
            )
        self.num_classes = num_classes
        self.stage_channels = tuple(widths)
        self.embedding_dim = hidden
        stages = []
        previous, side = in_channels, image_size
        for width in widths:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(previous, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2, ceil_mode=True),
                )
            )
            previous, side = width, math.ceil(side / 2)
        self.stages = nn.ModuleList(stages)
        self.final_side = side
        self.fc = nn.Linear(previous * side * side, hidden)
        self.head = nn.Linear(hidden, num_classes)

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for stage in self.stages:
            x = stage(x)  # (B, C_k, ceil(H_{k-1}/2), ceil(W_{k-1}/2))
            features.append(x)
        if x.shape[2:] != (self.final_side, self.final_side):
            raise ValueError(
                f"ConvPoolCNN was built for {self.final_side}×{self.final_side} last-stage maps "
                f"(image_size), got {tuple(x.shape[2:])}"
            )
        embedding = self.fc(x.flatten(1)).relu()  # (B, hidden)
        return embedding, features
