"""One table of dlcourse's public API for argument validation: a valid baseline call per function
or constructor, and for each argument the kinds of bad value that must be rejected.

``tools/fuzz_api.py`` runs every (case, argument, kind) and classifies the outcome;
``tests/test_validation.py`` asserts that each one raises a ``ValueError`` naming the argument.
Kinds are listed per argument only where they are really invalid for it (0 where 0 is allowed is
not listed), so the denominator is honest.

Not listed on purpose: NaN pixels or logits (a model's output or an image batch is not checked
for finiteness: that would cost a device sync every training step; NaN propagates visibly), and
any value kind of a tensor that a training step passes (see ``STEP_PROBS``). Every public callable
of every module is in ``CASES`` or in ``SKIPPED`` with its reason (tests/test_validation.py checks
it).
"""
from __future__ import annotations

import functools
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from dlcourse import (augment, autoencoders, checks, config, ctaugment, data, exercises,  # noqa: E402
                      flows, iic, info, loop, losses, metrics, models, plot, recipes, runcache,
                      sources, ssl, stats, superclass, train)

# --------------------------------------------------------------------------- bad values


def bad_value(kind, base):
    """The bad value of ``kind`` derived from the valid ``base`` value of the argument.

    ``kind`` is a name below or a ``(label, value)`` pair for a one-off value.
    """
    if isinstance(kind, tuple):
        return kind[1]
    scalar = {
        "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "zero": 0, "bool": True,
        "none": None, "str": "1", "frac": 1.5, "huge": 10 ** 6, "above1": 1.5,
    }
    if kind in scalar:
        return scalar[kind]
    if kind == "neg":
        return -1 if isinstance(base, int) else -0.5
    t = base
    if kind == "t_nan" or kind == "t_inf":
        out = t.clone().double() if not t.is_floating_point() else t.clone()
        out.view(-1)[0] = math.nan if kind == "t_nan" else math.inf
        return out
    if kind == "t_neg":
        out = t.clone()
        out.view(-1)[0] = -1
        return out
    if kind == "t_above1":
        out = t.clone()
        out.view(-1)[0] = 1.5
        return out
    if kind == "t_huge":
        out = t.clone()
        out.view(-1)[0] = 10 ** 6
        return out
    if kind == "t_dtype":  # ints where floats are needed and vice versa
        return t.long() if t.is_floating_point() else t.double() + 0.5
    if kind == "t_bool":
        return t != 0
    if kind == "t_shape":  # one extra leading dimension
        return t.unsqueeze(0)
    if kind == "t_flat":  # one dimension fewer
        return t.reshape(-1) if t.ndim > 1 else t.reshape(())
    if kind == "t_empty":
        return t[:0]
    if kind == "t_mismatch":  # one row fewer than the other arguments
        return t[:-1]
    if kind == "t_list":
        return t.tolist()
    raise KeyError(kind)


def kind_label(kind) -> str:
    return kind[0] if isinstance(kind, tuple) else kind


def names_arg(message: str, name: str) -> bool:
    """True when ``message`` names the argument ``name`` as a word (short names like ``x`` must be
    followed by a verb or punctuation, so that ``N x C`` does not count)."""
    pattern = rf"(?<![\w.]){re.escape(name)}(?!\w)"
    if len(name) <= 2:
        pattern += r"(?=\[|,|:|\)|`|'| must| and| has| holds| is| of| needs| =| \()"
    return re.search(pattern, message) is not None


# --------------------------------------------------------------------------- kinds by role

NUMBER = ["nan", "inf", "bool", "none", "str"]          # any finite real number
NONNEG = NUMBER + ["neg", "-inf"]                          # >= 0
POSITIVE = NONNEG + ["zero"]                               # > 0
UNIT = NONNEG + ["above1"]                                 # in [0, 1]
POS_INT = ["zero", "neg", "frac", "bool", "none", "str", "nan"]  # int >= 1
NONNEG_INT = ["neg", "frac", "bool", "none", "str", "nan"]       # int >= 0
PROBS = ["t_nan", "t_inf", "t_neg", "t_above1", "t_dtype", "none", "t_list"]  # probability rows
IMAGES = ["t_flat", "t_shape", "t_dtype", "none", "t_list"]       # N x C x H x W float batch
LABELS = ["t_neg", "t_huge", "t_dtype", "t_bool", "t_shape", "t_mismatch", "none"]
LOGITS = ["t_dtype", "t_flat", "t_shape", "t_mismatch", "none", "t_list"]

# A function of the training step (a loss, an augmentation, a forward pass) checks types, shapes
# and dtypes only: reading a tensor's values (NaN, a probability outside [0, 1], a label out of
# range) makes a GPU finish all queued work first, every step. So for the tensors such a function
# is given every step, the value kinds are left out on purpose; the lists below are the rest.
# (The maths it calls, such as info.joint_distribution or ssl.sharpen, checks values when called
# directly; the step calls it as ``fn.unchecked``.)
STEP_PROBS = ["t_dtype", "none", "t_list"]                              # PROBS without values
STEP_LABELS = ["t_dtype", "t_bool", "t_shape", "t_mismatch", "none"]   # LABELS without values
STEP_INDEX = ["t_dtype", "t_mismatch", "none"]                          # index tensors


@dataclass
class Case:
    """``call(**kwargs())`` must succeed; with ``kwargs[arg]`` replaced by any value of a kind in
    ``bad[arg]`` it must raise a ``ValueError`` naming ``arg``."""

    name: str
    call: Callable
    kwargs: Callable[[], dict]
    bad: dict = field(default_factory=dict)

    def invalid_calls(self):
        """Every ``(arg, kind)`` pair of this case."""
        return [(arg, kind) for arg, kinds in self.bad.items() for kind in kinds]


def _g():
    return torch.Generator().manual_seed(0)


def _probs(n=6, c=4, seed=0):
    return torch.softmax(torch.randn(n, c, generator=torch.Generator().manual_seed(seed)), 1)


def _images(n=4, c=1, s=8):
    return torch.rand(n, c, s, s, generator=_g())


def _logits(n=6, c=4):
    return torch.randn(n, c, generator=_g())


def _labels(n=6, c=4):
    return torch.arange(n) % c


def _mlp_ae():
    return autoencoders.MLPAutoencoder(4, 2)


def _classifier():
    return autoencoders.AutoencoderClassifier(_mlp_ae(), 3)


def _cta_update_kwargs():
    cta = ctaugment.CTAugment(num_bins=5, depth=2)
    return dict(self=cta, ops=torch.tensor([[0, 1], [2, 3], [4, 5]]),
                bins=torch.tensor([[0, 1], [2, 3], [4, 0]]), probs=_probs(3, 4),
                labels=torch.tensor([0, 1, 2]))


def _cta_apply_kwargs():
    cta = ctaugment.CTAugment(num_bins=5, depth=2)
    return dict(self=cta, x=_images(3), ops=torch.tensor([[0, 1], [2, 3], [4, 5]]),
                bins=torch.tensor([[0, 1], [2, 3], [4, 0]]))


def _method(fn):
    """``fn(self, **kwargs)`` as a call taking ``self`` among the keyword arguments."""
    def call(self, **kwargs):
        return fn(self, **kwargs)
    return call


def _loss_kwargs(method):
    model = models.SmallConvNet(4, 1, widths=(2, 2))
    if isinstance(method, ssl.ReMixMatch):
        model = ssl.RotationNet(model)
    return dict(self=method, model=model, x_l=_images(4), y_l=_labels(4), x_u=_images(4), step=0,
                generator=_g())


def _plot(fn):
    def call(**kwargs):
        import matplotlib.pyplot as plt
        try:
            return fn(**kwargs)
        finally:
            plt.close("all")
    return call


CTA_OPS = [(name, op) for name, op in ctaugment.OPS.items()]

CASES: list[Case] = [
    # ---------------------------------------------------------------- info
    Case("info.entropy", info.entropy, lambda: dict(p=_probs(), dim=-1),
         {"p": PROBS, "dim": ["bool", "str", "frac", "huge"]}),
    Case("info.joint_distribution", info.joint_distribution,
         lambda: dict(z1=_probs(), z2=_probs(seed=1)),
         {"z1": PROBS + ["t_shape", "t_mismatch", "t_empty"],
          "z2": PROBS + ["t_shape", "t_mismatch", "t_empty"]}),
    Case("info.mutual_information", info.mutual_information,
         lambda: dict(joint=torch.full((3, 3), 1 / 9)),
         {"joint": PROBS + ["t_shape", "t_empty"]}),
    Case("info.iic_loss", info.iic_loss,
         lambda: dict(z1=_probs(), z2=_probs(seed=1), alpha=1.0, eps=1e-8),
         {"z1": STEP_PROBS + ["t_mismatch", "t_empty"], "z2": STEP_PROBS + ["t_mismatch"],
          "alpha": NONNEG, "eps": POSITIVE}),
    # ---------------------------------------------------------------- losses
    Case("losses.effective_number", losses.effective_number,
         lambda: dict(n=torch.tensor([1.0, 5.0, 10.0]), beta=0.9),
         {"n": ["t_nan", "t_inf", "t_neg", "t_bool", "none", ("str", "abc")], "beta": UNIT}),
    Case("losses.class_balanced_weights", losses.class_balanced_weights,
         lambda: dict(counts=torch.tensor([10.0, 5.0, 1.0]), beta=0.9),
         {"counts": ["t_nan", "t_inf", "t_neg", "t_shape", "t_empty", "t_bool", "none",
                     ("zero count", torch.tensor([10.0, 0.0, 1.0]))], "beta": UNIT}),
    Case("losses.inverse_frequency_weights", losses.inverse_frequency_weights,
         lambda: dict(counts=torch.tensor([10.0, 5.0, 1.0])),
         {"counts": ["t_nan", "t_inf", "t_neg", "t_shape", "t_empty", "none"]}),
    Case("losses.focal_loss", losses.focal_loss,
         lambda: dict(logits=_logits(), target=_labels(), gamma=2.0, weight=torch.ones(4),
                      reduction="mean"),
         {"logits": LOGITS + ["t_empty"], "target": STEP_LABELS, "gamma": NONNEG,
          "weight": ["t_mismatch", "t_shape", ("str", "abc")],
          "reduction": ["none", ("unknown", "avg"), "bool"]}),
    Case("losses.class_balanced_loss", losses.class_balanced_loss,
         lambda: dict(logits=_logits(), target=_labels(), counts=torch.tensor([4.0, 3, 2, 1]),
                      beta=0.99, loss_type="focal", gamma=1.0, reduction="mean",
                      normalise="weights"),
         {"logits": LOGITS, "target": STEP_LABELS,
          "counts": ["t_nan", "t_neg", "t_mismatch", "none"], "beta": UNIT, "gamma": NONNEG,
          "loss_type": ["none", ("unknown", "hinge")], "reduction": ["none", ("unknown", "avg")],
          "normalise": ["none", ("unknown", "N")]}),
    # ---------------------------------------------------------------- metrics
    Case("metrics.confusion", metrics.confusion,
         lambda: dict(y_true=_labels(), y_pred=_labels().flip(0), num_true=4, num_pred=4),
         {"y_true": ["t_neg", "t_dtype", "t_shape", "t_mismatch", "none"],
          "y_pred": ["t_neg", "t_dtype", "t_shape", "t_mismatch", "none"],
          "num_true": ["zero", "neg", "frac", "bool", "str", "nan"],
          "num_pred": ["zero", "neg", "frac", "bool", "str", "nan"]}),
    Case("metrics.cluster_accuracy", metrics.cluster_accuracy,
         lambda: dict(y_true=_labels(), y_pred=_labels().flip(0)),
         {"y_true": ["t_neg", "t_dtype", "t_shape", "t_mismatch", "t_empty", "none"],
          "y_pred": ["t_neg", "t_dtype", "t_shape", "t_mismatch", "none"]}),
    Case("metrics.group_accuracy", metrics.group_accuracy,
         lambda: dict(y_true=_labels(), y_pred=_labels().flip(0), groups={"a": [0, 1], "b": [2, 3]}),
         {"y_true": ["t_neg", "t_dtype", "t_mismatch", "none"], "y_pred": ["t_dtype", "none"],
          "groups": ["none", "str", ("empty", {}), ("no sample", {"a": [99]}),
                     ("not labels", {"a": ["x"]})]}),
    # ---------------------------------------------------------------- augment
    Case("augment.random_affine", augment.random_affine,
         lambda: dict(x=_images(), degrees=10.0, scale=(0.9, 1.1), translate=0.1, shear=5.0,
                      generator=_g()),
         {"x": IMAGES, "degrees": NONNEG, "translate": NONNEG, "shear": NONNEG + [("90", 90.0)],
          "scale": ["none", ("nan", (math.nan, 1.0)), ("reversed", (1.2, 0.8)),
                    ("short", (0.5,)), ("negative", (-1.0, 1.0)), ("inf", (1.0, math.inf))]}),
    Case("augment.gaussian_noise", augment.gaussian_noise,
         lambda: dict(x=_images(), std=0.1, generator=_g()),
         {"x": ["t_dtype", "none", "t_list"], "std": NONNEG}),
    Case("augment.random_crop", augment.random_crop,
         lambda: dict(x=_images(), scale=(0.6, 1.0), generator=_g()),
         {"x": IMAGES, "scale": ["none", ("nan", (math.nan, 1.0)), ("reversed", (1.0, 0.6)),
                                 ("short", (0.5,)), ("above1", (0.5, 1.5))]}),
    Case("augment.binarize", augment.binarize,
         lambda: dict(x=_images(), threshold=0.5, generator=_g()),
         {"x": ["none", "t_list"], "threshold": UNIT + [("nan range", (math.nan, 0.5)),
                                                       ("reversed", (0.7, 0.3))]}),
    Case("augment.make_view", augment.make_view,
         lambda: dict(x=_images(), ops=("rotate", "noise"), generator=_g()),
         {"x": IMAGES, "ops": ["none", ("unknown", ["nope"]), ("str", "rotate")]}),
    # ---------------------------------------------------------------- ctaugment
    *[Case(f"ctaugment.{name}", op, lambda: dict(x=_images(3), m=torch.tensor([0.1, 0.5, 0.9])),
           {"x": ["t_flat", "none"],
            "m": ["t_nan", "t_neg", "t_above1", "t_mismatch", "none", ("float", 0.5)]})
      for name, op in CTA_OPS],
    Case("ctaugment.CTAugment", ctaugment.CTAugment,
         lambda: dict(num_bins=17, decay=0.99, threshold=0.8, depth=2),
         {"num_bins": POS_INT, "decay": NONNEG + [("one", 1.0)], "threshold": UNIT,
          "depth": POS_INT, "ops": [("empty", {}), ("not callable", {"a": 1}), "str"]}),
    Case("ctaugment.CTAugment.update", _method(ctaugment.CTAugment.update), _cta_update_kwargs,
         {"ops": STEP_INDEX, "bins": STEP_INDEX, "probs": ["t_mismatch", "t_flat", "none"],
          "labels": STEP_INDEX}),
    Case("ctaugment.CTAugment.apply", _method(ctaugment.CTAugment.apply), _cta_apply_kwargs,
         {"x": ["t_flat", "none"], "ops": ["t_dtype", "none"], "bins": ["t_dtype", "none"]}),
    Case("ctaugment.CTAugment.sample", _method(ctaugment.CTAugment.sample),
         lambda: dict(self=ctaugment.CTAugment(), n=4),
         {"n": NONNEG_INT}),
    # ---------------------------------------------------------------- models
    Case("models.conv_block", models.conv_block, lambda: dict(in_channels=1, out_channels=4),
         {"in_channels": POS_INT, "out_channels": POS_INT}),
    Case("models.ConvTrunk", models.ConvTrunk, lambda: dict(in_channels=1, widths=(4, 8)),
         {"in_channels": POS_INT, "widths": ["none", ("empty", ()), ("zero", (0, 4)),
                                            ("frac", (2.5, 4))]}),
    Case("models.ConvClassifier", models.ConvClassifier,
         lambda: dict(num_classes=3, in_channels=1, widths=(4, 8)),
         {"num_classes": POS_INT + [("one", 1)], "in_channels": POS_INT,
          "widths": ["none", ("empty", ()), ("zero", (0, 4))]}),
    Case("models.SmallConvNet", models.SmallConvNet,
         lambda: dict(num_classes=3, in_channels=1, widths=(4, 8)),
         {"num_classes": POS_INT + [("one", 1)], "in_channels": POS_INT,
          "widths": ["none", ("short", (4,)), ("zero", (0, 4))]}),
    Case("models.resnet18", models.resnet18, lambda: dict(num_classes=3, in_channels=1),
         {"num_classes": POS_INT, "in_channels": POS_INT}),
    Case("models.TenLayerCNN", models.TenLayerCNN,
         lambda: dict(num_classes=3, in_channels=1, widths=(4, 8), convs_per_block=1),
         {"num_classes": POS_INT, "in_channels": POS_INT, "convs_per_block": POS_INT,
          "widths": ["none", ("empty", ()), ("zero", (0, 4))]}),
    Case("models.IICNet", models.IICNet,
         lambda: dict(in_channels=1, num_clusters=3, overcluster_factor=2, num_subheads=2,
                      widths=(4, 8)),
         {"in_channels": POS_INT, "num_clusters": POS_INT, "overcluster_factor": POS_INT,
          "num_subheads": POS_INT, "widths": ["none", ("empty", ())]}),
    Case("models.wide_resnet", models.wide_resnet,
         lambda: dict(depth=10, widen=1, num_classes=3, in_channels=1),
         {"depth": POS_INT + [("not 6n+4", 12)], "widen": POS_INT, "num_classes": POS_INT,
          "in_channels": POS_INT}),
    # ---------------------------------------------------------------- autoencoders
    Case("autoencoders.MLPAutoencoder", autoencoders.MLPAutoencoder,
         lambda: dict(in_features=4, code_size=2, hidden=(3,), code_activation="sigmoid"),
         {"in_features": POS_INT, "code_size": POS_INT,
          "hidden": ["none", ("zero", (0,))], "code_activation": ["none", ("unknown", "gelu")]}),
    Case("autoencoders.ConvAutoencoder", autoencoders.ConvAutoencoder,
         lambda: dict(code_size=2, in_channels=1, widths=(2, 2), image_size=8),
         {"code_size": POS_INT, "in_channels": POS_INT, "image_size": POS_INT + [("odd", 6)],
          "widths": ["none", ("short", (2,))]}),
    Case("autoencoders.AutoencoderClassifier", autoencoders.AutoencoderClassifier,
         lambda: dict(autoencoder=_mlp_ae(), num_classes=3),
         {"autoencoder": ["none", ("module", torch.nn.Linear(2, 2))],
          "num_classes": POS_INT + [("one", 1)]}),
    Case("autoencoders.corrupt", autoencoders.corrupt,
         lambda: dict(x=torch.rand(5, 4), noise_std=0.1, generator=_g()),
         {"x": ["none", "t_dtype"], "noise_std": NONNEG}),
    Case("autoencoders.reconstruction_loss", autoencoders.reconstruction_loss,
         lambda: dict(model=_mlp_ae(), x=torch.rand(5, 4), noise_std=0.1, generator=_g()),
         {"x": ["none", "t_dtype", "t_empty"], "noise_std": NONNEG}),
    Case("autoencoders.finetune_loss", autoencoders.finetune_loss,
         lambda: dict(model=_classifier(), x=torch.rand(6, 4), y=_labels(6, 3), lam=0.5,
                      noise_std=0.1, generator=_g()),
         {"y": STEP_LABELS, "lam": NONNEG, "noise_std": NONNEG}),
    Case("autoencoders.encode", autoencoders.encode,
         lambda: dict(model=_mlp_ae(), x=torch.rand(5, 4), batch_size=2),
         {"batch_size": POS_INT, "x": ["none"]}),
    Case("autoencoders.reconstruction_error", autoencoders.reconstruction_error,
         lambda: dict(model=_mlp_ae(), x=torch.rand(5, 4), batch_size=2),
         {"batch_size": POS_INT, "x": ["none", "t_empty"]}),
    Case("autoencoders.accuracy", autoencoders.accuracy,
         lambda: dict(model=_classifier(), x=torch.rand(6, 4), y=_labels(6, 3)),
         {"y": ["t_mismatch", "t_shape", "t_dtype", "none"], "x": ["t_empty", "none"]}),
    Case("autoencoders.stratified_mask", autoencoders.stratified_mask,
         lambda: dict(y=_labels(8, 2), fraction=0.5, seed=0),
         {"y": ["t_dtype", "t_shape", "t_neg", "none"],
          "fraction": NONNEG + ["zero", ("one", 1.0)], "seed": ["none", "str", "frac", "bool"]}),
    Case("autoencoders.kmeans_accuracy", autoencoders.kmeans_accuracy,
         lambda: dict(features=torch.rand(8, 2), y=_labels(8, 2), num_clusters=2, seed=0),
         {"num_clusters": ["zero", "neg", "frac", "bool", "str"], "y": ["t_mismatch", "t_neg"],
          "features": ["t_nan", "t_mismatch"]}),
    Case("autoencoders.pca", autoencoders.pca, lambda: dict(x=torch.rand(6, 4), k=2),
         {"x": ["t_dtype", "t_nan", "t_inf", "none", ("one row", torch.rand(1, 4))],
          "k": POS_INT + ["huge"]}),
    Case("autoencoders.pca_reconstruct", autoencoders.pca_reconstruct,
         lambda: dict(x=torch.rand(6, 4), mean=torch.zeros(4), components=torch.eye(4)[:, :2]),
         {"x": ["none", "t_dtype"], "mean": ["t_mismatch", "none", "t_nan"],
          "components": ["t_mismatch", "t_flat", "none", "t_nan"]}),
    Case("autoencoders.principal_angles", autoencoders.principal_angles,
         lambda: dict(a=torch.eye(4)[:, :2], b=torch.eye(4)[:, 1:3]),
         {"a": ["t_nan", "t_flat", "t_mismatch", "none", "t_inf"],
          "b": ["t_nan", "t_flat", "t_mismatch", "none"]}),
    Case("autoencoders.decoder_sweep", autoencoders.decoder_sweep,
         lambda: dict(model=autoencoders.ConvAutoencoder(2, 1, (2, 2), 8), low=(0.0, 0.0),
                      high=(1.0, 1.0), steps=2),
         {"steps": POS_INT, "low": ["none", ("nan", (math.nan, 0.0)), ("short", (0.0,))],
          "high": [("inf", (1.0, math.inf)), ("below low", (-1.0, 1.0))],
          "model": [("no code", torch.nn.Linear(2, 2))]}),
    Case("autoencoders.grid_counts", autoencoders.grid_counts,
         lambda: dict(z=torch.rand(6, 2), low=(0.0, 0.0), high=(1.0, 1.0), steps=3),
         {"steps": [("one", 1), ("float", 2.5), "none"], "low": ["none", ("short", (0.0,))],
          "high": [("below low", (-1.0, 1.0))],
          "z": ["none", ("three columns", torch.rand(6, 3)), ("integers", torch.ones(6, 2, dtype=torch.long)),
                ("one dimension", torch.rand(6))]}),
    # ---------------------------------------------------------------- superclass
    Case("superclass.check_groups", superclass.check_groups,
         lambda: dict(groups=[[0, 1], [2]], num_classes=3),
         {"groups": ["none", "str", ("overlap", [[0, 1], [1, 2]]), ("missing", [[0], [2]]),
                     ("out of range", [[0, 1], [2, 3]]), ("empty group", [[0, 1, 2], []])],
          "num_classes": POS_INT}),
    Case("superclass.group_of", superclass.group_of, lambda: dict(groups=[[0, 1], [2]], num_classes=3),
         {"groups": ["none", ("missing", [[0], [2]])], "num_classes": POS_INT}),
    Case("superclass.group_log_probs", superclass.group_log_probs,
         lambda: dict(logits=_logits(6, 3), groups=[[0, 1], [2]]),
         {"logits": ["t_dtype", "t_flat", "t_shape", "none"], "groups": ["none", ("missing", [[0], [2]])]}),
    Case("superclass.superclass_loss", superclass.superclass_loss,
         lambda: dict(logits=_logits(6, 3), target=_labels(6, 3), groups=[[0, 1], [2]], mode="soft"),
         {"logits": LOGITS, "target": STEP_LABELS, "groups": ["none", ("missing", [[0], [2]])],
          "mode": ["none", ("unknown", "medium")]}),
    Case("superclass.contiguous_intervals", superclass.contiguous_intervals,
         lambda: dict(num_classes=4), {"num_classes": POS_INT + [("one", 1)]}),
    Case("superclass.interval_losses", superclass.interval_losses,
         lambda: dict(logits=_logits(6, 4), target=_labels(6, 4), intervals=[(0, 1), (1, 3)]),
         {"logits": LOGITS, "target": STEP_LABELS,
          "intervals": [("empty", []), ("out of range", [(0, 9)]), ("reversed", [(2, 1)]),
                        ("not pairs", [1, 2]), ("frac", [(0.5, 2)])]}),
    Case("superclass.cross_group_mistakes", superclass.cross_group_mistakes,
         lambda: dict(y_true=_labels(6, 3), y_pred=_labels(6, 3).flip(0), groups=[[0, 1], [2]],
                      num_classes=3),
         {"y_true": ["t_neg", "t_huge", "t_dtype", "t_mismatch", "none"],
          "y_pred": ["t_neg", "t_huge", "t_dtype", "none"],
          "groups": ["none", ("missing", [[0], [2]])],
          "num_classes": [k for k in POS_INT if k != "none"]}),  # None: the default
    Case("stats.welch_interval", stats.welch_interval,
         lambda: dict(a=[1.0, 2.0, 3.0], b=[2.0, 3.0, 5.0], confidence=0.95),
         {"a": [("nan", [1.0, math.nan, 3.0]), ("one value", [1.0]), "none", "str"],
          "b": [("inf", [1.0, math.inf, 3.0]), ("one value", [1.0]), "none"],
          "confidence": NUMBER + ["zero", ("one", 1.0), "neg"]}),
    Case("stats.paired_interval", stats.paired_interval,
         lambda: dict(a=[1.0, 2.0, 3.0], b=[2.0, 3.0, 5.0], confidence=0.95),
         {"a": [("nan", [1.0, math.nan, 3.0]), ("one value", [1.0]), "none", "str"],
          "b": [("inf", [1.0, math.inf, 3.0]), ("too short", [1.0, 2.0]), "none"],
          "confidence": NUMBER + ["zero", ("one", 1.0), "neg"]}),
    Case("superclass.toy_gradients", superclass.toy_gradients,
         lambda: dict(logits=[0.0, 0.5, 1.0], weight=1.0),
         {"weight": NUMBER + ["neg"], "logits": ["none", ("wrong size", [0.0, 1.0])],
          "target": ["neg", "huge", "frac", "bool"]}),
    # ---------------------------------------------------------------- flows
    Case("flows.checkerboard_mask", flows.checkerboard_mask, lambda: dict(height=4, width=4),
         {"height": POS_INT, "width": POS_INT}),
    Case("flows.channel_mask", flows.channel_mask, lambda: dict(channels=4),
         {"channels": POS_INT + [("odd", 3)]}),
    Case("flows.half_mask", flows.half_mask, lambda: dict(features=4),
         {"features": POS_INT + [("one", 1)]}),
    Case("flows.squeeze", flows.squeeze, lambda: dict(x=_images(2, 1, 4)),
         {"x": ["t_flat", "none", ("odd", torch.rand(2, 1, 3, 3))]}),
    Case("flows.unsqueeze", flows.unsqueeze, lambda: dict(x=torch.rand(2, 4, 2, 2)),
         {"x": ["t_flat", "none", ("not 4C", torch.rand(2, 3, 2, 2))]}),
    Case("flows.ResidualST", flows.ResidualST, lambda: dict(channels=2, hidden=4, num_blocks=1),
         {"channels": POS_INT, "hidden": POS_INT, "num_blocks": NONNEG_INT}),
    Case("flows.MLPST", flows.MLPST, lambda: dict(features=2, hidden=4, num_layers=1),
         {"features": POS_INT, "hidden": POS_INT, "num_layers": NONNEG_INT}),
    Case("flows.AffineCoupling", flows.AffineCoupling,
         lambda: dict(mask=flows.half_mask(4), net=flows.MLPST(4, 4)),
         {"mask": ["none", ("not binary", torch.full((1, 4), 0.5)), "t_flat", "t_nan"],
          "net": ["none", ("str", "net")]}),
    Case("flows.InvConv1x1", flows.InvConv1x1, lambda: dict(channels=2, seed=0),
         {"channels": POS_INT, "seed": NONNEG_INT}),
    Case("flows.VariationalDequantizer", flows.VariationalDequantizer,
         lambda: dict(shape=(1, 4, 4), hidden=4, num_blocks=1, num_couplings=2),
         {"shape": ["none", ("2-D", (4, 4)), ("zero", (0, 4, 4))], "hidden": POS_INT,
          "num_blocks": NONNEG_INT, "num_couplings": POS_INT}),
    Case("flows.DequantizedFlow", flows.DequantizedFlow,
         lambda: dict(flow=flows.CouplingStack(2, 1, 2, 1), dequantizer=None),
         {"flow": ["none", ("module", torch.nn.Linear(2, 2))], "dequantizer": [("module", torch.nn.Linear(2, 2))]}),
    Case("flows.BatchNormFlow", flows.BatchNormFlow,
         lambda: dict(channels=2, momentum=0.05, eps=1e-4),
         {"channels": POS_INT, "momentum": POSITIVE + [("above1", 1.5)], "eps": POSITIVE}),
    Case("flows.ActNorm", flows.ActNorm, lambda: dict(channels=2, eps=1e-6),
         {"channels": POS_INT, "eps": POSITIVE}),
    Case("flows.CouplingStack", flows.CouplingStack,
         lambda: dict(features=2, num_couplings=2, hidden=4, num_layers=1, norm="actnorm"),
         {"features": POS_INT + [("one", 1)], "num_couplings": POS_INT, "hidden": POS_INT,
          "num_layers": NONNEG_INT, "norm": [("unknown", "layernorm"), "bool"]}),
    Case("flows.RealNVP", flows.RealNVP,
         lambda: dict(shape=(1, 4, 4), num_scales=2, hidden=2, num_blocks=0, norm=None,
                      invconv=False, checker=3, channel=3),
         {"shape": ["none", ("2-D", (4, 4)), ("zero", (0, 4, 4)), ("frac", (1, 4.5, 4))],
          "num_scales": POS_INT + [("too many", 4)], "hidden": POS_INT,
          "num_blocks": NONNEG_INT, "norm": [("unknown", "layernorm")],
          "invconv": [("int", 1), "none"], "checker": POS_INT, "channel": POS_INT}),
    Case("flows.make_realnvp", flows.make_realnvp, lambda: dict(shape=(2,), num_couplings=1, hidden=2),
         {"shape": ["none", ("2-D", (4, 4)), ("zero", (0,))]}),
    Case("flows.dequantize", flows.dequantize, lambda: dict(x=_images(2), levels=256, generator=_g()),
         {"x": ["t_nan", "t_neg", "t_above1", "t_dtype", "none"], "levels": POS_INT + [("one", 1)]}),
    Case("flows.logit_transform", flows.logit_transform, lambda: dict(x=_images(2), alpha=0.05),
         {"x": ["t_nan", "t_neg", "t_above1", "t_dtype", "none", ("x * 255", _images(2) * 255)],
          "alpha": NONNEG + ["zero", ("half", 0.5)]}),
    Case("flows.inverse_logit_transform", flows.inverse_logit_transform,
         lambda: dict(y=torch.randn(2, 3), alpha=0.05),
         {"y": ["t_nan", "t_dtype", "none"], "alpha": NONNEG + ["zero", ("half", 0.5)]}),
    Case("flows.bits_per_dim", flows.bits_per_dim,
         lambda: dict(log_prob=torch.tensor([-1.0, -2.0]), num_dims=4, levels=256),
         {"log_prob": ["t_dtype", "none"], "num_dims": POS_INT,
          "levels": POS_INT + [("one", 1)]}),
    Case("flows.manifold_latents", flows.manifold_latents,
         lambda: dict(z=torch.randn(4, 3), steps=3),
         {"z": ["t_mismatch", "t_flat", "t_nan", "t_dtype", "none"], "steps": POS_INT}),
    Case("flows._Flow.sample", _method(flows._Flow.sample),
         lambda: dict(self=flows.CouplingStack(2, 1, 2, 1), n=3, temperature=0.5, generator=_g()),
         {"n": POS_INT, "temperature": NONNEG}),
    # ---------------------------------------------------------------- plot and the explorers' maths
    Case("plot.joint_with_marginals", _plot(plot.joint_with_marginals),
         lambda: dict(joint=torch.full((3, 3), 1 / 9), vmax=0.5),
         {"joint": ["t_nan", "t_neg", "t_flat", "none"], "vmax": [k for k in POSITIVE if k != "none"]}),
    Case("plot.information_bars", _plot(plot.information_bars),
         lambda: dict(h_x=1.0, h_y=1.0, h_xy=1.5),
         {"h_x": NONNEG, "h_y": NONNEG, "h_xy": NONNEG + [("below max(h_x, h_y)", 0.5)]}),
    Case("info.morph_joint", info.morph_joint,
         lambda: dict(dependence=0.5, skew=0.5, num_clusters=3),
         {"dependence": UNIT, "skew": NONNEG, "num_clusters": POS_INT + [("one", 1)]}),
    Case("losses.focal_curves", losses.focal_curves,
         lambda: dict(gamma=2.0, p_t=torch.linspace(0.1, 0.9, 5, dtype=torch.float64)),
         {"gamma": NONNEG, "p_t": ["t_nan", "t_neg", "t_above1", "t_dtype", "t_shape", "none",
                                   ("zero", torch.tensor([0.0, 0.5], dtype=torch.float64))]}),
    # ---------------------------------------------------------------- ssl
    Case("ssl.sharpen", ssl.sharpen, lambda: dict(p=_probs(), T=0.5),
         {"p": PROBS, "T": POSITIVE}),
    Case("ssl.mixup", ssl.mixup,
         lambda: dict(x1=_images(4), y1=_probs(4), x2=_images(4), y2=_probs(4, seed=1), alpha=0.75),
         {"x1": ["t_mismatch", "none", "t_dtype"], "y1": ["t_mismatch", "none"],
          "x2": ["t_mismatch", "none"], "y2": ["t_mismatch", "none"], "alpha": POSITIVE}),
    Case("ssl.DistributionAlignment", ssl.DistributionAlignment,
         lambda: dict(num_classes=4, target=torch.tensor([1.0, 2, 3, 4]), momentum=0.9,
                      window=128),
         {"num_classes": POS_INT + [("one", 1)],
          "momentum": [k for k in NONNEG if k != "none"] + [("one", 1.0)], "window": POS_INT,
          "target": ["t_nan", "t_inf", "t_neg", "t_mismatch", ("all zero", torch.zeros(4))]}),
    Case("ssl.DistributionAlignment.update", _method(ssl.DistributionAlignment.update),
         lambda: dict(self=ssl.DistributionAlignment(4), probs=_probs()),
         {"probs": STEP_PROBS + [("wrong classes", _probs(6, 3)), "t_empty"]}),
    Case("ssl.DistributionAlignment.align", _method(ssl.DistributionAlignment.align),
         lambda: dict(self=ssl.DistributionAlignment(4), probs=_probs()),
         {"probs": STEP_PROBS + [("wrong classes", _probs(6, 3))]}),
    Case("ssl.quarter_turns", ssl.quarter_turns,
         lambda: dict(x=_images(3), r=torch.tensor([0, 1, 3])),
         {"x": ["t_flat", "none", ("not square", torch.rand(3, 1, 4, 6))],
          "r": ["t_neg", "t_huge", "t_dtype", "t_mismatch", "none"]}),
    Case("loop.WeightAverage", loop.WeightAverage,
         lambda: dict(model=torch.nn.Linear(2, 2), decay=0.999, warmup=True),
         {"model": ["none", ("str", "model")], "decay": NONNEG + [("one", 1.0), ("above1", 1.5)],
          "warmup": ["none", "str"]}),
    Case("ssl.soft_cross_entropy", ssl.soft_cross_entropy,
         lambda: dict(logits=_logits(), targets=_probs()),
         {"logits": ["t_mismatch", "t_dtype", "none"],
          "targets": ["t_mismatch", "none"]}),
    Case("ssl.squared_error", ssl.squared_error,
         lambda: dict(logits=_logits(), targets=_probs()),
         {"logits": ["t_mismatch", "t_dtype", "none"],
          "targets": ["t_mismatch", "none"]}),
    Case("ssl.rampup", ssl.rampup, lambda: dict(step=5, warmup=10),
         {"step": NONNEG_INT, "warmup": NONNEG_INT}),
    Case("ssl.weak_augment", ssl.weak_augment,
         lambda: dict(x=_images(), translate=0.125, flip=True, generator=_g()),
         {"x": IMAGES, "translate": NONNEG, "flip": ["none", "str"]}),
    Case("ssl.Supervised", ssl.Supervised, lambda: dict(num_classes=4),
         {"num_classes": POS_INT + [("one", 1)], "weak": ["none", ("str", "weak")]}),
    Case("ssl.MixMatch", ssl.MixMatch,
         lambda: dict(num_classes=4, K=2, T=0.5, alpha=0.75, lambda_u=75.0, warmup=100),
         {"num_classes": POS_INT + [("one", 1)], "K": POS_INT, "T": POSITIVE, "alpha": POSITIVE,
          "lambda_u": NONNEG, "warmup": NONNEG_INT}),
    Case("ssl.ReMixMatch", ssl.ReMixMatch,
         lambda: dict(num_classes=4, K=2, T=0.5, alpha=0.75, lambda_u=1.5, lambda_u1=0.5,
                      lambda_r=0.5, warmup=100, momentum=0.9, window=128, anchor="weak",
                      mix_weak=True, unlabelled_loss="cross-entropy"),
         {"num_classes": POS_INT + [("one", 1)], "K": POS_INT, "T": POSITIVE, "alpha": POSITIVE,
          "lambda_u": NONNEG, "lambda_u1": NONNEG, "lambda_r": NONNEG, "warmup": NONNEG_INT,
          "momentum": [k for k in NONNEG if k != "none"] + [("one", 1.0)], "window": POS_INT,
          "anchor": [("unknown", "medium"), "none"], "mix_weak": ["none", "str"],
          "unlabelled_loss": [("unknown", "l1"), "none"], "cta": [("str", "cta")]}),
    Case("ssl.MixMatch.loss", _method(ssl.MixMatch.loss),
         lambda: _loss_kwargs(ssl.MixMatch(4, K=2, warmup=10)),
         {"y_l": STEP_LABELS, "x_u": ["none", "t_flat"], "x_l": ["none", "t_flat"],
          "step": NONNEG_INT}),
    Case("ssl.Supervised.loss", _method(ssl.Supervised.loss),
         lambda: _loss_kwargs(ssl.Supervised(4)),
         {"y_l": STEP_LABELS, "x_l": ["none", "t_flat"]}),
    # ---------------------------------------------------------------- train
    Case("train.minibatches", train.minibatches, lambda: dict(n=10, batch_size=3),
         {"n": NONNEG_INT, "batch_size": POS_INT}),
    Case("train.predict", train.predict,
         lambda: dict(model=torch.nn.Linear(4, 2), x=torch.rand(5, 4), batch_size=2),
         {"batch_size": POS_INT, "x": ["none", "t_list"], "model": ["none", ("str", "model")]}),
]


# --------------------------------------------------------------------------- every other module

_TMP = Path(tempfile.mkdtemp(prefix="dlcourse-api-cases-"))


def _idx_file() -> Path:
    """A whole IDX file: 2 images of 2 x 2 uint8 pixels."""
    path = _TMP / "tiny-idx3-ubyte"
    if not path.exists():
        path.write_bytes(b"\0\0\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (2, 2, 2))
                         + bytes(range(8)))
    return path


@functools.lru_cache(maxsize=None)
def _cifar_batch() -> Path:
    """A whole CIFAR-10 python batch (10,000 zero images, labels 0..9), written once."""
    import pickle

    import numpy as np
    path = _TMP / "data_batch_1"
    batch = {b"data": np.zeros((10_000, 3072), dtype=np.uint8),
             b"labels": [i % 10 for i in range(10_000)]}
    path.write_bytes(pickle.dumps(batch, protocol=2))
    return path


def _file() -> Path:
    path = _TMP / "a-file.txt"
    path.write_text("x")
    return path


def _loss_xy(model, x, y):
    return torch.nn.functional.cross_entropy(model(x), y)


def _fit_kwargs():
    model = torch.nn.Linear(4, 3)
    return dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                loss_fn=_loss_xy, data=(torch.rand(8, 4), _labels(8, 3)), epochs=1, batch_size=4,
                seed=0, checkpoint=None, scheduler=None, on_epoch_end=None, amp=None,
                desc="fit", settings=None, state=None)


def _task_kwargs():
    model = torch.nn.Linear(4, 3)
    x, y = torch.rand(8, 4), _labels(8, 3)
    return dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                loss=lambda i: (torch.nn.functional.cross_entropy(model(x), y), {}), data=(x, y),
                settings={}, state={}, after_step=None, report=None, average=None)


def _iic_net():
    return iic.network(1, num_clusters=2, overcluster_factor=2, num_subheads=1, widths=(2, 2),
                       hidden=())


def _iic_train_kwargs():
    return dict(model=_iic_net(), x=_images(8), steps=1, batch_size=4, repeats=1, alpha=1.0,
                lr=1e-3, ops=("rotate",), first_ops=(), seed=0, callback=None, every=0,
                checkpoint=None, amp=None, desc="IIC", settings=None, separate_views=False,
                size=None, lr_end=None, lr_hold=0.0)


def _ssl_model():
    return models.SmallConvNet(4, 1, widths=(2, 2))


def _fit_ssl_kwargs():
    model = _ssl_model()
    return dict(method=ssl.Supervised(4), model=model,
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                labeled=(_images(8), _labels(8)), unlabeled=_images(8), steps=1, batch_size=4,
                unlabeled_batch_size=None, ema_decay=0.9, evaluate=None, eval_every=1, seed=0,
                checkpoint=None, checkpoint_every=1, amp=None, desc="ssl", settings=None)


def _step(i):
    return torch.tensor(1.0), {"loss": torch.tensor(1.0)}


def _run_steps_kwargs():
    return dict(step_fn=_step, steps=2, state={"g": torch.Generator()}, checkpoint=None,
                settings=None, data=(), every=0, checkpoint_every=0, callback=None, device=None,
                desc="steps")


def _remixmatch(**kwargs):
    return ssl.ReMixMatch(4, K=1, warmup=10, **kwargs)


def _ae_train_kwargs(**extra):
    return dict(autoencoder=_mlp_ae(), x=torch.rand(8, 4), epochs=1, batch_size=4, lr=1e-3,
                noise_std=0.1, clip=False, seed=0, on_epoch_end=None, checkpoint=None,
                desc="pretrain", **extra)


def _vae():
    return autoencoders.VAE(latent_size=2, hidden=4, in_channels=1, image_size=4)


def _quiet(fn):
    """``fn`` with its printing silenced (the banner prints two lines per call)."""
    def call(**kwargs):
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(**kwargs)
    return call


def _fingerprint(tensors):
    return sources.data_fingerprint(*tensors)


def _precision_step_kwargs(recipe: bool = False):
    """Precision.step's arguments, or (``recipe``) recipes.optimizer_step's."""
    model = _mlp_ae()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if recipe:
        return dict(model=model, optimizer=optimizer, loss=autoencoders.reconstruction_loss,
                    batch=(torch.rand(4, 4),), device="cpu", precision=None)
    return dict(self=loop.precision_for("cpu"), loss=model(torch.rand(3, 4)).sum(),
                optimizer=optimizer)


NOT_JSON = ("not JSON", {"a": object()})

CASES += [
    # ---------------------------------------------------------------- checks (the checkers)
    Case("checks.check_int", checks.check_int, lambda: dict(value=3, name="value", low=0, high=5),
         {"value": ["frac", "bool", "none", "str", "nan", ("below low", -1), ("above high", 6)]}),
    Case("checks.check_positive_int", checks.check_positive_int,
         lambda: dict(value=3, name="value"), {"value": POS_INT}),
    Case("checks.check_number", checks.check_number,
         lambda: dict(value=0.5, name="value", low=0.0, high=1.0), {"value": UNIT}),
    Case("checks.check_numbers", checks.check_numbers,
         lambda: dict(values=[1.0, 2.0], name="values"),
         {"values": ["none", "str", ("nan", [1.0, math.nan]), ("inf", [math.inf]),
                     ("not numbers", [[1.0], 2.0])]}),
    Case("checks.check_bool", checks.check_bool, lambda: dict(value=True, name="value"),
         {"value": ["none", "str", ("int", 1), "nan"]}),
    Case("checks.check_tensor", checks.check_tensor,
         lambda: dict(x=_logits(), name="x", ndim=2, floating=True, nonempty=True, finite=True),
         {"x": ["none", "t_list", "t_flat", "t_dtype", "t_empty", "t_nan"]}),
    Case("checks.check_images", checks.check_images, lambda: dict(x=_images(), name="x"),
         {"x": IMAGES}),
    Case("checks.check_in_range", checks.check_in_range,
         lambda: dict(x=_probs(), name="x", low=0.0, high=1.0),
         {"x": ["t_nan", "t_neg", "t_above1"]}),
    Case("checks.check_labels", checks.check_labels,
         lambda: dict(y=_labels(), name="y", num_classes=4, length=6),
         {"y": LABELS}),
    Case("checks.check_probabilities", checks.check_probabilities,
         lambda: dict(p=_probs(), name="p"), {"p": PROBS + [("one class", torch.ones(3, 1))]}),
    # ---------------------------------------------------------------- config
    Case("config.pick", config.pick, lambda: dict(smoke=1, quick=2, full=3), {}),
    Case("config.dataset", config.dataset,
         lambda: dict(smoke="digits", quick="digits", full="mnist"),
         {"smoke": ["none", ("unknown", "nope")], "quick": ["none", ("unknown", "nope")],
          "full": ["none", ("unknown", "nope")]}),
    Case("config.full_profile_estimate", config.full_profile_estimate,
         lambda: dict(chapter="02_iic"), {"chapter": ["none", "bool", ("empty", " "), ("int", 2)]}),
    Case("config.set_seed", config.set_seed, lambda: dict(seed=0), {"seed": NONNEG_INT}),
    Case("config.provenance", config.provenance, lambda: dict(dataset_name="digits"),
         {"dataset_name": [("int", 3), "bool"]}),
    Case("config.banner", _quiet(config.banner), lambda: dict(dataset_name="digits", chapter="02_iic"),
         {"dataset_name": [("int", 3)], "chapter": [("int", 3), ("empty", "")]}),
    # ---------------------------------------------------------------- data
    Case("data.load", data.load, lambda: dict(name="iris", split="train", device="cpu"),
         {"name": ["none", ("unknown", "nope")], "split": ["none", ("unknown", "val")],
          "device": [("unknown", "nope"), ("int", -1)]}),
    Case("data.read_idx", data.read_idx, lambda: dict(path=_idx_file()),
         {"path": ["none", "bool", ("int", 3)]}),
    Case("data.read_cifar10_batch", data.read_cifar10_batch, lambda: dict(path=_cifar_batch()),
         {"path": ["none", "bool", ("int", 3)]}),
    Case("data.imbalanced_subset", data.imbalanced_subset,
         lambda: dict(x=torch.rand(12, 2), y=torch.arange(12) % 3, minority_classes=[1],
                      n_minority=2, seed=0, n_majority=None),
         {"x": ["none", "t_mismatch", "t_list"], "y": ["none", "t_dtype", "t_shape", "t_mismatch"],
          "minority_classes": ["none", "str", ("absent", [7]), ("frac", [0.5])],
          "n_minority": POS_INT + [("more than a class holds", 5)], "seed": NONNEG_INT,
          "n_majority": ["zero", "neg", "frac", "bool", "str", "nan", ("more than a class holds", 5)]}),
    Case("data.labeled_split", data.labeled_split,
         lambda: dict(y=torch.arange(12) % 3, n_labeled=6, seed=0),
         {"y": ["none", "t_dtype", "t_shape", "t_empty", "t_list"],
          "n_labeled": POS_INT + [("not a multiple", 5), ("more than a class holds", 15)],
          "seed": NONNEG_INT}),
    # ---------------------------------------------------------------- stats
    Case("stats.mean_sd", stats.mean_sd, lambda: dict(values=[1.0, 2.0, 4.0]),
         {"values": ["none", "str", ("nan", [1.0, math.nan]), ("empty", [])]}),
    Case("stats.holm", stats.holm, lambda: dict(p_values=[0.01, 0.2, 0.04]),
         {"p_values": ["none", "str", ("above 1", [0.5, 1.5]), ("negative", [-0.1]),
                       ("nan", [math.nan])]}),
    Case("stats.markdown_table", stats.markdown_table,
         lambda: dict(header=["a", "b"], rows=[[1, "x"], [2, "y"]]),
         {"header": ["none", "str", ("empty", [])], "rows": ["none", "str", ("ragged", [[1]]),
                                                           ("not rows", [1, 2])]}),
    # ---------------------------------------------------------------- loop (the trainers' owner)
    Case("loop.precision_for", loop.precision_for, lambda: dict(device="cpu", enabled=None),
         {"device": ["none", ("unknown", "nope")], "enabled": ["str", ("int", 1)]}),
    Case("loop.Precision", loop.Precision,
         lambda: dict(device_type="cpu", dtype=None, scaler=torch.amp.GradScaler("cuda", enabled=False)),
         {"device_type": ["none", ("unknown", "nope")], "dtype": ["str"], "scaler": ["none", "str"]}),
    Case("loop.WeightAverage.train", _method(loop.WeightAverage.train),
         lambda: dict(self=loop.WeightAverage(torch.nn.Linear(2, 2)), mode=True),
         {"mode": ["str", "none"]}),
    Case("loop.WeightAverage.update", _method(loop.WeightAverage.update),
         lambda: dict(self=loop.WeightAverage(torch.nn.Linear(2, 2)), model=torch.nn.Linear(2, 2)),
         {"model": ["none", "str", ("other shapes", torch.nn.Linear(3, 2))]}),
    Case("loop.save_checkpoint", loop.save_checkpoint,
         lambda: dict(path=_TMP / "saved.pt", state={"a": torch.ones(2)}),
         {"path": ["none", ("a folder", _TMP)], "state": ["none", "str"]}),
    Case("loop.load_checkpoint", loop.load_checkpoint,
         lambda: (loop.save_checkpoint(_TMP / "load.pt", {"a": 1}),
                  dict(path=_TMP / "load.pt", map_location="cpu"))[1],
         {"path": ["none", ("int", 3)], "map_location": [("unknown", "nope")]}),
    Case("loop.describe", loop.describe,
         lambda: dict(model=torch.nn.Linear(2, 2),
                      optimizer=torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)),
         {"model": ["str"], "optimizer": ["str"]}),
    Case("loop.settings_text", loop.settings_text, lambda: dict(settings={"a": 1}),
         {"settings": ["none", "str", ("list", [1]), NOT_JSON]}),
    Case("loop.describe_callable", loop.describe_callable, lambda: dict(fn=_step),
         {"fn": ["none", "str"]}),
    Case("loop.run_steps", loop.run_steps, _run_steps_kwargs,
         {"step_fn": ["none", ("not callable", 3)], "steps": NONNEG_INT,
          "state": ["none", "str", ("empty", {})], "every": NONNEG_INT,
          "checkpoint_every": NONNEG_INT, "settings": ["str", NOT_JSON],
          "data": [("not tensors", [1, 2])], "callback": [("not callable", 3)],
          "checkpoint": [("int", 3)], "device": [("unknown", "nope")]}),
    # ---------------------------------------------------------------- runcache
    Case("runcache.run_key", runcache.run_key, lambda: dict(settings={"lr": 0.1}),
         {"settings": ["none", ("list", [1]), NOT_JSON]}),
    Case("runcache.run_dir", runcache.run_dir,
         lambda: dict(chapter="00_test", settings={"lr": 0.1}, modules=None, root=_TMP),
         {"chapter": ["none", ("not a folder name", "a/b"), ("empty", "")],
          "settings": ["none", ("list", [1]), NOT_JSON],
          "root": [("a file", _file()), ("int", 3)]}),
    Case("runcache.checkpoint", runcache.checkpoint,
         lambda: dict(chapter="00_test", settings={"lr": 0.1}, modules=None, root=_TMP),
         {"chapter": ["none", ("not a folder name", "a/b")], "settings": ["none", NOT_JSON],
          "root": [("a file", _file())]}),
    # ---------------------------------------------------------------- sources
    Case("sources.imported_modules", sources.imported_modules,
         lambda: dict(code="from dlcourse import info", package_relative=False),
         {"code": ["none", ("not Python", "def (")], "package_relative": ["str", "none"]}),
    Case("sources.definition_hashes", sources.definition_hashes, lambda: dict(module="info"),
         {"module": ["none", ("int", 3)]}),
    Case("sources.current_hash", sources.current_hash, lambda: dict(name="info.entropy"),
         {"name": ["none", ("int", 3)]}),
    Case("sources.changed", sources.changed, lambda: dict(hashes={"info.entropy": "0"}),
         {"hashes": ["none", "str", ("list", [1])]}),
    Case("sources.reused", sources.reused, lambda: dict(hashes={"info.entropy": "0"}, finished=True),
         {"hashes": ["none", "str"], "finished": ["str", "none"]}),
    Case("sources.data_fingerprint", _fingerprint, lambda: dict(tensors=[torch.ones(2)]),
         {"tensors": [("not tensors", [1, 2])]}),
    # ---------------------------------------------------------------- train (fit: trainers' owner)
    Case("train.Task", train.Task, _task_kwargs,
         {"model": ["none", "str"], "optimizer": ["none", "str"],
          "loss": ["none", ("not callable", 3)], "data": ["none", ("not tensors", ([1.0],))],
          "settings": ["none", "str"], "state": ["none", "str"],
          "after_step": [("not callable", 3)], "report": [("not callable", 3)],
          "average": ["str"]}),
    Case("train.run", train.run, lambda: dict(task=train.Task(**_task_kwargs()), steps=2, every=1,
                                              checkpoint=None, checkpoint_every=0, amp=None,
                                              desc="run"),
         {"task": ["none", "str"], "steps": NONNEG_INT, "every": NONNEG_INT,
          "checkpoint": [("int", 3)], "checkpoint_every": NONNEG_INT, "amp": ["str"],
          "desc": ["none"]}),
    Case("train.fit", train.fit, _fit_kwargs,
         {"model": ["none", "str"], "optimizer": ["none", "str"],
          "loss_fn": ["none", ("not callable", 3)],
          "data": ["none", ("empty", ()), ("rows differ", (torch.rand(8, 4), _labels(7, 3))),
                   ("not tensors", ([1.0, 2.0],))],
          "epochs": NONNEG_INT, "batch_size": POS_INT, "seed": NONNEG_INT,
          "checkpoint": [("int", 3)], "scheduler": ["str"], "on_epoch_end": [("not callable", 3)],
          "amp": ["str"], "settings": ["str", NOT_JSON], "state": ["str"]}),
    # ---------------------------------------------------------------- iic
    Case("iic.mlp_head", iic.mlp_head, lambda: dict(in_features=4, num_clusters=3, hidden=(5,)),
         {"in_features": POS_INT, "num_clusters": POS_INT,
          "hidden": ["none", "str", ("zero", (0,))]}),
    Case("iic.network", iic.network,
         lambda: dict(in_channels=1, num_clusters=2, overcluster_factor=2, num_subheads=1,
                      widths=(2, 2), hidden=(3,)),
         {"in_channels": POS_INT, "num_clusters": POS_INT + [("one", 1)],
          "overcluster_factor": POS_INT, "num_subheads": POS_INT,
          "widths": ["none", ("empty", ())], "hidden": ["none", ("zero", (0,))]}),
    Case("iic.make_view", iic.make_view,
         lambda: dict(x=_images(), ops=("rotate", "noise"), generator=_g(), size=6),
         {"x": IMAGES, "ops": ["none", ("unknown", ["nope"]), ("str", "rotate")],
          "size": ["frac", "bool", "str", "neg", ("3", 3)]}),
    Case("iic.paired_views", iic.paired_views,
         lambda: dict(x=_images(), repeats=2, ops=("rotate",), first_ops=(), generator=_g(),
                      size=None),
         {"x": IMAGES, "repeats": POS_INT, "ops": ["none", ("unknown", ["nope"])],
          "first_ops": ["none", ("unknown", ["nope"])], "size": ["frac", "neg"]}),
    Case("iic.subhead_losses", iic.subhead_losses,
         lambda: dict(z1=[_probs()], z2=[_probs(seed=1)], alpha=1.0),
         {"z1": ["none", ("empty", []), ("two heads", [_probs(), _probs()]), ("tensor", _probs())],
          "z2": ["none", ("not tensors", [1.0])], "alpha": NONNEG}),
    Case("iic.head_outputs", iic.head_outputs,
         lambda: dict(model=_iic_net(), x=_images(), batch_size=3),
         {"model": ["none", "str"], "x": IMAGES + ["t_empty"], "batch_size": POS_INT}),
    Case("iic.evaluate", iic.evaluate,
         lambda: dict(model=_iic_net(), x=_images(6), y=_labels(6, 2), ops=("rotate",), alpha=1.0,
                      seed=0, head="main", size=None),
         {"model": ["none", "str"], "x": IMAGES + ["t_mismatch"],
          "y": ["none", "t_dtype", "t_shape", "t_mismatch", "t_neg"], "alpha": NONNEG,
          "seed": NONNEG_INT, "head": ["none", ("unknown", "side")], "ops": ["none"],
          "size": ["frac", "neg"]}),
    Case("iic.matched_confusion", iic.matched_confusion,
         lambda: dict(y=_labels(), clusters=_labels().flip(0), num_clusters=4),
         {"y": ["none", "t_dtype", "t_neg", "t_mismatch"],
          "clusters": ["none", "t_dtype", "t_neg", "t_mismatch"],
          "num_clusters": ["zero", "neg", "frac", "bool", "str", ("fewer than the clusters", 2)]}),
    Case("iic.cosine_lr", iic.cosine_lr,
         lambda: dict(step=3, steps=10, lr=0.1, lr_end=0.0, hold=0.2),
         {"step": NONNEG_INT, "steps": POS_INT, "lr": NONNEG, "lr_end": NONNEG + [("above lr", 1.0)],
          "hold": NUMBER + ["neg", ("one", 1.0)]}),
    Case("iic.train", iic.train, _iic_train_kwargs,
         {"model": ["none", "str"], "x": IMAGES, "steps": NONNEG_INT, "batch_size": POS_INT + ["huge"],
          "repeats": POS_INT, "alpha": NONNEG, "lr": NONNEG,
          "ops": ["none", ("unknown", ["nope"])], "first_ops": [("unknown", ["nope"])],
          "seed": NONNEG_INT, "callback": [("not callable", 3)], "every": NONNEG_INT,
          "checkpoint": [("int", 3)], "amp": ["str"], "settings": ["str", NOT_JSON],
          "separate_views": ["str", "none"], "size": ["frac", "neg"],
          "lr_end": ["nan", "neg", "str", ("above lr", 1.0)], "lr_hold": NUMBER + ["neg", ("one", 1.0)]}),
    Case("iic.objective_terms", iic.objective_terms,
         lambda: dict(joint=torch.full((3, 3), 1 / 9), alpha=1.0),
         {"joint": ["none", "t_nan", "t_neg", "t_flat", "t_list"], "alpha": NONNEG}),
    # ---------------------------------------------------------------- info
    Case("info.conditional_entropy", info.conditional_entropy,
         lambda: dict(joint=torch.full((3, 3), 1 / 9)),
         {"joint": PROBS + ["t_shape", "t_empty"]}),
    # ---------------------------------------------------------------- models: forward passes
    *[Case(f"models.{cls.__name__}.forward", _method(cls.forward),
           lambda cls=cls, kw=kw: dict(self=cls(**kw), x=_images()),
           {"x": IMAGES})
      for cls, kw in ((models.ConvTrunk, dict(in_channels=1, widths=(2, 2))),
                      (models.ConvClassifier, dict(num_classes=3, in_channels=1, widths=(2, 2))),
                      (models.SmallConvNet, dict(num_classes=3, in_channels=1, widths=(2, 2))),
                      (models.TenLayerCNN, dict(num_classes=3, in_channels=1, widths=(2, 2),
                                                convs_per_block=1)),
                      (models.IICNet, dict(in_channels=1, num_clusters=2, overcluster_factor=2,
                                           num_subheads=1, widths=(2, 2))),
                      (models.WideResNet, dict(depth=10, widen=1, num_classes=3, in_channels=1)))],
    Case("models.WideResNet", models.WideResNet,
         lambda: dict(depth=10, widen=1, num_classes=3, in_channels=1),
         {"depth": POS_INT + [("not 6n+4", 12)], "widen": POS_INT, "num_classes": POS_INT,
          "in_channels": POS_INT}),
    # ---------------------------------------------------------------- ctaugment: the rest
    Case("ctaugment.CTAugment.to", _method(ctaugment.CTAugment.to),
         lambda: dict(self=ctaugment.CTAugment(), device="cpu"),
         {"device": ["none", ("unknown", "nope")]}),
    Case("ctaugment.CTAugment.probe", _method(ctaugment.CTAugment.probe),
         lambda: dict(self=ctaugment.CTAugment(), x=_images(3), generator=_g()),
         {"x": IMAGES}),
    Case("ctaugment.CTAugment.load_state_dict", _method(ctaugment.CTAugment.load_state_dict),
         lambda: dict(self=ctaugment.CTAugment(), state=ctaugment.CTAugment().state_dict()),
         {"state": ["none", "str", ("empty", {}), ("wrong shape", {"weights": torch.ones(2, 2)})]}),
    # ---------------------------------------------------------------- autoencoders: the rest
    Case("autoencoders.MLPAutoencoder.encode", _method(autoencoders.MLPAutoencoder.encode),
         lambda: dict(self=_mlp_ae(), x=torch.rand(5, 4)),
         {"x": ["none", "t_list", "t_flat", "t_shape", "t_dtype", ("3 features", torch.rand(5, 3))]}),
    Case("autoencoders.ConvAutoencoder.encode", _method(autoencoders.ConvAutoencoder.encode),
         lambda: dict(self=autoencoders.ConvAutoencoder(2, 1, (2, 2), 8), x=_images()),
         {"x": IMAGES + [("other size", torch.rand(2, 1, 4, 4))]}),
    Case("autoencoders.AutoencoderClassifier.encode",
         _method(autoencoders.AutoencoderClassifier.encode),
         lambda: dict(self=_classifier(), x=torch.rand(5, 4)), {"x": ["none", "t_dtype", "t_flat"]}),
    Case("autoencoders.AutoencoderClassifier.reconstruct",
         _method(autoencoders.AutoencoderClassifier.reconstruct),
         lambda: dict(self=_classifier(), x=torch.rand(5, 4)), {"x": ["none", "t_dtype", "t_flat"]}),
    Case("autoencoders.AutoencoderClassifier.forward",
         _method(autoencoders.AutoencoderClassifier.forward),
         lambda: dict(self=_classifier(), x=torch.rand(5, 4)), {"x": ["none", "t_dtype", "t_flat"]}),
    Case("autoencoders.pretrain", autoencoders.pretrain, _ae_train_kwargs,
         {"autoencoder": ["none", "str"], "x": ["none", "t_dtype", "t_list"],
          "epochs": NONNEG_INT, "batch_size": POS_INT, "lr": POSITIVE, "noise_std": NONNEG,
          "clip": ["str", "none"], "seed": NONNEG_INT, "on_epoch_end": [("not callable", 3)],
          "checkpoint": [("int", 3)]}),
    Case("autoencoders.finetune", autoencoders.finetune,
         lambda: dict(model=_classifier(), x=torch.rand(8, 4), y=_labels(8, 3), lam=0.5,
                      epochs=1, batch_size=4, lr=1e-3, noise_std=0.0, clip=False, seed=0,
                      on_epoch_end=None, checkpoint=None, desc="finetune"),
         {"model": ["none", "str", ("autoencoder", _mlp_ae())], "x": ["none", "t_dtype", "t_list"],
          "y": LABELS, "lam": NONNEG, "epochs": NONNEG_INT, "batch_size": POS_INT, "lr": POSITIVE,
          "noise_std": NONNEG, "clip": ["str"], "seed": NONNEG_INT}),
    Case("autoencoders.linear_probe", autoencoders.linear_probe,
         lambda: dict(train_features=torch.rand(8, 2), y_train=_labels(8, 2),
                      test_features=torch.rand(4, 2), y_test=_labels(4, 2), max_iter=50),
         {"train_features": ["none", "t_nan", ("other width", torch.rand(8, 3))],
          "y_train": ["none", "t_mismatch", "t_dtype"], "test_features": ["none", "t_inf"],
          "y_test": ["none", "t_mismatch"], "max_iter": POS_INT}),
    Case("autoencoders.VAE", autoencoders.VAE,
         lambda: dict(latent_size=2, hidden=4, in_channels=1, image_size=4),
         {"latent_size": POS_INT, "hidden": POS_INT, "in_channels": POS_INT, "image_size": POS_INT}),
    *[Case(f"autoencoders.VAE.{name}", _method(getattr(autoencoders.VAE, name)),
           lambda: dict(self=_vae(), x=_images(3, 1, 4)),
           {"x": IMAGES + [("other size", _images(3, 1, 8))]})
      for name in ("posterior", "encode", "forward", "reconstruct")],
    *[Case(f"autoencoders.VAE.{name}", _method(getattr(autoencoders.VAE, name)),
           lambda: dict(self=_vae(), z=torch.randn(3, 2)),
           {"z": ["none", "t_list", "t_flat", "t_dtype", ("3 wide", torch.randn(3, 3))]})
      for name in ("decode", "decode_logits")],
    Case("autoencoders.reparameterize", autoencoders.reparameterize,
         lambda: dict(mu=torch.zeros(3, 2), logvar=torch.zeros(3, 2), generator=_g()),
         {"mu": ["none", "t_list", "t_dtype"], "logvar": ["none", "t_mismatch", "t_dtype"]}),
    Case("autoencoders.gaussian_kl", autoencoders.gaussian_kl,
         lambda: dict(mu=torch.zeros(3, 2), logvar=torch.zeros(3, 2)),
         {"mu": ["none", "t_list", "t_dtype"], "logvar": ["none", "t_mismatch", "t_dtype"]}),
    Case("autoencoders.vae_loss", autoencoders.vae_loss,
         lambda: dict(model=_vae(), x=_images(3, 1, 4), generator=_g(), beta=1.0),
         {"model": ["none", "str", ("not a VAE", _mlp_ae())], "x": IMAGES, "beta": NONNEG}),
    Case("autoencoders.train_vae", autoencoders.train_vae,
         lambda: dict(model=_vae(), x=_images(8, 1, 4), epochs=1, batch_size=4, lr=1e-3, beta=1.0,
                      seed=0, on_epoch_end=None, desc="VAE"),
         {"model": ["none", "str"], "x": IMAGES, "epochs": NONNEG_INT, "batch_size": POS_INT,
          "lr": POSITIVE, "beta": NONNEG, "seed": NONNEG_INT}),
    # ---------------------------------------------------------------- flows: layers at work
    Case("flows.ResidualST.forward", _method(flows.ResidualST.forward),
         lambda: dict(self=flows.ResidualST(2, 4, 1), x=_images(2, 2, 4)),
         {"x": IMAGES + [("3 channels", _images(2, 3, 4))]}),
    Case("flows.MLPST.forward", _method(flows.MLPST.forward),
         lambda: dict(self=flows.MLPST(2, 4), x=torch.randn(3, 2)),
         {"x": ["none", "t_list", "t_dtype", ("3 features", torch.randn(3, 3))]}),
    *[Case(f"flows.{label}.{method}", _method(getattr(type(layer()), method)),
           lambda layer=layer, shape=shape, arg=arg: dict(self=layer(),
                                                               **{arg: torch.randn(*shape)}),
           {arg: ["none", "t_list", "t_dtype", "t_flat", ("2 channels more", torch.randn(*bigger))]})
      for label, layer, shape, bigger in (
          ("AffineCoupling", lambda: flows.AffineCoupling(flows.half_mask(4), flows.MLPST(4, 4)),
           (3, 4), (3, 6)),
          ("BatchNormFlow", lambda: flows.BatchNormFlow(2), (3, 2, 4, 4), (3, 4, 4, 4)),
          ("ActNorm", lambda: flows.ActNorm(2), (3, 2, 4, 4), (3, 4, 4, 4)),
          ("InvConv1x1", lambda: flows.InvConv1x1(2), (3, 2, 4, 4), (3, 4, 4, 4)),
          ("CouplingStack", lambda: flows.CouplingStack(2, 2, 4, 1), (3, 2), (3, 4)))
      for method, arg in (("forward", "x"), ("inverse", "y" if label != "CouplingStack" else "z"))],
    Case("flows.RealNVP.forward", _method(flows.RealNVP.forward),
         lambda: dict(self=flows.RealNVP((1, 4, 4), 2, 2, 0, None), x=_images(2, 1, 4)),
         {"x": IMAGES + [("8 x 8", _images(2, 1, 8))]}),
    Case("flows.RealNVP.inverse", _method(flows.RealNVP.inverse),
         lambda: dict(self=flows.RealNVP((1, 4, 4), 2, 2, 0, None), z=torch.randn(2, 16)),
         {"z": ["none", "t_list", "t_dtype", "t_flat", ("15 wide", torch.randn(2, 15))]}),
    Case("flows.VariationalDequantizer.forward", _method(flows.VariationalDequantizer.forward),
         lambda: dict(self=flows.VariationalDequantizer((1, 4, 4), 4, 0, 1), x=_images(2, 1, 4),
                      generator=_g()),
         {"x": IMAGES + [("8 x 8", _images(2, 1, 8))]}),
    Case("flows.image_log_prob", flows.image_log_prob,
         lambda: dict(flow=flows.RealNVP((1, 4, 4), 2, 2, 0, None), x=_images(2, 1, 4),
                      alpha=0.05, generator=_g(), dequantizer=None),
         {"flow": ["none", "str"], "x": IMAGES, "alpha": NONNEG + ["zero", ("half", 0.5)],
          "dequantizer": [("module", torch.nn.Linear(2, 2))]}),
    Case("flows.DequantizedFlow.log_prob", _method(flows.DequantizedFlow.log_prob),
         lambda: dict(self=flows.DequantizedFlow(flows.RealNVP((1, 4, 4), 2, 2, 0, None)),
                      x=_images(2, 1, 4), alpha=0.05, generator=_g()),
         {"x": IMAGES, "alpha": NONNEG + ["zero", ("half", 0.5)]}),
    Case("flows.images_from_latent", flows.images_from_latent,
         lambda: dict(flow=flows.RealNVP((1, 4, 4), 2, 2, 0, None), z=torch.randn(2, 16),
                      alpha=0.05),
         {"flow": ["none", "str"], "z": ["none", "t_dtype", "t_flat"],
          "alpha": NONNEG + ["zero", ("half", 0.5)]}),
    Case("flows.density_grid", flows.density_grid,
         lambda: dict(flow=flows.CouplingStack(2, 1, 2, 1), limits=(-1.0, 1.0, -1.0, 1.0),
                      resolution=4),
         {"flow": ["none", "str", ("3-D flow", flows.CouplingStack(3, 1, 2, 1))],
          "limits": ["none", ("short", (0.0, 1.0)), ("nan", (math.nan, 1.0, 0.0, 1.0)),
                     ("reversed", (1.0, -1.0, -1.0, 1.0))],
          "resolution": POS_INT}),
    # ---------------------------------------------------------------- ssl: the rest
    Case("ssl.DistributionAlignment.forward", _method(ssl.DistributionAlignment.forward),
         lambda: dict(self=ssl.DistributionAlignment(4), probs=_probs(), update=True),
         {"probs": STEP_PROBS + [("wrong classes", _probs(6, 3))], "update": ["str", "none"]}),
    Case("ssl.random_rotation", ssl.random_rotation, lambda: dict(x=_images(3), generator=_g()),
         {"x": ["none", "t_list", "t_flat", ("not square", torch.rand(3, 1, 4, 6))]}),
    Case("ssl.RotationNet", ssl.RotationNet, lambda: dict(classifier=_ssl_model()),
         {"classifier": ["none", "str", ("no head", torch.nn.Linear(2, 2))]}),
    Case("ssl.RotationNet.forward", _method(ssl.RotationNet.forward),
         lambda: dict(self=ssl.RotationNet(_ssl_model()), x=_images(), rotation=True),
         {"x": IMAGES, "rotation": ["str", "none"]}),
    *[Case(f"ssl.{cls.__name__}.load_state_dict", _method(cls.load_state_dict),
           lambda make=make: dict(self=make(), state=make().state_dict()),
           {"state": ["none", "str"] + extra})
      for cls, make, extra in ((ssl.Supervised, lambda: ssl.Supervised(4), [("not empty", {"a": 1})]),
                               (ssl.MixMatch, lambda: ssl.MixMatch(4), [("not empty", {"a": 1})]),
                               (ssl.ReMixMatch, _remixmatch, [("empty", {})]))],
    Case("ssl.ReMixMatch.strong_view", _method(ssl.ReMixMatch.strong_view),
         lambda: dict(self=_remixmatch(), x=_images(3), generator=_g()), {"x": IMAGES}),
    Case("ssl.ReMixMatch.probe", _method(ssl.ReMixMatch.probe),
         lambda: dict(self=_remixmatch(), model=_ssl_model(), x_l=_images(4), y_l=_labels(4),
                      generator=_g()),
         {"model": ["none", "str"], "x_l": IMAGES, "y_l": STEP_LABELS}),
    Case("ssl.ReMixMatch.guess", _method(ssl.ReMixMatch.guess),
         lambda: dict(self=_remixmatch(), model=_ssl_model(), x_u=_images(4), generator=_g()),
         {"model": ["none", "str"], "x_u": IMAGES}),
    Case("ssl.ReMixMatch.loss", _method(ssl.ReMixMatch.loss),
         lambda: _loss_kwargs(_remixmatch()),
         {"model": ["none", ("no rotation head", _ssl_model())], "y_l": STEP_LABELS,
          "x_u": ["none", "t_flat"], "x_l": ["none", "t_flat"], "step": NONNEG_INT}),
    Case("ssl.fit_ssl", ssl.fit_ssl, _fit_ssl_kwargs,
         {"method": ["none", "str"], "model": ["none", "str"], "optimizer": ["none", "str"],
          "labeled": ["none", ("rows differ", (_images(8), _labels(7)))],
          "unlabeled": ["none", "t_empty"], "steps": NONNEG_INT, "batch_size": POS_INT,
          "unlabeled_batch_size": ["zero", "neg", "frac", "bool", "str"], "ema_decay": UNIT,
          "evaluate": [("not callable", 3)], "eval_every": POS_INT, "seed": NONNEG_INT,
          "checkpoint": [("int", 3)], "checkpoint_every": POS_INT, "amp": ["str"],
          "settings": ["str", NOT_JSON]}),
]


# ---------------------------------------------------------------- checks: the specs of @checked

def _spec_call(spec):
    """Apply ``spec`` to ``value`` as ``@checked`` does, for an argument called ``value``."""
    def call(value):
        return spec(value, "value", {})
    return call


def _two(a, b=1):
    return a + b


CASES += [
    *[Case(f"checks.{name}", _spec_call(getattr(checks, name)), lambda base=base: dict(value=base),
           {"value": kinds})
      for name, base, kinds in (
          ("real", 0.5, NUMBER), ("nonneg", 0.5, NONNEG), ("positive", 0.5, POSITIVE),
          ("unit_interval", 0.5, UNIT), ("positive_int", 2, POS_INT),
          ("nonneg_int", 2, NONNEG_INT), ("boolean", True, ["none", "str", ("int", 1)]),
          ("function", _two, ["none", "str"]), ("string", "a", ["none", ("int", 1)]),
          ("pathlike", "a.txt", ["none", "bool", ("int", 3)]),
          ("torch_device", "cpu", ["none", ("unknown", "nope")]),
          ("images", _images(), IMAGES), ("class_logits", _logits(), LOGITS[:3] + ["none"]),
          ("probabilities", _probs(), PROBS),
          ("label_array", _labels(), ["none", "t_neg", "t_dtype", "t_shape"]))],
    Case("checks.number", lambda low, high, value: checks.number(low, high)(value, "value", {}),
         lambda: dict(low=0.0, high=1.0, value=0.5),
         {"value": UNIT, "low": ["nan", "str"], "high": ["nan", ("below low", -1.0)]}),
    Case("checks.integer", lambda low, high, value: checks.integer(low, high)(value, "value", {}),
         lambda: dict(low=0, high=3, value=2),
         {"value": NONNEG_INT + [("above high", 4)], "low": ["frac", "str"],
          "high": ["frac", ("below low", -1)]}),
    Case("checks.one_of", lambda choices, value: checks.one_of(*choices)(value, "value", {}),
         lambda: dict(choices=("a", "b"), value="a"),
         {"value": ["none", ("other", "c"), ("int", 1)], "choices": [("empty", ())]}),
    Case("checks.optional", lambda value: checks.optional(checks.positive)(value, "value", {}),
         lambda: dict(value=0.5), {"value": [k for k in POSITIVE if k != "none"]}),
    Case("checks.instance", lambda value: checks.instance(torch.nn.Module)(value, "value", {}),
         lambda: dict(value=torch.nn.Linear(2, 2)), {"value": ["none", "str"]}),
    Case("checks.sequence",
         lambda value: checks.sequence(checks.positive_int, length=2)(value, "value", {}),
         lambda: dict(value=(1, 2)),
         {"value": ["none", "str", ("short", (1,)), ("zero", (0, 1)), ("tensor", torch.ones(2))]}),
    Case("checks.tensor",
         lambda value: checks.tensor(2, floating=True, nonempty=True)(value, "value", {}),
         lambda: dict(value=_logits()), {"value": ["none", "t_list", "t_flat", "t_dtype", "t_empty"]}),
    Case("checks.labels", lambda value: checks.labels(values=True)(value, "value", {}),
         lambda: dict(value=_labels()), {"value": ["none", "t_neg", "t_dtype", "t_bool", "t_shape"]}),
    Case("checks.within", lambda value: checks.within(0.0, 1.0)(value, "value", {}),
         lambda: dict(value=_probs()), {"value": ["none", "t_nan", "t_neg", "t_above1", "t_dtype"]}),
    Case("checks.all_of",
         lambda value: checks.all_of(checks.tensor(2), checks.probabilities)(value, "value", {}),
         lambda: dict(value=_probs()), {"value": ["none", "t_flat", "t_neg"]}),
    Case("checks.mapping_with", lambda value: checks.mapping_with("a")(value, "value", {}),
         lambda: dict(value={"a": 1}), {"value": ["none", "str", ("missing", {"b": 1})]}),
    Case("checks.checked", lambda specs: checks.checked(**specs)(_two), lambda: dict(specs={"a": checks.real}),
         {"specs": [("unknown argument", {"nope": checks.real}), ("not a check", {"a": 3})]}),
    # ---------------------------------------------------------------- exercises
    Case("exercises.check", exercises.check,
         lambda: dict(student=torch.exp, reference=torch.exp,
                      inputs=lambda g: (torch.randn(3, generator=g),), trials=2, seed=0,
                      rtol=1e-5, atol=1e-7, gradients=True),
         {"student": ["none", "str"], "reference": ["none", ("tuple", (1,))],
          "inputs": ["none", ("tuple", (1,))], "trials": POS_INT,
          "seed": ["frac", "bool", "none", "str", "nan"], "rtol": NONNEG, "atol": NONNEG,
          "gradients": ["str", "none"]}),
    # ---------------------------------------------------------------- loop (the trainers' rework)
    Case("loop.Precision.step", _method(loop.Precision.step), _precision_step_kwargs,
         {"loss": ["none", "str"], "optimizer": ["none", "str"]}),
    Case("recipes.optimizer_step", recipes.optimizer_step,
         lambda: _precision_step_kwargs(recipe=True),
         {"model": ["none", "str"], "optimizer": ["none", "str"],
          "loss": ["none", ("not callable", 3)], "batch": ["none", ("not a tuple", 3)],
          "device": ["none", ("unknown", "nope")]}),
]

# Public callables with no case, and why. tests/test_validation.py checks that every public
# callable of every dlcourse module is in CASES or here.
SKIPPED = {
    **dict.fromkeys(["config.profile", "config.device", "data.data_dir", "loop.progress_disabled",
                     "loop.Precision.autocast", "sources.module_names", "sources.code_hash",
                     "sources.CodeRecord", "sources.CodeRecord.stop", "sources.CodeRecord.names",
                     "sources.CodeRecord.hashes", "ctaugment.CTAugment.probabilities",
                     "ctaugment.CTAugment.state_dict", "ssl.Supervised.state_dict",
                     "ssl.MixMatch.state_dict", "ssl.ReMixMatch.state_dict"],
                    "takes no arguments"),
    **dict.fromkeys(["sources.CodeRecord.start", "sources.session_record",
                     "sources.write_session_record"],
                    "starts the process-wide code record (sys.settrace) for good"),
    **dict.fromkeys(["plot.codes", "plot.ctaugment_weights", "ctaugment.CTAugment.plot_weights",
                     "book.glue", "book.show_source"], "display"),
    "exercises.Verdict": "the record exercises.check returns, not built by callers",
    "recipes.Recipe": "a row of recipes.RECIPES, not built by callers",
    **dict.fromkeys(["recipes.Recipe.params", "recipes.table"], "takes no arguments"),
}



def all_invalid_calls():
    """Every ``(case, arg, kind)`` of the table, in order."""
    return [(case, arg, kind) for case in CASES for arg, kind in case.invalid_calls()]
