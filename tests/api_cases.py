"""One table of dlcourse's public API for argument validation: a valid baseline call per function
or constructor, and for each argument the kinds of bad value that must be rejected.

``tools/fuzz_api.py`` runs every (case, argument, kind) and classifies the outcome;
``tests/test_validation.py`` asserts that each one raises a ``ValueError`` naming the argument.
Kinds are listed per argument only where they are really invalid for it (0 where 0 is allowed is
not listed), so the denominator is honest.

Not listed on purpose: NaN pixels or logits (a model's output or an image batch is not checked
for finiteness: that would cost a device sync every training step; NaN propagates visibly).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from dlcourse import (augment, autoencoders, ctaugment, flows, info, losses, metrics,  # noqa: E402
                      models, plot, ssl, superclass, train, widgets)

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
         {"z1": PROBS + ["t_mismatch", "t_empty"], "z2": PROBS + ["t_mismatch"],
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
         {"logits": LOGITS + ["t_empty"], "target": LABELS, "gamma": NONNEG,
          "weight": ["t_nan", "t_inf", "t_neg", "t_mismatch", "t_shape", ("str", "abc")],
          "reduction": ["none", ("unknown", "avg"), "bool"]}),
    Case("losses.class_balanced_loss", losses.class_balanced_loss,
         lambda: dict(logits=_logits(), target=_labels(), counts=torch.tensor([4.0, 3, 2, 1]),
                      beta=0.99, loss_type="focal", gamma=1.0, reduction="mean",
                      normalise="weights"),
         {"logits": LOGITS, "target": LABELS,
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
         {"ops": ["t_huge", "t_neg", "t_dtype", "t_mismatch", "none"],
          "bins": ["t_huge", "t_neg", "t_dtype", "t_mismatch", "none"],
          "probs": ["t_nan", "t_neg", "t_above1", "t_mismatch", "t_flat", "none"],
          "labels": ["t_huge", "t_neg", "t_dtype", "t_mismatch", "none"]}),
    Case("ctaugment.CTAugment.apply", _method(ctaugment.CTAugment.apply), _cta_apply_kwargs,
         {"x": ["t_flat", "none"], "ops": ["t_huge", "t_neg", "t_dtype", "none"],
          "bins": ["t_huge", "t_neg", "t_dtype", "none"]}),
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
         {"y": LABELS, "lam": NONNEG, "noise_std": NONNEG}),
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
         {"logits": LOGITS, "target": LABELS, "groups": ["none", ("missing", [[0], [2]])],
          "mode": ["none", ("unknown", "medium")]}),
    Case("superclass.contiguous_intervals", superclass.contiguous_intervals,
         lambda: dict(num_classes=4), {"num_classes": POS_INT + [("one", 1)]}),
    Case("superclass.interval_losses", superclass.interval_losses,
         lambda: dict(logits=_logits(6, 4), target=_labels(6, 4), intervals=[(0, 1), (1, 3)]),
         {"logits": LOGITS, "target": LABELS,
          "intervals": [("empty", []), ("out of range", [(0, 9)]), ("reversed", [(2, 1)]),
                        ("not pairs", [1, 2]), ("frac", [(0.5, 2)])]}),
    Case("superclass.cross_group_mistakes", superclass.cross_group_mistakes,
         lambda: dict(y_true=_labels(6, 3), y_pred=_labels(6, 3).flip(0), groups=[[0, 1], [2]],
                      num_classes=3),
         {"y_true": ["t_neg", "t_huge", "t_dtype", "t_mismatch", "none"],
          "y_pred": ["t_neg", "t_huge", "t_dtype", "none"],
          "groups": ["none", ("missing", [[0], [2]])],
          "num_classes": [k for k in POS_INT if k != "none"]}),  # None: the default
    Case("superclass.welch_interval", superclass.welch_interval,
         lambda: dict(a=[1.0, 2.0, 3.0], b=[2.0, 3.0, 5.0], confidence=0.95),
         {"a": [("nan", [1.0, math.nan, 3.0]), ("one value", [1.0]), "none", "str"],
          "b": [("inf", [1.0, math.inf, 3.0]), ("one value", [1.0]), "none"],
          "confidence": NUMBER + ["zero", ("one", 1.0), "neg"]}),
    Case("superclass.paired_interval", superclass.paired_interval,
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
    # ---------------------------------------------------------------- plot and widgets
    Case("plot.joint_with_marginals", _plot(plot.joint_with_marginals),
         lambda: dict(joint=torch.full((3, 3), 1 / 9), vmax=0.5),
         {"joint": ["t_nan", "t_neg", "t_flat", "none"], "vmax": [k for k in POSITIVE if k != "none"]}),
    Case("plot.information_bars", _plot(plot.information_bars),
         lambda: dict(h_x=1.0, h_y=1.0, h_xy=1.5),
         {"h_x": NONNEG, "h_y": NONNEG, "h_xy": NONNEG + [("below max(h_x, h_y)", 0.5)]}),
    Case("widgets.morph_joint", widgets.morph_joint,
         lambda: dict(dependence=0.5, skew=0.5, num_clusters=3),
         {"dependence": UNIT, "skew": NONNEG, "num_clusters": POS_INT + [("one", 1)]}),
    Case("widgets.focal_curves", widgets.focal_curves,
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
         {"probs": PROBS + [("wrong classes", _probs(6, 3)), "t_empty"]}),
    Case("ssl.DistributionAlignment.align", _method(ssl.DistributionAlignment.align),
         lambda: dict(self=ssl.DistributionAlignment(4), probs=_probs()),
         {"probs": PROBS + [("wrong classes", _probs(6, 3))]}),
    Case("ssl.quarter_turns", ssl.quarter_turns,
         lambda: dict(x=_images(3), r=torch.tensor([0, 1, 3])),
         {"x": ["t_flat", "none", ("not square", torch.rand(3, 1, 4, 6))],
          "r": ["t_neg", "t_huge", "t_dtype", "t_mismatch", "none"]}),
    Case("train.WeightAverage", train.WeightAverage,
         lambda: dict(model=torch.nn.Linear(2, 2), decay=0.999, warmup=True),
         {"model": ["none", ("str", "model")], "decay": NONNEG + [("one", 1.0), ("above1", 1.5)],
          "warmup": ["none", "str"]}),
    Case("ssl.soft_cross_entropy", ssl.soft_cross_entropy,
         lambda: dict(logits=_logits(), targets=_probs()),
         {"logits": ["t_mismatch", "t_dtype", "none"],
          "targets": ["t_mismatch", "t_nan", "t_neg", "none"]}),
    Case("ssl.squared_error", ssl.squared_error,
         lambda: dict(logits=_logits(), targets=_probs()),
         {"logits": ["t_mismatch", "t_dtype", "none"],
          "targets": ["t_mismatch", "t_nan", "t_neg", "none"]}),
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
         {"y_l": LABELS, "x_u": ["none", "t_flat"], "x_l": ["none", "t_flat"],
          "step": NONNEG_INT}),
    Case("ssl.Supervised.loss", _method(ssl.Supervised.loss),
         lambda: _loss_kwargs(ssl.Supervised(4)),
         {"y_l": LABELS, "x_l": ["none", "t_flat"]}),
    # ---------------------------------------------------------------- train
    Case("train.minibatches", train.minibatches, lambda: dict(n=10, batch_size=3),
         {"n": NONNEG_INT, "batch_size": POS_INT}),
    Case("train.predict", train.predict,
         lambda: dict(model=torch.nn.Linear(4, 2), x=torch.rand(5, 4), batch_size=2),
         {"batch_size": POS_INT, "x": ["none", "t_list"], "model": ["none", ("str", "model")]}),
]


def all_invalid_calls():
    """Every ``(case, arg, kind)`` of the table, in order."""
    return [(case, arg, kind) for case in CASES for arg, kind in case.invalid_calls()]
