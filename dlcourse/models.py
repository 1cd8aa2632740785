"""Network architectures used across the chapters."""
from __future__ import annotations

import torch
from torch import nn


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

    def __init__(self, in_channels: int = 1, widths=(32, 64, 128, 256)):
        super().__init__()
        blocks, previous = [], in_channels
        for i, width in enumerate(widths):
            blocks.append(conv_block(previous, width, pool=i < len(widths) - 1))
            previous = width
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ConvClassifier(nn.Module):
    """``ConvTrunk`` followed by a linear layer: a small image classifier returning logits."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128, 256)):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.trunk = ConvTrunk(in_channels, widths)
        self.head = nn.Linear(self.trunk.out_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))
