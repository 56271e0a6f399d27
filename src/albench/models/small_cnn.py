"""A small CNN for fast CPU runs on FashionMNIST (28×28) and scikit-learn digits (8×8).

Three stages of stride-2 3×3 convolution + BatchNorm + ReLU (32/64/128
channels); the global average of the last stage is the 128-d embedding. Each
stride-2 convolution halves the resolution (rounding up), so 28×28 gives
14² → 7² → 4² and 8×8 gives 4² → 2² → 1²; any input of at least 1×1 works.
Strided convolutions instead of conv + max-pool keep a 30-epoch cycle on 1–2k
FashionMNIST images to a few seconds on two CPU cores (measured about 6× faster
than conv + 2×2 max-pool stages of the same widths).

This is not a model from the TiDAL or label-dispersion papers (both use
ResNet-18); it exists so the whole benchmark, including the TiDAL and LL4AL
modules that read per-stage features, runs end to end on a laptop.
"""

from __future__ import annotations

from torch import Tensor, nn

from albench.models.base import Backbone


class SmallCNN(Backbone):
    """Small strided CNN (three conv-BN-ReLU stages, global average pool, linear head).

    Args:
        in_channels: image channels.
        num_classes: C.
        image_size: unused (the global pool accepts any size); accepted like every backbone's.
        widths: channels of the three stages; the last one is the embedding size.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int | None = None,
        widths: tuple[int, ...] = (32, 64, 128),
    ) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 2 or not widths or min(widths) < 1:
            raise ValueError(
                f"SmallCNN needs in_channels >= 1, num_classes >= 2 and positive widths, got "
                f"in_channels={in_channels}, num_classes={num_classes}, widths={widths}"
            )
        self.num_classes = num_classes
        self.stage_channels = tuple(widths)
        self.embedding_dim = widths[-1]
        stages = []
        previous = in_channels
        for width in widths:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(previous, width, 3, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                )
            )
            previous = width
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(self.embedding_dim, num_classes)

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for stage in self.stages:
            x = stage(x)  # (B, C_k, ceil(H_{k-1}/2), ceil(W_{k-1}/2))
            features.append(x)
        embedding = x.mean(dim=(2, 3))  # (B, d)
        return embedding, features
