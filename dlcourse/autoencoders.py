"""Autoencoders: what the code learns, how it relates to PCA, and what fine-tuning
does to it.

An autoencoder maps an input ``x`` to a short code ``z = encode(x)`` and back to a
reconstruction ``decode(z)``; training minimises the squared reconstruction error.
This module holds

* the models: :class:`MLPAutoencoder` (the Iris article's 4 -> 2 -> 4 network with a
  sigmoid code, any sizes), :class:`ConvAutoencoder` for 28 x 28 images, and
  :class:`AutoencoderClassifier`, a softmax head on an encoder that keeps the decoder;
* training: :func:`pretrain` (reconstruction; optionally denoising, with noise on the
  inputs only and the clean input as the target) and :func:`finetune` (cross-entropy
  plus ``lam`` times the reconstruction error; ``lam = 0`` is plain fine-tuning);
* the linear baseline: :func:`pca`, :func:`pca_reconstruct` and
  :func:`principal_angles`, which measures how far apart two subspaces are;
* evaluation and pictures: :func:`encode`, :func:`reconstruction_error`,
  :func:`accuracy`, :func:`linear_probe`, :func:`kmeans_accuracy`,
  :func:`stratified_mask`, :func:`decoder_sweep` (the pictures themselves are
  :func:`dlcourse.plot.codes` and :func:`dlcourse.explore.lambda_explorer`);
* the variational autoencoder: :class:`VAE`, :func:`reparameterize`,
  :func:`gaussian_kl`, :func:`vae_loss` (the negative ELBO, split into its
  reconstruction and KL terms) and :func:`train_vae`.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import augment, metrics, moved, train
from .checks import (all_of, boolean, check_int, check_labels, check_tensor, checked, function,
                     instance, integer, label_array, labels, nonneg, nonneg_int, number, one_of,
                     optional, pathlike, positive, positive_int, real, sequence, tensor)

CODE_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
                    "linear": nn.Identity}
_FLOATS = tensor(floating=True)
_TRAINING = dict(epochs=nonneg_int, batch_size=positive_int, lr=positive, seed=nonneg_int,
                 on_epoch_end=optional(function))  # what every trainer here passes to fit


def _inputs(x, name: str, arguments: dict) -> torch.Tensor:
    """Spec: a floating-point batch ``N x input_shape`` of the model ``self``."""
    want = arguments["self"].input_shape
    check_tensor(x, name, floating=True)
    if tuple(x.shape[1:]) != want or x.ndim != len(want) + 1:
        raise ValueError(f"{name} must be N x {' x '.join(map(str, want))}, "
                         f"got shape {tuple(x.shape)}")
    return x


def _codes(z, name: str, arguments: dict) -> torch.Tensor:
    """Spec: a floating-point batch of codes ``N x code_size`` of the model ``self``."""
    size = arguments["self"].code_size
    check_tensor(z, name, floating=True)
    if z.ndim != 2 or z.shape[1] != size:
        raise ValueError(f"{name} must be N x {size}, got shape {tuple(z.shape)}")
    return z


def _having(*attributes: str):
    """Spec: a module with these ``attributes`` (``encode``, ``reconstruct``, ...)."""
    def spec(model, name, arguments):
        if not isinstance(model, nn.Module) or not all(hasattr(model, a) for a in attributes):
            raise ValueError(f"{name} must have {', '.join(attributes)}, "
                             f"got a {type(model).__name__}")
        return model
    return spec


# -------------------------------------------------------------------------- models


class _Autoencoder(nn.Module):
    """What every autoencoder here shares: ``decode`` checks the code's size, and
    ``forward`` (alias ``reconstruct``) is ``decode(encode(x))``. Subclasses set
    ``encoder``, ``decoder``, ``code_size`` and ``encode``."""

    @checked(z=_codes)
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    reconstruct = forward


class MLPAutoencoder(_Autoencoder):
    """Fully connected autoencoder x -> z -> x_hat for vectors of in_features.

    Without hidden layers it is the article's network,
    x_hat = W' s(W x + b) + b', with s the code activation: "sigmoid" in the
    article, "linear" for the linear autoencoder that spans the PCA subspace.
    ``hidden`` adds mirrored ReLU layers. The last decoder layer is linear, so
    it can output standardised data of either sign.
    """

    @checked(in_features=positive_int, code_size=positive_int,
             hidden=sequence(positive_int, min_length=0), code_activation=one_of(*CODE_ACTIVATIONS))
    def __init__(self, in_features: int = 4, code_size: int = 2, hidden=(),
                 code_activation: str = "sigmoid"):
        super().__init__()
        self.in_features, self.code_size = in_features, code_size
        self.input_shape = (in_features,)
        sizes = (in_features, *hidden, code_size)
        code = CODE_ACTIVATIONS[code_activation]
        encoder, decoder = [], []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            last = i == len(hidden)
            encoder += [nn.Linear(a, b), code() if last else nn.ReLU()]
        back = sizes[::-1]
        for i, (a, b) in enumerate(zip(back, back[1:])):
            decoder.append(nn.Linear(a, b))
            if i < len(hidden):
                decoder.append(nn.ReLU())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    @checked(x=_inputs)
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)



def _multiple_of_4(size, name: str, arguments=None) -> int:
    """Spec: an image side in pixels, a positive multiple of 4."""
    size = check_int(size, name, low=1)
    if size % 4:
        raise ValueError(f"{name} must be divisible by 4, got {size}")
    return size


class ConvAutoencoder(_Autoencoder):
    """Convolutional autoencoder for N x C x H x W images in [0, 1], H = W a
    multiple of 4.

    Encoder: two stride-2 3x3 convolutions with ReLU (28 -> 14 -> 7 pixels,
    ``widths`` channels), then a linear layer to a ``code_size`` code with no
    activation. The decoder mirrors it with transposed convolutions and ends
    in a sigmoid.
    """

    @checked(code_size=positive_int, in_channels=positive_int,
             widths=sequence(positive_int, length=2), image_size=_multiple_of_4)
    def __init__(self, code_size: int = 16, in_channels: int = 1,
                 widths=(16, 32), image_size: int = 28):
        super().__init__()
        self.code_size, self.in_channels = code_size, in_channels
        self.image_size = image_size
        self.input_shape = (in_channels, image_size, image_size)
        small = image_size // 4
        flat = widths[1] * small * small
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(widths[0], widths[1], 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, code_size))
        self.decoder = nn.Sequential(
            nn.Linear(code_size, flat), nn.ReLU(),
            nn.Unflatten(1, (widths[1], small, small)),
            nn.ConvTranspose2d(widths[1], widths[0], 3, stride=2, padding=1,
                               output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(widths[0], in_channels, 3, stride=2, padding=1,
                               output_padding=1), nn.Sigmoid())

    @checked(x=_inputs)
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)



class AutoencoderClassifier(nn.Module):
    """A linear softmax head on an autoencoder's code: logits = V encode(x) + b''.

    The autoencoder (encoder *and* decoder) is used as given, not copied: pass
    ``copy.deepcopy(pretrained)`` to keep the pre-trained network. ``forward`` returns
    logits; ``reconstruct`` runs the decoder on the (possibly fine-tuned) code.
    """

    @checked(autoencoder=_having("encode", "decode", "code_size"), num_classes=integer(low=2))
    def __init__(self, autoencoder: nn.Module, num_classes: int):
        super().__init__()
        self.autoencoder = autoencoder
        self.code_size = autoencoder.code_size
        self.head = nn.Linear(autoencoder.code_size, num_classes)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.encode(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(self.autoencoder.encode(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.autoencoder.encode(x))


# ------------------------------------------------------------------------ training


@checked(x=_FLOATS, noise_std=nonneg, clip=boolean)
def corrupt(x: torch.Tensor, noise_std: float,
            generator: torch.Generator | None = None, clip: bool = False):
    """A noisy copy x + N(0, noise_std^2), clamped to [0, 1] when ``clip``.

    ``x`` itself is never modified.
    """
    return augment.gaussian_noise(x, noise_std, generator=generator, clamp=clip)


@checked(x=tensor(floating=True, nonempty=True), noise_std=nonneg, clip=boolean)
def reconstruction_loss(model: nn.Module, x: torch.Tensor,
                        noise_std: float = 0.0,
                        generator: torch.Generator | None = None,
                        clip: bool = False) -> torch.Tensor:
    """Mean squared error between model.reconstruct(input) and the clean x.

    With ``noise_std > 0`` (a denoising autoencoder) the *input* is a
    corrupted copy of ``x``; the target is always ``x`` itself.
    """
    inputs = corrupt(x, noise_std, generator, clip) if noise_std > 0 else x
    return F.mse_loss(model.reconstruct(inputs), x)


@checked(x=tensor(floating=True, nonempty=True), y=labels(rows_of="x"), lam=nonneg,
         noise_std=nonneg, clip=boolean)
def finetune_loss(model: AutoencoderClassifier, x: torch.Tensor,
                  y: torch.Tensor, lam: float, noise_std: float = 0.0,
                  generator: torch.Generator | None = None,
                  clip: bool = False) -> torch.Tensor:
    """Cross-entropy of the head plus ``lam`` times the reconstruction error.

    The classification term always sees the clean ``x``. ``lam = 0``
    computes no reconstruction at all, so it is exactly plain fine-tuning.
    Without noise the code is computed once and shared by both terms. A training step calls
    this: the labels' values are not read.
    """
    if noise_std > 0:
        loss = F.cross_entropy(model(x), y)
        if lam > 0:
            noisy = reconstruction_loss(model, x, noise_std, generator, clip)
            loss = loss + lam * noisy
        return loss
    z = model.encode(x)
    loss = F.cross_entropy(model.head(z), y)
    if lam > 0:
        loss = loss + lam * F.mse_loss(model.autoencoder.decode(z), x)
    return loss


SMALL_MODEL = 10_000  # weights; below this the small-model rules of _fit apply


@contextlib.contextmanager
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(model: nn.Module, loss_fn, data, *, lr: float, **kwargs) -> list[dict]:
    """:func:`dlcourse.train.fit` with Adam, and two rules for small models.

    A network like the Iris 4 -> 2 -> 4 trains on one CPU thread: its operations
    are far too small to split, synchronising a second thread costs more than the
    arithmetic, and when another process holds a core a step becomes tens of
    times slower. On CUDA it trains without mixed precision, which would cost it
    precision (the linear autoencoder's angle to PCA) and buy it no speed.
    """
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    on_cpu = data[0].device.type == "cpu"
    threads = _one_thread() if small and on_cpu else contextlib.nullcontext()
    with threads:
        return train.fit(model, optimizer, loss_fn, data,
                         amp=False if small else None, **kwargs)


def _noise_generator(x: torch.Tensor, seed: int) -> torch.Generator:
    return torch.Generator(device=x.device).manual_seed(seed + 1_000_003)


@checked(autoencoder=_having("reconstruct"), x=_FLOATS, noise_std=nonneg, clip=boolean,
         checkpoint=optional(pathlike), **_TRAINING)
def pretrain(autoencoder: nn.Module, x: torch.Tensor, *, epochs: int, batch_size: int,
             lr: float = 1e-3, noise_std: float = 0.0, clip: bool = False,
             seed: int = 0, on_epoch_end=None, checkpoint=None,
             desc: str = "pre-training") -> list[dict]:
    """Train ``autoencoder`` to reconstruct ``x`` (Adam, squared error).

    ``noise_std > 0`` trains a denoising autoencoder: Gaussian noise on the inputs
    only (clamped to [0, 1] when ``clip``). ``on_epoch_end`` and ``checkpoint`` (a file
    to resume from and save to, e.g. from :func:`dlcourse.runcache.checkpoint`) are passed
    on to :func:`dlcourse.train.fit`; the per-epoch history is returned. Models with
    fewer than ``SMALL_MODEL`` weights train on one CPU thread and, on CUDA,
    without mixed precision.
    """
    generator = _noise_generator(x, seed)

    def loss_fn(model, batch):
        return reconstruction_loss(model, batch, noise_std, generator, clip)

    return _fit(autoencoder, loss_fn, (x,), lr=lr, epochs=epochs,
                batch_size=batch_size, seed=seed, on_epoch_end=on_epoch_end,
                checkpoint=checkpoint, desc=desc, state={"noise": generator},
                settings={"loss": "reconstruction", "noise_std": noise_std, "clip": clip})


def _labels_for_model(y, name: str, arguments: dict) -> torch.Tensor:
    """Spec: one class index per row of ``x``, each a class of ``model``'s head (reads them)."""
    return check_labels(y, name, num_classes=arguments["model"].head.out_features,
                        length=len(arguments["x"]), rows_of="x")


@checked(model=instance(AutoencoderClassifier), x=_FLOATS, y=_labels_for_model,
         lam=nonneg, noise_std=nonneg, clip=boolean, checkpoint=optional(pathlike), **_TRAINING)
def finetune(model: AutoencoderClassifier, x: torch.Tensor, y: torch.Tensor, *,
             lam: float, epochs: int, batch_size: int, lr: float = 1e-3,
             noise_std: float = 0.0, clip: bool = False, seed: int = 0,
             on_epoch_end=None, checkpoint=None, desc: str = "fine-tuning") -> list[dict]:
    """Train every weight of ``model`` on the labels ``y``, keeping ``lam`` times the
    reconstruction error in the loss (see :func:`finetune_loss`); ``checkpoint`` as in
    :func:`pretrain`.

    ``lam = 0`` is plain fine-tuning: the decoder gets no gradient and stays as it was.
    """
    generator = _noise_generator(x, seed)

    def loss_fn(net, xb, yb):
        return finetune_loss(net, xb, yb, lam, noise_std, generator, clip)

    return _fit(model, loss_fn, (x, y), lr=lr, epochs=epochs,
                batch_size=batch_size, seed=seed, on_epoch_end=on_epoch_end,
                checkpoint=checkpoint, desc=desc, state={"noise": generator},
                settings={"loss": "finetune", "lam": lam, "noise_std": noise_std, "clip": clip})


# ---------------------------------------------------------------------- evaluation


@torch.no_grad()
def _batched(fn: Callable, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    starts = range(0, x.shape[0], batch_size)
    return torch.cat([fn(x[i:i + batch_size]) for i in starts])


@checked(model=_having("encode"), x=tensor(), batch_size=positive_int)
def encode(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The codes of every row of ``x`` (eval mode, in batches)."""
    model.eval()
    return _batched(model.encode, x, batch_size)


@checked(model=_having("reconstruct"), x=tensor(nonempty=True), batch_size=positive_int)
def reconstruction_error(model: nn.Module, x: torch.Tensor,
                         batch_size: int = 1024) -> float:
    """Mean squared reconstruction error per input number (pixel or feature)."""
    model.eval()
    x_hat = _batched(model.reconstruct, x, batch_size)
    return F.mse_loss(x_hat, x).item()


@checked(x=tensor(nonempty=True), y=labels(rows_of="x", values=True))
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is the label's."""
    return (train.predict(model, x).argmax(1) == y).float().mean().item()


@checked(y=labels(values=True), fraction=number(0.0, 1.0, low_open=True, high_open=True),
         seed=nonneg_int)
def stratified_mask(y: torch.Tensor, fraction: float = 0.5,
                    seed: int = 0) -> torch.Tensor:
    """Boolean mask that picks round(fraction * n_c) random samples of every class c.

    On Iris, ``fraction = 0.5`` gives the article's 75 training flowers, 25 a species.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = y.cpu()
    mask = torch.zeros(len(labels), dtype=torch.bool)
    for c in labels.unique():
        members = (labels == c).nonzero().flatten()
        take = round(fraction * len(members))
        mask[members[torch.randperm(len(members), generator=generator)[:take]]] = True
    return mask.to(y.device)


def _features(x) -> np.ndarray:
    if torch.is_tensor(x):
        array = x.detach().cpu().double().numpy()
    else:
        array = np.asarray(x, dtype=float)
    return array.reshape(array.shape[0], -1)


def _labels(y) -> np.ndarray:
    return np.asarray(y.cpu() if torch.is_tensor(y) else y)


def _feature_rows(x, name: str, arguments=None) -> np.ndarray:
    """Spec: finite numbers, one row per sample (flattened), as a float64 array."""
    try:
        array = _features(x)
    except (TypeError, ValueError, IndexError, RuntimeError):
        raise ValueError(f"{name} must be an array of numbers, one row per sample, "
                         f"got {x!r}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; they contain NaN or inf")
    return array


def _labels_of(features: str):
    """Spec: integer labels >= 0, one per row of the call's ``features`` (an array)."""
    def spec(y, name, arguments):
        y = label_array(y, name)
        if len(y) != len(arguments[features]):
            raise ValueError(f"{name} must hold {len(arguments[features])} labels (one per row "
                             f"of {features}), got {len(y)}")
        return y
    return spec


def _columns_of_train(b, name: str, arguments: dict) -> np.ndarray:
    """Spec: as many columns as ``train_features``."""
    if b.shape[1] != arguments["train_features"].shape[1]:
        raise ValueError(f"train_features and {name} must have as many columns, "
                         f"got {arguments['train_features'].shape[1]} and {b.shape[1]}")
    return b


@checked(train_features=_feature_rows, y_train=_labels_of("train_features"),
         test_features=all_of(_feature_rows, _columns_of_train),
         y_test=_labels_of("test_features"), max_iter=positive_int)
def linear_probe(train_features, y_train, test_features, y_test,
                 max_iter: int = 1000) -> float:
    """Test accuracy of multinomial logistic regression on standardised features.

    Features of any shape are flattened per row; fitted with scikit-learn.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(train_features, y_train)
    return float((probe.predict(test_features) == y_test).mean())


@checked(features=_feature_rows, y=_labels_of("features"), num_clusters=optional(positive_int),
         seed=nonneg_int)
def kmeans_accuracy(features, y, num_clusters: int | None = None,
                    seed: int = 0) -> float:
    """Cluster accuracy (best one-to-one matching) of k-means with k = #classes."""
    from sklearn.cluster import KMeans

    k = num_clusters or int(y.max()) + 1
    found = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(features)
    return metrics.cluster_accuracy(y, found)


# ---------------------------------------------------------------- PCA and subspaces


def _samples(x, name: str, arguments=None) -> torch.Tensor:
    """Spec: a finite floating-point tensor of at least two samples (rows)."""
    check_tensor(x, name, floating=True, finite=True)
    if x.ndim == 0 or x.shape[0] < 2:
        raise ValueError(f"{name} must hold at least two samples, got shape {tuple(x.shape)}")
    return x


def _at_most_the_dimension(k, name: str, arguments: dict) -> int:
    """Spec: an int from 1 to the dimension of a sample of the call's ``x``."""
    k, dimension = check_int(k, name, low=1), math.prod(arguments["x"].shape[1:])
    if k > dimension:
        raise ValueError(f"{name} must be at most the dimension {dimension}, got {k}")
    return k


@checked(x=_samples, k=_at_most_the_dimension)
def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and top-``k`` principal directions (D x k, orthonormal columns) of the rows
    of ``x``, sorted by decreasing variance; images are flattened to vectors.

    Computed from the D x D covariance in float64 (``torch.linalg.eigh``) on x's device.
    """
    flat = x.reshape(x.shape[0], -1).double()
    mean = flat.mean(0)
    centred = flat - mean
    covariance = centred.T @ centred / (flat.shape[0] - 1)
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    components = vectors[:, -k:].flip(1)
    return mean.to(x.dtype), components.to(x.dtype)


def _of_the_dimension(ndim: int):
    """Spec: a finite floating-point ``ndim``-D tensor with one row per number in a sample of
    the call's ``x`` (a mean, or the components as columns)."""
    def spec(t, name, arguments):
        check_tensor(t, name, ndim=ndim, floating=True, finite=True)
        d = math.prod(arguments["x"].shape[1:])
        if t.shape[0] != d:
            raise ValueError(f"{name} must have {d} rows, one per number of a sample of x, "
                             f"got shape {tuple(t.shape)}")
        return t
    return spec


@checked(x=tensor(ndim=(2, 3, 4), floating=True), mean=_of_the_dimension(1),
         components=_of_the_dimension(2))
def pca_reconstruct(x: torch.Tensor, mean: torch.Tensor,
                    components: torch.Tensor) -> torch.Tensor:
    """Project the rows of ``x`` onto mean + span(components); same shape as ``x``."""
    flat = x.reshape(x.shape[0], -1)
    codes = (flat - mean) @ components
    return (mean + codes @ components.T).reshape(x.shape)


def _orthonormal_basis(a: torch.Tensor, name: str) -> torch.Tensor:
    if not torch.is_tensor(a) or a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor whose columns span the "
                         f"subspace, got {getattr(a, 'shape', type(a).__name__)}")
    if not 1 <= a.shape[1] <= a.shape[0]:
        raise ValueError(f"{name} must have between 1 and {a.shape[0]} columns, "
                         f"got {a.shape[1]}")
    a = a.detach().double()
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    u, s, _ = torch.linalg.svd(a, full_matrices=False)
    if s[-1] <= max(a.shape) * torch.finfo(torch.float64).eps * s[0]:
        raise ValueError(f"{name} must have full column rank; its singular values "
                         f"are {s.tolist()}")
    return u


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (radians, largest first) between the column spaces
    of a and b; min(k_a, k_b) of them, in float64.

    With orthonormal bases Q_a, Q_b (Q_b with no more columns than Q_a), the
    cosines of the angles are the singular values of Q_a^T Q_b and their sines
    those of Q_b - Q_a Q_a^T Q_b. Angles below pi/4 are read from the sines,
    because arccos loses all precision near 0.
    """
    qa, qb = _orthonormal_basis(a, "a"), _orthonormal_basis(b, "b")
    if qa.shape[0] != qb.shape[0]:
        raise ValueError(f"a and b must have the same number of rows, "
                         f"got {qa.shape[0]} and {qb.shape[0]}")
    if qb.shape[1] > qa.shape[1]:
        qa, qb = qb, qa
    cross = qa.T @ qb
    cosines = torch.linalg.svdvals(cross).clamp(0, 1)  # largest first
    sines = torch.linalg.svdvals(qb - qa @ cross).clamp(0, 1)  # largest first
    from_cos = torch.arccos(cosines)  # smallest angle first
    from_sin = torch.arcsin(sines.flip(0))  # smallest angle first
    angles = torch.where(from_cos < math.pi / 4, from_sin, from_cos)
    return angles.flip(0)


def _two_dimensional_code(model, name: str, arguments=None) -> nn.Module:
    """Spec: an autoencoder with a 2-D code."""
    if getattr(model, "code_size", None) != 2:
        raise ValueError(f"{name} must have a 2-D code, got code_size="
                         f"{getattr(model, 'code_size', None)}")
    return model


def _above_low(high, name: str, arguments: dict):
    """Spec: above the call's ``low`` in both coordinates."""
    low = arguments["low"]
    if not all(a < b for a, b in zip(low, high)):
        raise ValueError(f"low and {name} must be two numbers each with low < high, "
                         f"got {list(low)} and {list(high)}")
    return high


@torch.no_grad()
@checked(model=_two_dimensional_code, low=sequence(real, length=2),
         high=all_of(sequence(real, length=2), _above_low), steps=positive_int)
def decoder_sweep(model: nn.Module, low, high, steps: int = 12) -> torch.Tensor:
    """Decode a steps x steps grid of 2-D codes from ``low`` to ``high`` into a mosaic.

    Returns a (steps * H) x (steps * W) image of the first channel: the first code
    axis runs left to right and the second bottom to top, as in a scatter plot.
    """
    device = next(model.parameters()).device
    u = torch.linspace(low[0], high[0], steps, device=device)
    v = torch.linspace(high[1], low[1], steps, device=device)  # top row: largest z_2
    rows, cols = torch.meshgrid(v, u, indexing="ij")
    model.eval()
    images = model.decode(torch.stack([cols, rows], dim=-1).reshape(-1, 2))[:, 0]
    h, w = images.shape[-2:]
    mosaic = images.reshape(steps, steps, h, w).permute(0, 2, 1, 3)
    return mosaic.reshape(steps * h, steps * w)


@checked(z=tensor(floating=True, ndim=2), low=sequence(real, length=2),
         high=all_of(sequence(real, length=2), _above_low), steps=integer(2))
def grid_counts(z: torch.Tensor, low, high, steps: int = 12) -> torch.Tensor:
    """How many of the 2-D codes ``z`` fall in the cell of each point of :func:`decoder_sweep`'s
    grid (a square of one grid spacing centred on the point): a steps x steps tensor laid out as
    the mosaic (first code axis left to right, second bottom to top). A zero is a hole: the
    decoder draws an image there that no code of ``z`` is near. Codes outside the grid count
    nowhere."""
    if z.shape[1] != 2:
        raise ValueError(f"z must hold 2-D codes (N x 2), got shape {tuple(z.shape)}")
    z = z.detach().double().cpu()
    spacing = [(b - a) / (steps - 1) for a, b in zip(low, high)]
    col = torch.round((z[:, 0] - low[0]) / spacing[0]).long()
    row = torch.round((high[1] - z[:, 1]) / spacing[1]).long()  # top row: largest z_2
    inside = (col >= 0) & (col < steps) & (row >= 0) & (row < steps)
    counts = torch.zeros(steps * steps, dtype=torch.long)
    counts.index_add_(0, row[inside] * steps + col[inside], torch.ones(int(inside.sum()), dtype=torch.long))
    return counts.reshape(steps, steps)


# ------------------------------------------------------------ variational autoencoder


class VAE(_Autoencoder):
    """Variational autoencoder (Kingma and Welling, 2014) for N x C x H x W images in [0, 1].

    The encoder (one hidden ReLU layer of ``hidden`` units) outputs the mean and the
    log-variance of a diagonal Gaussian q(z | x) over a ``latent_size``-dimensional code;
    the decoder (mirrored) outputs one Bernoulli logit per pixel. ``encode`` returns the
    mean, so ``encode``/``reconstruct``/``decoder_sweep`` work as for the other
    autoencoders; ``decode`` returns pixel probabilities and ``decode_logits`` the logits
    that :func:`vae_loss` uses.
    """

    @checked(latent_size=positive_int, hidden=positive_int, in_channels=positive_int,
             image_size=positive_int)
    def __init__(self, latent_size: int = 2, hidden: int = 256, in_channels: int = 1,
                 image_size: int = 28):
        super().__init__()
        self.code_size, self.in_channels, self.image_size = latent_size, in_channels, image_size
        self.input_shape = (in_channels, image_size, image_size)
        pixels = in_channels * image_size * image_size
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent_size))
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, hidden), nn.ReLU(), nn.Linear(hidden, pixels),
            nn.Unflatten(1, (in_channels, image_size, image_size)))

    @checked(x=_inputs)
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (each N x latent_size) of q(z | x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return super().decode(z)  # the shape check, then the decoder

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    reconstruct = forward


@checked(mu=_FLOATS, logvar=tensor(floating=True, like="mu"))
def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """A sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): the reparameterisation trick.

    The randomness sits in eps, which does not depend on the parameters, so z is a
    differentiable function of ``mu`` and ``logvar`` and gradients flow through the sample.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


@checked(mu=_FLOATS, logvar=tensor(floating=True, like="mu"))
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) of every row, summed over the last dimension:
    (1/2) sum(mu^2 + exp(logvar) - 1 - logvar), in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


@checked(model=instance(VAE), beta=nonneg)
def vae_loss(model: VAE, x: torch.Tensor, generator: torch.Generator | None = None,
             beta: float = 1.0) -> dict[str, torch.Tensor]:
    """The negative ELBO of a batch, averaged over its images, in nats per image.

    Returns ``{"loss", "reconstruction", "kl"}``: ``reconstruction`` is the Bernoulli
    negative log-likelihood -log p(x | z) of one reparameterised sample z ~ q(z | x),
    summed over pixels: a likelihood, and the loss a bound on -log p(x), for binary pixels only
    (binary cross-entropy accepts grey levels in [0, 1], but is then not normalised);
    ``kl`` is KL(q(z | x) || N(0, I)); ``loss = reconstruction + beta * kl``, the negative
    ELBO when ``beta = 1``.
    """
    mu, logvar = model.posterior(x)
    z = reparameterize(mu, logvar, generator)
    logits = model.decode_logits(z)
    reconstruction = F.binary_cross_entropy_with_logits(
        logits, x, reduction="none").flatten(1).sum(1).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return {"loss": reconstruction + beta * kl, "reconstruction": reconstruction,
            "kl": kl}


@checked(model=instance(VAE), x=_FLOATS, beta=nonneg, **_TRAINING)
def train_vae(model: VAE, x: torch.Tensor, *, epochs: int, batch_size: int,
              lr: float = 1e-3, beta: float = 1.0, seed: int = 0, on_epoch_end=None,
              desc: str = "VAE") -> list[dict]:
    """Maximise the ELBO of the images ``x`` (Adam on :func:`vae_loss`, one sample of z
    per image and step); returns the per-epoch history (``loss`` is the negative ELBO)."""
    generator = _noise_generator(x, seed)

    def loss_fn(net, batch):
        return vae_loss(net, batch, generator, beta)["loss"]

    return _fit(model, loss_fn, (x,), lr=lr, epochs=epochs, batch_size=batch_size,
                seed=seed, on_epoch_end=on_epoch_end, desc=desc)


__getattr__ = moved.display(__name__, {"lambda_explorer": "explore.lambda_explorer",
                                       "plot_codes": "plot.codes"})  # pages run before
