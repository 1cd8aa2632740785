"""Network architectures used across the chapters."""
from __future__ import annotations

import torch
from torch import nn

from .checks import boolean, check_int, checked, images, integer, positive_int, sequence

_WIDTHS = sequence(positive_int)  # channel counts, one per block
_CLASSES = integer(low=2)


def _wrn_depth(depth, name: str, arguments=None) -> int:
    """Spec: a wide ResNet's depth, 6n + 4 with n >= 1."""
    depth = check_int(depth, name)
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"{name} must be 6n + 4 with n >= 1 (e.g. 28), got {depth}")
    return depth


@checked(in_channels=positive_int, out_channels=positive_int, pool=boolean)
def conv_block(in_channels: int, out_channels: int, pool: bool = True) -> nn.Sequential:
    """3x3 convolution, batch norm, ReLU and (optionally) 2x2 max pooling."""
    layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
              nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ConvTrunk(nn.Module):
    """The IIC article's trunk: conv blocks of 32-64-128-256 channels, then global average pooling.

    Maps ``N x C x H x W`` images to ``N x 256`` features.
    """

    @checked(in_channels=positive_int, widths=_WIDTHS)
    def __init__(self, in_channels: int = 1, widths=(32, 64, 128, 256)):
        super().__init__()
        blocks, previous = [], in_channels
        for i, width in enumerate(widths):
            blocks.append(conv_block(previous, width, pool=i < len(widths) - 1))
            previous = width
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = previous

    @checked(x=images)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ConvClassifier(nn.Module):
    """``ConvTrunk`` followed by a linear layer: a small image classifier returning logits."""

    @checked(num_classes=_CLASSES)
    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128, 256)):
        super().__init__()
        self.trunk = ConvTrunk(in_channels, widths)
        self.head = nn.Linear(self.trunk.out_features, num_classes)

    @checked(x=images)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class SmallConvNet(nn.Module):
    """A fast two-layer convolutional classifier for CPU runs (the ``quick`` profile).

    Two strided convolutions (5x5 then 3x3, stride 2, batch norm, ReLU) shrink a 28 x 28 image
    to 7 x 7 feature maps; average pooling to 7 x 7 (a no-op at 28 x 28) fixes the feature size for
    other inputs, and a linear layer gives the logits. About 0.3 million multiply-adds per 28 x 28
    image, roughly a thousandth of a CIFAR ResNet-18.
    """

    @checked(num_classes=_CLASSES, in_channels=positive_int, widths=sequence(positive_int, length=2))
    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(16, 32)):
        super().__init__()
        first, second = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, first, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(first), nn.ReLU(inplace=True),
            nn.Conv2d(first, second, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(second), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(7), nn.Flatten())
        self.head = nn.Linear(second * 49, num_classes)

    @checked(x=images)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@checked(num_classes=_CLASSES, in_channels=positive_int)
def resnet18(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """ResNet-18 (He et al., 2016) with the CIFAR stem: a 3x3 stride-1 first convolution, no max pool.

    The ImageNet stem (7x7 stride-2 convolution, then max pooling) would shrink a 32 x 32 image to
    8 x 8 before the first residual stage; the CIFAR stem keeps 32 x 32, so the four stages of two
    basic blocks each (64, 128, 256, 512 channels) see 32, 16, 8 and 4 pixels. 11.2 million parameters.
    """
    from torchvision.models import resnet18 as imagenet_resnet18

    model = imagenet_resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


class TenLayerCNN(nn.Module):
    """The superclass article's 10-layer CNN: three blocks of 3x3
    conv-BN-ReLU layers, then one linear layer.

    Block ``k`` holds ``convs_per_block`` convolutions of ``widths[k]``
    channels (three each of 64, 128 and 256 in the article). 2x2 average
    pooling follows the first blocks, global average pooling the last, so
    any image size works: nine convolutions and a linear layer by default.
    The convolutions have no bias, since the batch norm after each one
    cancels any constant (the article's Keras layers kept the bias).
    """

    @checked(num_classes=_CLASSES, in_channels=positive_int, widths=_WIDTHS,
             convs_per_block=positive_int)
    def __init__(self, num_classes: int = 10, in_channels: int = 3,
                 widths=(64, 128, 256), convs_per_block: int = 3):
        super().__init__()
        layers, previous = [], in_channels
        for k, width in enumerate(widths):
            for _ in range(convs_per_block):
                layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False),
                           nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                previous = width
            last = k == len(widths) - 1
            layers.append(nn.AdaptiveAvgPool2d(1) if last else nn.AvgPool2d(2))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(previous, num_classes)

    @checked(x=images)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class IICNet(nn.Module):
    """The IIC network: a shared ``ConvTrunk`` with two groups of softmax sub-heads.

    ``main`` heads cluster into ``num_clusters`` (the number of classes); ``over`` heads into
    ``overcluster_factor`` times as many (overclustering). Each group has ``num_subheads``
    independent linear heads, as in the IIC paper: they start differently and the one with the
    lowest loss is reported. ``forward`` returns ``(main, over)``, two lists of ``B x k``
    probability tensors.
    """

    @checked(num_clusters=_CLASSES, overcluster_factor=positive_int, num_subheads=positive_int)
    def __init__(self, in_channels: int = 1, num_clusters: int = 10, overcluster_factor: int = 5,
                 num_subheads: int = 5, widths=(32, 64, 128, 256)):
        super().__init__()
        self.trunk = ConvTrunk(in_channels, widths)
        features = self.trunk.out_features
        self.main = nn.ModuleList(nn.Linear(features, num_clusters) for _ in range(num_subheads))
        self.over = nn.ModuleList(nn.Linear(features, num_clusters * overcluster_factor)
                                  for _ in range(num_subheads))

    @checked(x=images)
    def forward(self, x: torch.Tensor):
        h = self.trunk(x)
        main = [torch.softmax(head(h).float(), dim=1) for head in self.main]
        over = [torch.softmax(head(h).float(), dim=1) for head in self.over]
        return main, over


class _WideBlock(nn.Module):
    """Pre-activation residual block of a wide ResNet: BN-LeakyReLU-conv, twice."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=0.001)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels, momentum=0.001)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.act = nn.LeakyReLU(0.1)
        self.shortcut = (nn.Identity() if in_channels == out_channels and stride == 1
                         else nn.Conv2d(in_channels, out_channels, 1, stride, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(x))
        out = self.conv2(self.act(self.bn2(self.conv1(h))))
        # the shortcut of a widening block starts from the activated input, as in the WRN paper
        return out + self.shortcut(h if isinstance(self.shortcut, nn.Conv2d) else x)


class WideResNet(nn.Module):
    """Wide ResNet (Zagoruyko and Komodakis, 2016) as used by MixMatch and ReMixMatch.

    A 3x3 stem of 16 channels, three stages of ``(depth - 4) / 6`` pre-activation blocks with
    ``16k``, ``32k`` and ``64k`` channels (``k = widen``; strides 1, 2, 2), a final
    BN-LeakyReLU, global average pooling and a linear ``head``. ``features`` maps images to the
    ``64k`` pooled features. WRN-28-2 has 1.5 million parameters.
    """

    @checked(depth=_wrn_depth, widen=positive_int, num_classes=_CLASSES, in_channels=positive_int)
    def __init__(self, depth: int = 28, widen: int = 2, num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)]
        for stage in range(3):
            for i in range(n):
                stride = (1 if stage == 0 else 2) if i == 0 else 1
                layers.append(_WideBlock(widths[stage] if i == 0 else widths[stage + 1],
                                         widths[stage + 1], stride))
        layers += [nn.BatchNorm2d(widths[3], momentum=0.001), nn.LeakyReLU(0.1),
                   nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")

    @checked(x=images)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def wide_resnet(depth: int = 28, widen: int = 2, num_classes: int = 10,
                in_channels: int = 3) -> WideResNet:
    """WRN-``depth``-``widen``: the network of the MixMatch and ReMixMatch CIFAR-10 tables."""
    return WideResNet(depth, widen, num_classes, in_channels)
