"""RealNVP: normalizing flows built from affine coupling layers (Dinh et al., 2017).

A flow is an invertible map ``f`` from data ``x`` to a latent ``z`` with a standard normal prior;
the change-of-variables formula gives the exact log-likelihood
``log p(x) = log N(f(x); 0, I) + log |det df/dx|``. Every layer here returns its output together
with the log-determinant of its Jacobian (one number per sample), and can be inverted exactly.

Conventions: images are ``N x C x H x W``, vectors ``N x D``; log-determinants are float32 (or
float64 for float64 inputs) even when the scale/translation networks run in mixed precision.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


from . import moved
from .checks import (boolean, check_int, check_tensor, checked, images, instance, integer,
                     nonneg, nonneg_int, number, one_of, optional, positive, positive_int, real,
                     sequence, tensor, within)

LOG_2PI = math.log(2 * math.pi)
_ALPHA = number(0.0, 0.5, low_open=True, high_open=True)  # the logit transform's squeeze
_IMAGE_SHAPE = sequence(positive_int, length=3)  # (C, H, W)


def _batch(attribute: str = "sample_shape"):
    """Spec: a floating-point batch of samples shaped like ``self.<attribute>`` (``None``: any
    size; a final ``...``: any further dimensions). Shape and dtype only."""
    def spec(x, name, arguments):
        pattern = getattr(arguments["self"], attribute)
        check_tensor(x, name, floating=True)
        head = pattern[:-1] if pattern[-1:] == (...,) else pattern
        fits = (x.ndim >= len(head) + 1 if head is not pattern else x.ndim == len(head) + 1)
        if not fits or any(p is not None and p != n for p, n in zip(head, x.shape[1:])):
            want = " x ".join("*" if p is None else "..." if p is ... else str(p) for p in pattern)
            raise ValueError(f"{name} must have shape N x {want}, got {tuple(x.shape)}")
        return x
    return spec


def _even(value, name: str, arguments=None) -> int:
    """Spec: a positive even int."""
    value = check_int(value, name, low=1)
    if value % 2:
        raise ValueError(f"{name} must be even to split in halves, got {value}")
    return value


def _flat_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first (the batch)."""
    return t.reshape(t.shape[0], -1).sum(dim=1)


# --------------------------------------------------------------------------- masks and squeezing

@checked(height=positive_int, width=positive_int, invert=boolean)
def checkerboard_mask(height: int, width: int, invert: bool = False, device=None,
                      dtype=torch.float32) -> torch.Tensor:
    """The spatial checkerboard ``b`` of shape ``1 x 1 x H x W``: 1 where the row plus column
    index is odd (the paper's convention), 0 elsewhere; ``invert`` swaps the two colours."""
    i = torch.arange(height, device=device).view(-1, 1)
    j = torch.arange(width, device=device).view(1, -1)
    mask = ((i + j) % 2 == (0 if invert else 1)).to(dtype)
    return mask.view(1, 1, height, width)


@checked(channels=_even, invert=boolean)
def channel_mask(channels: int, invert: bool = False, device=None,
                 dtype=torch.float32) -> torch.Tensor:
    """The channel-wise mask ``b`` of shape ``1 x C x 1 x 1``: 1 on the first half of the
    channels, 0 on the second half; ``invert`` swaps the halves. ``channels`` must be even."""
    mask = (torch.arange(channels, device=device) < channels // 2).to(dtype)
    if invert:
        mask = 1 - mask
    return mask.view(1, channels, 1, 1)


@checked(features=integer(low=2), invert=boolean)
def half_mask(features: int, invert: bool = False, device=None,
              dtype=torch.float32) -> torch.Tensor:
    """A mask for vectors, shape ``1 x D``: 1 on the first ``D // 2`` features (``invert``: the rest)."""
    mask = (torch.arange(features, device=device) < features // 2).to(dtype)
    return (1 - mask if invert else mask).view(1, features)


def _even_sides(x, name: str, arguments=None) -> torch.Tensor:
    """Spec: ``N x C x H x W`` with H and W even."""
    if check_tensor(x, name, ndim=4).shape[2] % 2 or x.shape[3] % 2:
        raise ValueError(f"{name} must have an even height and width to squeeze, "
                         f"got {x.shape[2]} x {x.shape[3]}")
    return x


def _channels_by_4(x, name: str, arguments=None) -> torch.Tensor:
    """Spec: ``N x 4C x H x W``."""
    if check_tensor(x, name, ndim=4).shape[1] % 4:
        raise ValueError(f"{name} must have a number of channels that is a multiple of 4, "
                         f"got {x.shape[1]}")
    return x


@checked(x=_even_sides)
def squeeze(x: torch.Tensor) -> torch.Tensor:
    """``N x C x H x W`` -> ``N x 4C x H/2 x W/2``: every 2 x 2 block of each channel becomes four
    channels. Channel ``4c + 2a + b`` holds pixel ``(2i + a, 2j + b)`` of input channel ``c``."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, 4 * c, h // 2, w // 2)


@checked(x=_channels_by_4)
def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`squeeze`: ``N x 4C x H x W`` -> ``N x C x 2H x 2W``."""
    n, c4, h, w = x.shape
    x = x.reshape(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c4 // 4, 2 * h, 2 * w)


# --------------------------------------------------------------------------- the layers

class ResidualST(nn.Module):
    """A small convolutional ResNet computing ``(s, t)`` for an image coupling layer: 3 x 3 conv,
    ``num_blocks`` residual blocks (ReLU, conv, ReLU, conv), ReLU, 3 x 3 conv to ``2C`` channels.
    The last conv starts at zero, so a fresh coupling layer is the identity."""

    @checked(channels=positive_int, hidden=positive_int, num_blocks=nonneg_int)
    def __init__(self, channels: int, hidden: int, num_blocks: int):
        super().__init__()
        self.sample_shape = (channels, None, None)
        self.inp = nn.Conv2d(channels, hidden, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1),
                          nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1))
            for _ in range(num_blocks))
        self.out = nn.Conv2d(hidden, 2 * channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @checked(x=_batch())
    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(F.relu(h))


class MLPST(nn.Module):
    """A multilayer perceptron computing ``(s, t)`` for a vector coupling layer; last layer zero."""

    @checked(features=positive_int, hidden=positive_int, num_layers=nonneg_int)
    def __init__(self, features: int, hidden: int, num_layers: int = 2):
        super().__init__()
        self.sample_shape = (features,)
        layers, width = [], features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, 2 * features)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)

    @checked(x=_batch())
    def forward(self, x):
        return self.net(x)


def _binary_mask(mask, name: str, arguments=None) -> torch.Tensor:
    """Spec: a tensor of 0s and 1s with a leading dimension of 1 (one sample's shape)."""
    check_tensor(mask, name)
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError(f"{name} must hold only 0 and 1")
    if mask.ndim < 2 or mask.shape[0] != 1:
        raise ValueError(f"{name} must have a leading dimension of 1, got shape {tuple(mask.shape)}")
    return mask


class AffineCoupling(nn.Module):
    """The affine coupling layer, eq. 9 of the paper:
    ``y = b*x + (1-b)*(x*exp(s(b*x)) + t(b*x))``.

    ``mask`` is the binary ``b`` (one sample's shape, with a leading 1);
    ``net`` maps ``b*x`` to twice as many channels, read as the raw
    scale and the translation. The scale is ``s = scale * tanh(raw)``
    with a learnt per-channel ``scale``: the paper's bounded form, which
    keeps ``exp(s)`` from exploding early in training.
    """

    @checked(mask=_binary_mask, net=instance(nn.Module))
    def __init__(self, mask: torch.Tensor, net: nn.Module):
        super().__init__()
        # the mask's shape, where a dimension of 1 past the channels broadcasts over any size
        self.sample_shape = (mask.shape[1],) + tuple(None if n == 1 else n for n in mask.shape[2:])
        self.register_buffer("mask", mask.float())
        self.net = net
        ones = (1,) * (mask.ndim - 2)
        self.scale = nn.Parameter(torch.ones((1, mask.shape[1]) + ones))

    def _scale_shift(self, x_kept):
        raw = self.net(x_kept)
        # s and t may come from bfloat16 networks (autocast); from here
        # on, and in the log-determinant, everything is float32
        dtype = torch.promote_types(x_kept.dtype, torch.float32)
        raw_s, t = raw.to(dtype).chunk(2, dim=1)
        free = 1 - self.mask.to(dtype)
        s = self.scale.to(dtype) * torch.tanh(raw_s) * free
        return s, t * free

    @checked(x=_batch())
    def forward(self, x):
        """``(y, log_det)``, the log-det summing s over transformed units."""
        mask = self.mask.to(x.dtype)
        s, t = self._scale_shift(x * mask)
        y = x * mask + (1 - mask) * (x * torch.exp(s) + t)
        return y, _flat_sum(s)

    @checked(y=_batch())
    def inverse(self, y):
        """Eq. 8: ``x = b*y + (1-b)*((y - t) * exp(-s))``, with s and t
        computed from ``b*y``, which equals ``b*x``."""
        mask = self.mask.to(y.dtype)
        s, t = self._scale_shift(y * mask)
        return y * mask + (1 - mask) * ((y - t) * torch.exp(-s))


class BatchNormFlow(nn.Module):
    """Batch normalisation as an invertible layer (section 3.7): per channel (or feature),
    ``y = gamma * (x - mu) / sqrt(var + eps) + beta``, log-det ``sum(log gamma - log(var + eps)/2)``
    times the number of pixels per channel.

    In training mode ``mu, var`` are the minibatch statistics, treated as constants in the
    log-determinant (as in the paper), and update running averages. In evaluation mode, and always
    in :meth:`inverse`, the running averages are used: then the layer is a fixed affine map and
    ``inverse(forward(x)) == x`` exactly. Call ``model.eval()`` before evaluating or sampling.
    """

    @checked(channels=positive_int, momentum=number(0.0, 1.0, low_open=True), eps=positive)
    def __init__(self, channels: int, momentum: float = 0.05, eps: float = 1e-4):
        super().__init__()
        self.sample_shape = (channels, ...)
        self.eps, self.momentum = eps, momentum
        self.log_gamma = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def _view(self, v, x):
        return v.view((1, -1) + (1,) * (x.ndim - 2)).to(x.dtype)

    def _pixels(self, x):
        return math.prod(x.shape[2:])

    @checked(x=_batch())
    def forward(self, x):
        if self.training:
            dims = [0] + list(range(2, x.ndim))
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(var.detach().to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        var = var.to(x.dtype)
        y = (x - self._view(mean, x)) / torch.sqrt(self._view(var, x) + self.eps)
        y = y * self._view(self.log_gamma.exp(), x) + self._view(self.beta, x)
        log_det = (self.log_gamma.to(x.dtype) - 0.5 * torch.log(var + self.eps)).sum()
        return y, (log_det * self._pixels(x)).expand(x.shape[0])

    @checked(y=_batch())
    def inverse(self, y):
        x = (y - self._view(self.beta, y)) / self._view(self.log_gamma.exp(), y)
        std = torch.sqrt(self._view(self.running_var, y) + self.eps)
        return x * std + self._view(self.running_mean, y)


class ActNorm(nn.Module):
    """Activation normalisation (Kingma and Dhariwal, 2018), the usual stand-in for batch norm in a
    flow: per channel ``y = (x + bias) * exp(log_scale)``, log-det ``H W sum(log_scale)``.

    The first training batch sets ``bias`` and ``log_scale`` so that its output has zero mean and
    unit variance per channel (data-dependent initialisation); after that both are ordinary
    parameters. Unlike :class:`BatchNormFlow` the layer is the same map in training and evaluation,
    so the test likelihood is the one that was trained and ``inverse`` is always exact.
    """

    @checked(channels=positive_int, eps=positive)
    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.sample_shape, self.eps = (channels, ...), eps
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.tensor(0.0))

    def _view(self, v, x):
        return v.view((1, -1) + (1,) * (x.ndim - 2)).to(x.dtype)

    @checked(x=_batch())
    def forward(self, x):
        if self.training and not self.initialized:
            with torch.no_grad():
                dims = [0] + list(range(2, x.ndim))
                self.bias.copy_(-x.mean(dim=dims))
                self.log_scale.copy_(-0.5 * torch.log(x.var(dim=dims, unbiased=False) + self.eps))
                self.initialized.fill_(1.0)
        y = (x + self._view(self.bias, x)) * self._view(self.log_scale.exp(), x)
        log_det = self.log_scale.to(x.dtype).sum() * math.prod(x.shape[2:])
        return y, log_det.expand(x.shape[0])

    @checked(y=_batch())
    def inverse(self, y):
        return y * self._view((-self.log_scale).exp(), y) - self._view(self.bias, y)


class InvConv1x1(nn.Module):
    """Glow's invertible 1 x 1 convolution (Kingma and Dhariwal, 2018): every pixel's channel
    vector is multiplied by one learnt ``C x C`` matrix ``W``, log-det ``H W log|det W|``.
    ``W`` starts as a random rotation (``seed`` fixes it), a learnt generalisation of a channel
    permutation: the next channel coupling then splits a mixture of the channels."""

    @checked(channels=positive_int, seed=nonneg_int)
    def __init__(self, channels: int, seed: int = 0):
        super().__init__()
        self.sample_shape = (channels, None, None)
        gen = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(channels, channels, generator=gen))
        self.weight = nn.Parameter(q)

    @checked(x=_batch())
    def forward(self, x):
        dtype = torch.promote_types(x.dtype, torch.float32)
        w = self.weight.to(dtype)
        y = torch.einsum("ij,njhw->nihw", w, x.to(dtype))
        log_det = torch.linalg.slogdet(w)[1] * x.shape[2] * x.shape[3]
        return y, log_det.expand(x.shape[0])

    @checked(y=_batch())
    def inverse(self, y):
        w_inv = torch.linalg.inv(self.weight.to(torch.promote_types(y.dtype, torch.float32)))
        return torch.einsum("ij,njhw->nihw", w_inv.to(y.dtype), y)


class _Flow(nn.Module):
    """Shared by the two flows: density and sampling from ``forward`` / ``inverse``."""

    shape: tuple

    @property
    def num_dims(self) -> int:
        return math.prod(self.shape)

    @property
    def sample_shape(self) -> tuple:
        return self.shape

    @property
    def latent_shape(self) -> tuple:
        return (self.num_dims,)

    def log_prob(self, x):
        """Exact log-density of each sample (nats): ``log N(f(x); 0, I) + log|det df/dx|``."""
        z, log_det = self(x)
        # float32 at least (autocast may hand back half precision), float64 stays float64
        z = z.to(torch.promote_types(z.dtype, torch.float32))
        prior = -0.5 * (z ** 2).sum(dim=1) - 0.5 * self.num_dims * LOG_2PI
        return prior + log_det

    @torch.no_grad()
    @checked(n=positive_int, temperature=nonneg)
    def sample(self, n: int, temperature: float = 1.0, generator=None, device=None):
        """``n`` samples ``f^-1(z)`` with ``z ~ N(0, temperature^2 I)`` (temperature < 1: typical)."""
        param = next(self.parameters())
        z = torch.randn(n, self.num_dims, generator=generator, device=device or param.device,
                        dtype=param.dtype)
        return self.inverse(temperature * z)


NORMS = (None, "batchnorm", "actnorm")


def _norm_layer(norm, channels):
    """The normalisation flow layer after a coupling: ``None``, batch norm or ActNorm."""
    if norm is None:
        return None
    return BatchNormFlow(channels) if norm == "batchnorm" else ActNorm(channels)


class CouplingStack(_Flow):
    """A flow on vectors ``N x D``: coupling layers whose half masks alternate, each optionally
    followed by a normalisation layer (``norm``: ``None``, ``"batchnorm"`` or ``"actnorm"``).
    ``forward(x) -> (z, log_det)``, ``inverse(z) -> x``."""

    @checked(features=integer(low=2), num_couplings=positive_int, hidden=positive_int,
             num_layers=nonneg_int, norm=one_of(*NORMS))
    def __init__(self, features: int, num_couplings: int = 6, hidden: int = 64,
                 num_layers: int = 2, norm: str | None = None):
        super().__init__()
        self.shape = (features,)
        self.layers = nn.ModuleList()
        for k in range(num_couplings):
            self.layers.append(AffineCoupling(half_mask(features, invert=k % 2 == 1),
                                              MLPST(features, hidden, num_layers)))
            if norm is not None:
                self.layers.append(_norm_layer(norm, features))

    @checked(x=_batch())
    def forward(self, x):
        log_det = x.new_zeros(x.shape[0], dtype=torch.promote_types(x.dtype, torch.float32))
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    @checked(z=_batch())
    def inverse(self, z):
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z


class _Scale(nn.Module):
    """One scale of the multi-scale flow: ``checker`` checkerboard couplings (``checker + 1`` at
    the last scale), then (unless last) a squeeze and ``channel`` channel couplings. Each coupling
    is followed by the normalisation layer ``norm``, if any; with ``invconv`` an invertible
    1 x 1 convolution mixes the channels before every coupling that sees more than one."""

    def __init__(self, channels, height, width, hidden, num_blocks, last, norm,
                 invconv=False, checker=3, channel=3):
        super().__init__()
        self.last = last
        self.checker = nn.ModuleList()
        for k in range(checker + 1 if last else checker):
            if invconv and channels > 1:
                self.checker.append(InvConv1x1(channels, seed=len(self.checker)))
            mask = checkerboard_mask(height, width, invert=k % 2 == 1)
            mask = mask.expand(1, channels, height, width).clone()
            self.checker.append(AffineCoupling(mask, ResidualST(channels, hidden, num_blocks)))
            if norm is not None:
                self.checker.append(_norm_layer(norm, channels))
        self.channel = nn.ModuleList()
        if not last:
            for k in range(channel):
                if invconv:
                    self.channel.append(InvConv1x1(4 * channels, seed=100 + len(self.channel)))
                mask = channel_mask(4 * channels, invert=k % 2 == 1)
                self.channel.append(AffineCoupling(
                    mask, ResidualST(4 * channels, 2 * hidden, num_blocks)))
                if norm is not None:
                    self.channel.append(_norm_layer(norm, 4 * channels))

    def forward(self, x):
        log_det = 0
        for layer in self.checker:
            x, ld = layer(x)
            log_det = log_det + ld
        if not self.last:
            x = squeeze(x)
            for layer in self.channel:
                x, ld = layer(x)
                log_det = log_det + ld
        return x, log_det

    def inverse(self, y):
        if not self.last:
            for layer in reversed(self.channel):
                y = layer.inverse(y)
            y = unsqueeze(y)
        for layer in reversed(self.checker):
            y = layer.inverse(y)
        return y


def _squeezable(num_scales, name: str, arguments: dict) -> int:
    """Spec: a number of scales the call's image ``shape`` can be squeezed for (each squeeze
    halves the height and width)."""
    num_scales, (_, h, w) = check_int(num_scales, name, low=1), arguments["shape"]
    if h % 2 ** (num_scales - 1) or w % 2 ** (num_scales - 1):
        raise ValueError(f"an image of {h} x {w} cannot be squeezed {num_scales - 1} times "
                         f"({name}={num_scales})")
    return num_scales


class RealNVP(_Flow):
    """The multi-scale RealNVP for images ``N x C x H x W`` (eqs. 13-16 of the paper).

    ``h0 = x``; at every scale but the last, ``f_i`` (3 checkerboard couplings, squeeze, 3 channel
    couplings) maps ``h_{i-1}`` to ``4C`` channels at half the resolution, and the first half of
    them is factored out as ``z_i`` while the rest, ``h_i``, goes on; the last scale applies 4
    checkerboard couplings. ``z = (z_1, ..., z_L)`` flattened, of length ``C*H*W``. The hidden width
    of ``s`` and ``t`` doubles with every squeeze. ``norm`` (``"actnorm"``, ``"batchnorm"`` or
    ``None``) is the normalisation flow layer after every coupling.

    The ``s, t`` networks are :class:`ResidualST`. Beyond the paper: ``invconv=True`` puts an :class:`InvConv1x1` before every coupling
    that sees more than one channel, and ``checker`` / ``channel`` set the number of checkerboard
    and channel couplings per scale (the paper's 3 and 3; the last scale has ``checker + 1``).
    """

    @checked(shape=_IMAGE_SHAPE, num_scales=_squeezable, hidden=positive_int, num_blocks=nonneg_int,
             norm=one_of(*NORMS), invconv=boolean, checker=positive_int, channel=positive_int)
    def __init__(self, shape, num_scales: int = 2, hidden: int = 32, num_blocks: int = 2,
                 norm: str | None = "actnorm", invconv: bool = False, checker: int = 3, channel: int = 3):
        super().__init__()
        c, h, w = shape
        self.shape = (c, h, w)
        self.scales = nn.ModuleList()
        self.factored = []  # shapes of z_1, ..., z_L (one sample each)
        for i in range(num_scales):
            last = i == num_scales - 1
            self.scales.append(_Scale(c, h, w, hidden, num_blocks, last, norm,
                                      invconv, checker, channel))
            if not last:
                c, h, w, hidden = 2 * c, h // 2, w // 2, 2 * hidden
                self.factored.append((c, h, w))  # half of the 4C squeezed channels
        self.factored.append((c, h, w))

    @checked(x=_batch())
    def forward(self, x):
        """``(z, log_det)``: the flattened latent ``N x CHW`` and the
        log-determinant of each sample."""
        zs = []
        dtype = torch.promote_types(x.dtype, torch.float32)
        log_det = x.new_zeros(x.shape[0], dtype=dtype)
        h = x
        for scale in self.scales:
            h, ld = scale(h)
            log_det = log_det + ld
            if not scale.last:
                z_i, h = h.chunk(2, dim=1)
                zs.append(z_i.reshape(x.shape[0], -1))
        zs.append(h.reshape(x.shape[0], -1))
        return torch.cat(zs, dim=1), log_det

    @checked(z=_batch("latent_shape"))
    def inverse(self, z):
        """``x = f^-1(z)`` for a flattened latent ``N x CHW`` (undoes the factor-out, then each scale)."""
        sizes = [math.prod(s) for s in self.factored]
        parts = [p.reshape((z.shape[0],) + s) for p, s in zip(z.split(sizes, dim=1), self.factored)]
        h = parts[-1]
        for i in reversed(range(len(self.scales))):
            scale = self.scales[i]
            if not scale.last:
                h = torch.cat([parts[i], h], dim=1)
            h = scale.inverse(h)
        return h


def _flow_shape(shape, name: str, arguments=None) -> tuple:
    """Spec: one sample's shape, ``(C, H, W)`` or ``(D,)``, of positive ints."""
    shape = sequence(positive_int)(shape, name, arguments)
    if len(shape) not in (1, 3):
        raise ValueError(f"{name} must be (C, H, W) or (D,), got {shape}")
    return shape


@checked(shape=_flow_shape)
def make_realnvp(shape, **kwargs) -> _Flow:
    """A RealNVP for data of one sample's ``shape``: ``(C, H, W)`` gives the multi-scale
    :class:`RealNVP` (kwargs: ``num_scales, hidden, num_blocks, norm``); ``(D,)`` gives a
    :class:`CouplingStack` with alternating masks (kwargs: ``num_couplings, hidden, num_layers,
    norm``)."""
    if len(shape) == 3:
        return RealNVP(shape, **kwargs)
    return CouplingStack(shape[0], **kwargs)


# --------------------------------------------------------------------------- preprocessing

@checked(x=within(0.0, 1.0), levels=integer(low=2))
def dequantize(x: torch.Tensor, levels: int = 256, generator=None) -> torch.Tensor:
    """Uniform dequantisation: pixel values ``k / (levels - 1)`` in [0, 1] become
    ``(k + u) / levels`` with ``u ~ U[0, 1)``, a continuous variable in [0, 1)."""
    k = torch.round(x * (levels - 1))
    u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (k + u) / levels


class _ConditionalCoupling(nn.Module):
    """An affine checkerboard coupling of ``v`` whose ``s, t`` also see a condition image."""

    def __init__(self, mask, cond_channels, hidden, num_blocks):
        super().__init__()
        self.register_buffer("mask", mask)
        channels = mask.shape[1]
        self.net = ResidualST(channels + cond_channels, hidden, num_blocks)
        self.channels = channels
        self.scale = nn.Parameter(torch.ones(1, channels, 1, 1))

    def forward(self, v, cond):
        raw = self.net(torch.cat([v * self.mask, cond], dim=1))[:, :2 * self.channels]
        raw = raw.to(torch.promote_types(v.dtype, torch.float32))
        raw_s, t = raw.chunk(2, dim=1)
        free = 1 - self.mask
        s = self.scale * torch.tanh(raw_s) * free
        return v * self.mask + free * (v * torch.exp(s) + t), _flat_sum(s)


class VariationalDequantizer(nn.Module):
    """Variational dequantisation (Flow++, Ho et al., 2019): a learnt noise distribution
    ``q(u | x)`` on ``[0, 1)^D`` in place of the uniform one.

    ``u = sigmoid(g(eps; x))`` with ``eps ~ N(0, I)`` and ``g`` ``num_couplings`` checkerboard
    affine couplings whose ``s, t`` networks (:class:`ResidualST`) see the image ``x`` besides
    the masked noise.
    :meth:`forward` returns ``(u, log q(u | x))``; ``(k + u) / levels`` is then the dequantised
    image and ``log p - log q`` the per-image bound of :func:`image_log_prob`.
    """

    @checked(shape=_IMAGE_SHAPE, hidden=positive_int, num_blocks=nonneg_int,
             num_couplings=positive_int)
    def __init__(self, shape, hidden: int = 16, num_blocks: int = 1, num_couplings: int = 2):
        super().__init__()
        c, h, w = self.shape = self.sample_shape = shape
        self.couplings = nn.ModuleList(
            _ConditionalCoupling(checkerboard_mask(h, w, invert=k % 2 == 1).expand(1, c, h, w)
                                 .clone(), c, hidden, num_blocks)
            for k in range(num_couplings))

    @checked(x=_batch())
    def forward(self, x: torch.Tensor, generator=None):
        """Noise ``u`` for images ``x`` in [0, 1] (``N x C x H x W``) and ``log q(u | x)``."""
        cond = 2 * x - 1
        dtype = torch.promote_types(x.dtype, torch.float32)
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=dtype)
        log_q = -0.5 * _flat_sum(eps ** 2) - 0.5 * math.prod(self.shape) * LOG_2PI
        v = eps
        for coupling in self.couplings:
            v, ld = coupling(v, cond)
            log_q = log_q - ld
        # u = sigmoid(v): log|du/dv| = log sigmoid(v) + log sigmoid(-v)
        log_q = log_q - _flat_sum(F.logsigmoid(v) + F.logsigmoid(-v))
        return torch.sigmoid(v), log_q


@checked(x=within(0.0, 1.0), alpha=_ALPHA)
def logit_transform(x: torch.Tensor, alpha: float = 0.05):
    """``y = logit(p)``, ``p = alpha + (1 - 2 alpha) x``, for ``x`` in
    [0, 1], and its log-det per sample,
    ``sum(log(1 - 2 alpha) - log p - log(1 - p))``.

    Squeezing into ``[alpha, 1 - alpha]`` keeps the logit finite."""
    p = alpha + (1 - 2 * alpha) * x
    y = torch.log(p) - torch.log1p(-p)
    terms = math.log(1 - 2 * alpha) - torch.log(p) - torch.log1p(-p)
    return y, _flat_sum(terms)


@checked(y=tensor(floating=True, finite=True), alpha=_ALPHA)
def inverse_logit_transform(y: torch.Tensor, alpha: float = 0.05) -> torch.Tensor:
    """The inverse of :func:`logit_transform`: ``x = (sigmoid(y) - alpha) / (1 - 2 alpha)``."""
    return (torch.sigmoid(y) - alpha) / (1 - 2 * alpha)


@checked(log_prob=tensor(floating=True), num_dims=positive_int, levels=integer(low=2))
def bits_per_dim(log_prob: torch.Tensor, num_dims: int,
                 levels: int = 256) -> torch.Tensor:
    """Bits per dimension in the discrete-data convention.

    ``log_prob`` is the log-density (nats) of dequantised data scaled to
    [0, 1]. On the original scale of ``levels`` integer values each
    dimension's density is ``levels`` times smaller, so
    ``bpd = (-log_prob / num_dims + log(levels)) / log 2``: a uniform
    density on [0, 1] gives exactly ``log2(levels)``, 8 bits for 256. ``log_prob`` is a model
    output: its values (NaN) are not checked.
    """
    return (-log_prob / num_dims + math.log(levels)) / math.log(2)


@checked(flow=instance(_Flow), x=images, alpha=_ALPHA,
         dequantizer=optional(instance(VariationalDequantizer)))
def image_log_prob(flow: _Flow, x: torch.Tensor, alpha: float = 0.05,
                   generator=None, dequantizer: VariationalDequantizer | None = None):
    """Log-density (nats) of images ``x`` in [0, 1]: dequantise, apply
    the logit transform, then the flow; both log-dets add up.

    With a ``dequantizer`` the noise ``u`` comes from ``q(u | x)`` and the
    result is ``log p((k + u) / 256) - log q(u | x)``, one sample of the
    variational bound (with uniform noise ``log q = 0``, the same bound). A training step calls
    this: the pixels are not read to check that they lie in [0, 1] (:func:`dequantize` and
    :func:`logit_transform` check it when called directly)."""
    if dequantizer is None:
        x = dequantize.unchecked(x, generator=generator)
        log_q = 0
    else:
        u, log_q = dequantizer(x, generator=generator)
        # keep u off 1 so that the pixel stays in its bin after rounding
        x = (torch.round(x * 255) + u.clamp(max=1 - 1e-6).to(x.dtype)) / 256
    y, ld_logit = logit_transform.unchecked(x, alpha)
    return flow.log_prob(y) + ld_logit - log_q


class DequantizedFlow(nn.Module):
    """An image flow together with its dequantiser, trained as one module: ``log_prob(x,
    alpha)`` is :func:`image_log_prob` (the bound in nats for images ``x`` in [0, 1]) with
    ``dequantizer``'s noise, or uniform noise when it is ``None``."""

    @checked(flow=instance(_Flow), dequantizer=optional(instance(VariationalDequantizer)))
    def __init__(self, flow: _Flow, dequantizer: VariationalDequantizer | None = None):
        super().__init__()
        self.flow, self.dequantizer = flow, dequantizer

    def log_prob(self, x: torch.Tensor, alpha: float = 0.05, generator=None) -> torch.Tensor:
        return image_log_prob(self.flow, x, alpha, generator, dequantizer=self.dequantizer)


@checked(flow=instance(_Flow), alpha=_ALPHA)
def images_from_latent(flow: _Flow, z: torch.Tensor, alpha: float = 0.05) -> torch.Tensor:
    """Images in [0, 1] for latents ``z``: ``f^-1`` then the inverse logit, clamped."""
    with torch.no_grad():
        return inverse_logit_transform(flow.inverse(z), alpha).clamp(0, 1)


def _four_latents(z, name: str, arguments=None) -> torch.Tensor:
    """Spec: four finite latents, ``4 x D``."""
    if check_tensor(z, name, floating=True, finite=True).ndim != 2 or z.shape[0] != 4:
        raise ValueError(f"{name} must have shape 4 x D, got {tuple(z.shape)}")
    return z


@checked(z=_four_latents, steps=positive_int)
def manifold_latents(z: torch.Tensor, steps: int = 9) -> torch.Tensor:
    """Eq. 19 of the paper: for four latents ``z (4 x D)``, the ``steps x steps`` grid
    ``cos(phi)(cos(phi') z1 + sin(phi') z2) + sin(phi)(cos(phi') z3 + sin(phi') z4)``,
    ``phi, phi'`` in [0, pi/2]; rows follow ``phi``, columns ``phi'``; shape ``steps^2 x D``."""
    angles = torch.linspace(0, math.pi / 2, steps, device=z.device, dtype=z.dtype)
    c, s = angles.cos().view(-1, 1, 1), angles.sin().view(-1, 1, 1)   # phi (rows)
    c2, s2 = angles.cos().view(1, -1, 1), angles.sin().view(1, -1, 1)  # phi' (columns)
    grid = c * (c2 * z[0] + s2 * z[1]) + s * (c2 * z[2] + s2 * z[3])
    return grid.reshape(steps * steps, z.shape[1])


# --------------------------------------------------------------------------- the 2-D toy explorer

def _flow_of_points(flow, name: str, arguments=None) -> _Flow:
    """Spec: a flow of 2-D points."""
    if not isinstance(flow, _Flow) or flow.sample_shape != (2,):
        raise ValueError(f"{name} must be a flow of 2-D points, got "
                         f"{getattr(flow, 'sample_shape', type(flow).__name__)}")
    return flow


def _limits(limits, name: str, arguments=None) -> tuple:
    """Spec: ``(x0, x1, y0, y1)``, finite, with x0 < x1 and y0 < y1."""
    x0, x1, y0, y1 = sequence(real, length=4)(limits, name, arguments)
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"{name} must be (x0, x1, y0, y1) with x0 < x1 and y0 < y1, got {limits}")
    return x0, x1, y0, y1


@checked(flow=_flow_of_points, limits=_limits, resolution=positive_int)
def density_grid(flow: _Flow, limits=(-2.0, 3.0, -1.5, 2.0), resolution: int = 120):
    """``exp(log p)`` of a 2-D flow on a regular grid: ``(xs, ys, density)`` for ``imshow``."""
    x0, x1, y0, y1 = limits
    xs = torch.linspace(x0, x1, resolution)
    ys = torch.linspace(y0, y1, resolution)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    device = next(flow.parameters()).device
    flow.eval()
    with torch.no_grad():
        density = flow.log_prob(grid.to(device)).exp().reshape(resolution, resolution)
    return xs, ys, density.cpu()


__getattr__ = moved.display(__name__, {"coupling_explorer": "explore.coupling_explorer"})  # pages run before
