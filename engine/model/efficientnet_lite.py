"""EfficientNet-Lite (Tan & Le 2019, the TF "lite" variants) without timm.

The same modules, names, parameter order, TF "same" padding and initialisation as timm's
`tf_efficientnet_lite0/1/2`, so checkpoints load into either and outputs are identical; tested
against timm. Why not timm itself: `import timm` imports torchvision and torch._dynamo (~1.6 s on
2 cores), which every `engine query` / `engine verify` process would pay before its first image.

Lite = EfficientNet-B without squeeze-excitation, with ReLU6, a fixed 32-channel stem and
1280-channel head, and the first and last stages never repeated.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, as the ported checkpoints were trained
STEM, HEAD = 32, 1280
# per stage: (block type, kernel, first stride, expansion)
STAGES = (("ds", 3, 1, 1), ("ir", 3, 2, 6), ("ir", 5, 2, 6), ("ir", 3, 2, 6), ("ir", 5, 1, 6), ("ir", 5, 2, 6), ("ir", 3, 1, 6))
# per variant: (repeats per stage, output channels per stage) after timm's depth/width scaling
VARIANTS = {
    "lite0": ((1, 2, 2, 3, 3, 4, 1), (16, 24, 40, 80, 112, 192, 320)),
    "lite1": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 40, 80, 112, 192, 320)),
    "lite2": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 48, 88, 120, 208, 352)),
}


class Conv2dSame(nn.Conv2d):
    """TF "SAME" padding computed from the input size (asymmetric: the extra pixel goes right/bottom)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        pad_h = _same_padding(ih, self.kernel_size[0], self.stride[0], self.dilation[0])
        pad_w = _same_padding(iw, self.kernel_size[1], self.stride[1], self.dilation[1])
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> int:
    return max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


def conv(in_ch: int, out_ch: int, kernel: int, *, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """Stride 1 (odd kernel): SAME is symmetric, a static padding; stride 2: computed per input."""
    if stride == 1:
        return nn.Conv2d(in_ch, out_ch, kernel, stride=1, padding=(kernel - 1) // 2, groups=groups, bias=False)
    return Conv2dSame(in_ch, out_ch, kernel, stride=stride, padding=0, groups=groups, bias=False)


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm2d then ReLU6 (or nothing): timm's module, same parameters and buffers."""

    def __init__(self, channels: int, *, act: bool = True) -> None:
        super().__init__(channels, eps=BN_EPS)
        self.drop = nn.Identity()
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


class DepthwiseSeparableConv(nn.Module):
    """dw kxk -> BN+ReLU6 -> pw 1x1 -> BN (+ input when shapes allow)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.has_skip = stride == 1 and in_ch == out_ch
        self.conv_dw = conv(in_ch, in_ch, kernel, stride=stride, groups=in_ch)
        self.bn1 = BatchNormAct2d(in_ch)
        self.aa, self.se = nn.Identity(), nn.Identity()
        self.conv_pw = conv(in_ch, out_ch, 1)
        self.bn2 = BatchNormAct2d(out_ch, act=False)
        self.drop_path = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv_pw(self.se(self.aa(self.bn1(self.conv_dw(x))))))
        return self.drop_path(out) + x if self.has_skip else out


class InvertedResidual(nn.Module):
    """pw 1x1 expand -> BN+ReLU6 -> dw kxk -> BN+ReLU6 -> pw 1x1 project -> BN (+ input when shapes allow)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = in_ch * expansion
        self.has_skip = stride == 1 and in_ch == out_ch
        self.conv_pw = conv(in_ch, mid, 1)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = conv(mid, mid, kernel, stride=stride, groups=mid)
        self.bn2 = BatchNormAct2d(mid)
        self.aa, self.se = nn.Identity(), nn.Identity()
        self.conv_pwl = conv(mid, out_ch, 1)
        self.bn3 = BatchNormAct2d(out_ch, act=False)
        self.drop_path = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.se(self.aa(self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))))
        out = self.bn3(self.conv_pwl(out))
        return self.drop_path(out) + x if self.has_skip else out


class GlobalPool(nn.Module):
    """Average over H, W: (B, C, H, W) -> (B, C)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flatten(self.pool(x))


class EfficientNetLite(nn.Module):
    """(B, 3, S, S) -> (B, num_classes) logits; after `reset_classifier(0)`, pooled features (B, 1280)."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000) -> None:
        super().__init__()
        repeats, channels = VARIANTS[variant]
        self.num_features = HEAD
        self.conv_stem = conv(3, STEM, 3, stride=2)
        self.bn1 = BatchNormAct2d(STEM)
        self.blocks = nn.Sequential(*_stages(repeats, channels))
        self.conv_head = conv(channels[-1], HEAD, 1)
        self.bn2 = BatchNormAct2d(HEAD)
        self.global_pool = GlobalPool()
        self.classifier = nn.Linear(HEAD, num_classes) if num_classes else nn.Identity()
        for name, module in self.named_modules():
            _init_weight_goog(module, name)

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Linear(HEAD, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pool(self.forward_features(x)))


def _stages(repeats: tuple[int, ...], channels: tuple[int, ...]) -> list[nn.Sequential]:
    stages, in_ch = [], STEM
    for (kind, kernel, stride, expansion), n, out_ch in zip(STAGES, repeats, channels):
        blocks = []
        for i in range(n):
            s = stride if i == 0 else 1
            block = (DepthwiseSeparableConv(in_ch, out_ch, kernel, s) if kind == "ds"
                     else InvertedResidual(in_ch, out_ch, kernel, s, expansion))
            blocks.append(block)
            in_ch = out_ch
        stages.append(nn.Sequential(*blocks))
    return stages


def _init_weight_goog(module: nn.Module, name: str) -> None:
    """TensorFlow's EfficientNet initialisation, as timm applies it (module by module, in order)."""
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        init_range = 1.0 / math.sqrt(module.weight.size(0))
        nn.init.uniform_(module.weight, -init_range, init_range)
        nn.init.zeros_(module.bias)
