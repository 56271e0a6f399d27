"""CIFAR ResNet-18: the backbone of TiDAL, LL4AL and the label-dispersion experiments.

The CIFAR variant (Kuang Liu's ``pytorch-cifar``, used by LL4AL's
re-implementation and TiDAL's ``models/resnet.py``): a 3×3 stride-1 first
convolution and no max-pool, so a 32×32 input keeps full resolution in the
first stage; BasicBlocks [2, 2, 2, 2] with 64/128/256/512 channels and strides
1/2/2/2; average pooling; Linear(512 → C).

One deliberate change: the official code pools with ``F.avg_pool2d(out, 4)``,
which equals global average pooling only for 32×32 inputs (a 4×4 last stage).
Here the pool is a mean over the spatial dimensions, identical at 32×32 and
valid for 28×28 (FashionMNIST) and other sizes. A mean (rather than
``adaptive_avg_pool2d``) also has a deterministic CUDA backward.

References:
    He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition." CVPR 2016.
    arXiv:1512.03385.
    Kye, Choi, Byun, Chang. "TiDAL: Learning Training Dynamics for Active
    Learning." ICCV 2023. arXiv:2210.06788 (code: hyperconnect/TiDAL).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from albench.models.base import Backbone


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with an identity (or 1×1 conv-BN projection) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(Backbone):
    """CIFAR ResNet-18 (He et al., CVPR 2016; CIFAR variant as in TiDAL's code).

    Args:
        in_channels: image channels (3 for CIFAR, 1 for FashionMNIST).
        num_classes: C.
        image_size: unused (the pooling is global); accepted like every backbone's.

    The four stage outputs are the :attr:`ModelOutput.features` (for a 32×32
    input: (64, 32²), (128, 16²), (256, 8²), (512, 4²)), the inputs of the TiDAL
    and LL4AL modules; the embedding is the 512-d pooled last stage.
    """

    stage_channels = (64, 128, 256, 512)
    embedding_dim = 512

    def __init__(
        self, in_channels: int = 3, num_classes: int = 10, image_size: int | None = None
    ) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 2:
            raise ValueError(
                f"ResNet18 needs in_channels >= 1 and num_classes >= 2, "
                f"got in_channels={in_channels}, num_classes={num_classes}"
            )
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages = []
        in_planes = 64
        for planes, stride in zip(self.stage_channels, (1, 2, 2, 2), strict=True):
            stages.append(
                nn.Sequential(BasicBlock(in_planes, planes, stride), BasicBlock(planes, planes))
            )
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.head = nn.Linear(self.embedding_dim, num_classes)

    def forward_features(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        out = F.relu(self.bn1(self.conv1(x)))  # (B, 64, H, W)
        out1 = self.layer1(out)  # (B, 64, H, W)
        out2 = self.layer2(out1)  # (B, 128, H/2, W/2)
        out3 = self.layer3(out2)  # (B, 256, H/4, W/4)
        out4 = self.layer4(out3)  # (B, 512, H/8, W/8)
        embedding = out4.mean(dim=(2, 3))  # (B, 512)
        return embedding, [out1, out2, out3, out4]
