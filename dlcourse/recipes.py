"""The `full` profile of every chapter as one table of training recipes (``dlcourse.recipes``).

Each :class:`Recipe` states a chapter's full-profile training as the chapter runs it: dataset,
network at its real width, batch size, budget, optimiser, mixed precision, and the same library
calls (``train.fit``, ``iic.train``, ``ssl.fit_ssl`` with ``ssl.ReMixMatch``,
``losses.class_balanced_loss``, ``superclass.superclass_loss``, ``flows.image_log_prob``,
``ae.reconstruction_loss``). Two uses:

* a GPU benchmark (steps/s at the real batch size, FLOPs per step): ``build_model``,
  ``make_optimizer``, ``random_batch`` and ``make_loss`` need no dataset;
* ``tests/test_full_path.py``: ``load_data`` reads the real files through ``dlcourse.data.load``
  and ``train`` runs the chapter's loop with a checkpoint, at micro scale.

This module is the one source of these recipes for the full-path micro test and the GPU-time
estimates (``benchmarks/full_profile_estimate.py``, ``benchmarks/gpu_check.py``). Chapters still
spell their ``config.pick(..., full=...)`` values out; ``pins`` and ``calls`` say where, and
``tests/test_full_path.py`` re-reads the chapters so that a difference fails loudly.
Chapter 1's MI lessons and chapter 7's Iris/digits parts train tiny MLPs in seconds; the recipes
cover each chapter's main network. Run ``python -m dlcourse.recipes`` for the table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import augment, ctaugment, data, flows, iic, losses, models, ssl, superclass, train
from . import autoencoders as ae
from .checks import checked, function, instance, optional, torch_device
from .loop import Precision, precision_for


@dataclass(frozen=True)
class Recipe:
    """One chapter's full-profile training run (see the module docstring)."""

    chapter: str
    dataset: str
    split: str
    model: str  # the constructor call, as the chapter writes it
    build_model: Callable[[], nn.Module]
    image_shape: tuple
    batch_size: int
    budget: int
    unit: str  # "epochs" (train.fit) or "steps"
    train_size: int  # images one epoch visits at full scale
    optimizer: str
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    amp: str
    make_loss: Callable  # (device) -> loss(model, *batch): one minibatch, the chapter's loss
    random_batch: Callable  # (batch_size, device, generator) -> batch tuple for make_loss
    load_data: Callable  # (device=None, **scale) -> dict of tensors, selected as the chapter does
    train: Callable  # (model, data, budget, *, batch_size=None, checkpoint=None, evaluate=False)
    pins: dict = field(default_factory=dict)  # chapter variable -> its full= value
    calls: tuple = ()  # code text that must appear in the chapter (whitespace ignored)
    note: str = ""

    @property
    def total_steps(self) -> int:
        """Optimiser steps of one full run."""
        if self.unit == "steps":
            return self.budget
        return math.ceil(self.train_size / self.batch_size) * self.budget

    def params(self) -> int:
        return sum(p.numel() for p in self.build_model().parameters())


def _images(shape):
    def random_batch(batch_size, device=None, generator=None):
        x = torch.rand((batch_size, *shape), generator=generator).to(device)
        y = torch.arange(batch_size, device=device) % 10
        return x, y
    return random_batch


def _limit(x, limit):
    return x if limit is None else x[:limit]


def _load(name, split, device):
    return data.load(name, split, device=device)


# ------------------------------------------------------------------- 01 mutual information

def _ch1_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def _ch1_loss(device=None):
    return lambda m, x, y: F.cross_entropy(m(x), y)


def _ch1_data(device=None, limit=None):
    x, y = _load("mnist", "train", device)
    x_test, y_test = _load("mnist", "test", device)
    return {"x": _limit(x, limit), "y": _limit(y, limit), "x_test": x_test, "y_test": y_test}


def _ch1_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False):
    return train.fit(model, _ch1_optimizer(model), _ch1_loss(), (d["x"], d["y"]), epochs=budget,
                     batch_size=batch_size or 128, checkpoint=checkpoint, desc="classifier")


# --------------------------------------------------------------------------------- 02 IIC

IIC_RECIPE = dict(batch_size=700, repeats=5, lr=3e-3, separate_views=False)
IIC_WIDTHS = (32, 64, 128, 256)
IIC_HIDDEN = ()  # linear sub-heads, as in the paper (the article's Dense: (128, 64))


def _ch2_model():
    return iic.network(in_channels=1, num_clusters=10, num_subheads=5, widths=IIC_WIDTHS,
                       hidden=IIC_HIDDEN)


def _ch2_optimizer(model):  # iic.train builds this one itself
    return torch.optim.Adam(model.parameters(), lr=IIC_RECIPE["lr"])


def _ch2_loss(device=None):
    """One step of iic.train: ``repeats`` pairs per image, both views transformed and run in one
    batch, main + over."""
    generator = torch.Generator(device=device or "cpu").manual_seed(1)

    def loss(model, x, _y=None):
        ops = tuple(augment.VIEW_OPS)
        first, second = iic.paired_views(x, IIC_RECIPE["repeats"], ops, ops, generator)
        n = len(first)
        main, over = model(torch.cat([first, second]))
        return sum(iic.subhead_losses([z[:n] for z in zs], [z[n:] for z in zs]).mean()
                   for zs in (main, over))
    return loss


def _ch2_data(device=None, limit=None):
    x, y = _load("mnist", "all", device)
    return {"x": _limit(x, limit), "y": _limit(y, limit)}


def _ch2_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False, repeats=None):
    recipe = dict(IIC_RECIPE, batch_size=batch_size or IIC_RECIPE["batch_size"],
                  repeats=repeats or IIC_RECIPE["repeats"])

    def snapshot(step, record):  # the chapter's callback, less its pictures
        result = iic.evaluate(model, d["x"], d["y"])
        counts = iic.matched_confusion(d["y"], result["clusters"], 10)
        return {"accuracy": result["accuracy"], "confusion": counts.tolist()}

    return iic.train(model, d["x"], steps=budget, every=500, seed=0,
                     first_ops=tuple(augment.VIEW_OPS),
                     callback=snapshot if evaluate else None, checkpoint=checkpoint,
                     desc="IIC", **recipe)


# ---------------------------------------------------------------------- 03 imbalanced losses

CH3_MINORITY = ["automobile", "deer", "frog"]
CH3_EPOCHS = 25
CH3_BETA, CH3_LOSS, CH3_GAMMA = 0.999, "focal", 1.0  # one row of the table: CB focal


def _ch3_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)


def _shift_and_flip(x):
    """The chapter's augmentation: shifts up to 4 pixels, horizontal flips."""
    x = augment.random_affine(x, translate=4 / x.shape[-1])
    flip = torch.rand(len(x), device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


CH3_COUNTS = [250 if name in CH3_MINORITY else 4900 for name in data.CLASS_NAMES["cifar10"]]  # 100 per class held out


def _ch3_loss(device=None, counts=tuple(CH3_COUNTS)):

    def loss(model, xb, yb):
        logits = model(_shift_and_flip(xb))
        return losses.class_balanced_loss(logits, yb, counts, CH3_BETA, CH3_LOSS, gamma=CH3_GAMMA)
    return loss


def _ch3_data(device=None, n_major=4900, n_minor=250, n_val=100):
    names = data.CLASS_NAMES["cifar10"]
    minority = [names.index(c) for c in CH3_MINORITY]
    x_all, y_all = _load("cifar10", "train", device)
    positions = torch.arange(len(y_all), device=y_all.device)  # the chapter's validation hold-out
    val_index, _ = data.imbalanced_subset(positions, y_all, [], n_val, seed=1, n_majority=n_val)
    pool = torch.ones(len(y_all), dtype=torch.bool, device=y_all.device)
    pool[val_index] = False
    x, y = data.imbalanced_subset(x_all[pool], y_all[pool], minority, n_minor, seed=0,
                                  n_majority=n_major)
    x_test, y_test = _load("cifar10", "test", device)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def _ch3_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False):
    optimizer = _ch3_optimizer(model)
    milestones = sorted({round(0.6 * CH3_EPOCHS), round(0.8 * CH3_EPOCHS)})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    loss = _ch3_loss(counts=torch.bincount(d["y"], minlength=10).tolist())
    return train.fit(model, optimizer, loss, (d["x"], d["y"]), epochs=budget,
                     batch_size=batch_size or 128, seed=0, scheduler=scheduler,
                     checkpoint=checkpoint, desc="CB focal")


# ---------------------------------------------------------------------- 04 superclass loss

CH4_GROUPS = [[0, 1, 8, 9], [2, 3, 4, 5, 6, 7]]  # artificial, natural
CH4_WIDTHS = (64, 128, 256)


def _ch4_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def _flip_and_shift(x):
    """The chapter's augmentation: horizontal flips, shifts up to 4 pixels."""
    flip = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5
    x = torch.where(flip, x.flip(3), x)
    return augment.random_affine(x, translate=0.125)


def _ch4_loss(device=None):
    def loss(model, x, y):  # the "hard superclass" variant
        logits = model(_flip_and_shift(x)).float()
        return F.cross_entropy(logits, y) + superclass.superclass_loss(logits, y, CH4_GROUPS, mode="hard")
    return loss


def _ch4_data(device=None, limit=None, n_val=5_000):
    """The chapter's split: n_val training images held out for validation, the rest (or
    ``limit`` of them) for training."""
    x, y = _load("cifar10", "train", device)
    x_test, y_test = _load("cifar10", "test", device)
    draw = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).to(x.device)
    n_train = limit or len(x) - n_val
    train_rows, val_rows = draw[:n_train], draw[n_train:n_train + n_val]
    return {"x": x[train_rows], "y": y[train_rows], "x_val": x[val_rows], "y_val": y[val_rows],
            "x_test": x_test, "y_test": y_test}


def _ch4_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False):
    def evaluate_epoch(epoch, record):
        pred = train.predict(model, d["x_val"]).argmax(dim=1)
        return {"val_acc": (pred == d["y_val"]).float().mean(),
                "cross_group": superclass.cross_group_mistakes(d["y_val"], pred, CH4_GROUPS)}

    return train.fit(model, _ch4_optimizer(model), _ch4_loss(), (d["x"], d["y"]), epochs=budget,
                     batch_size=batch_size or 512, seed=0, checkpoint=checkpoint,
                     on_epoch_end=evaluate_epoch if evaluate else None, desc="hard superclass")


# ------------------------------------------------------------------------ 05 ReMixMatch

CH5 = dict(steps=2**16, warmup=4096, batch=64, K=8, eval_every=2048, checkpoint_every=2048,
           n_labeled=250)


def _ch5_model():
    return ssl.RotationNet(models.wide_resnet(depth=28, widen=2, num_classes=10))


def _ch5_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.02)


def _weak(x, generator=None):
    """The chapter's weak augmentation on CIFAR-10: shifts of 4 of 32 pixels and flips."""
    return ssl.weak_augment(x, translate=0.125, flip=True, generator=generator)


def _ch5_method(device=None, K=None):
    cta = ctaugment.CTAugment(learn=True)
    return ssl.ReMixMatch(10, cta=cta.to(device or "cpu"), K=K or CH5["K"], warmup=CH5["warmup"],
                          weak=_weak)


def _ch5_loss(device=None, K=None):
    method = _ch5_method(device, K)
    generator = torch.Generator(device=device or "cpu").manual_seed(0)

    def loss(model, x_l, y_l, x_u):
        return method.loss(model, x_l, y_l, x_u, CH5["warmup"], generator)[0]
    return loss


def _ch5_batch(batch_size, device=None, generator=None):
    x, y = _images((3, 32, 32))(batch_size, device, generator)
    return x, y, torch.rand(x.shape, generator=generator).to(device)


def _ch5_data(device=None, n_labeled=250, limit=None):
    x, y = _load("cifar10", "train", device)
    x_test, y_test = _load("cifar10", "test", device)
    labeled, unlabeled = data.labeled_split(y, n_labeled, seed=0)
    return {"x_l": x[labeled], "y_l": y[labeled], "x_u": _limit(x[unlabeled], limit),
            "x_test": x_test, "y_test": y_test}


def _ch5_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False, K=None):
    def evaluate_ema(ema_model):
        predicted = train.predict(ema_model, d["x_test"]).argmax(1)
        return {"accuracy": (predicted == d["y_test"]).float().mean()}

    device = d["x_l"].device
    history, _ema = ssl.fit_ssl(
        _ch5_method(device, K), model, _ch5_optimizer(model), (d["x_l"], d["y_l"]), d["x_u"],
        steps=budget, batch_size=batch_size or CH5["batch"],
        evaluate=evaluate_ema if evaluate else None, eval_every=CH5["eval_every"], seed=0,
        checkpoint=checkpoint, checkpoint_every=CH5["checkpoint_every"], desc="remixmatch")
    return history


# --------------------------------------------------------------------------- 06 RealNVP

CH6 = dict(epochs=30, hidden=64, blocks=4, batch=64, lr=1e-3, alpha=1e-6, ema_decay=0.999)


def _ch6_model():
    """The chapter's flow (1 x 1 convolutions) with its variational dequantiser."""
    flow = flows.make_realnvp((1, 28, 28), num_scales=3, hidden=CH6["hidden"],
                              num_blocks=CH6["blocks"], invconv=True, norm="batchnorm")
    return flows.DequantizedFlow(flow, flows.VariationalDequantizer((1, 28, 28)))


def _ch6_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=CH6["lr"])


def _ch6_loss(device=None):
    def loss(model, xb, _y=None):  # mean bits/dim, fresh dequantisation noise
        return flows.bits_per_dim(model.log_prob(xb, CH6["alpha"]), 784).mean()
    return loss


def _ch6_data(device=None, limit=None):
    x, _ = _load("mnist", "train", device)
    x_test, y_test = _load("mnist", "test", device)
    return {"x": _limit(x, limit), "x_test": x_test, "y_test": y_test}


def _ch6_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False):
    optimizer = _ch6_optimizer(model)
    epochs = CH6["epochs"]
    # the chapter's weight average, updated after every step and checkpointed with the model
    averaged = train.WeightAverage(model, CH6["ema_decay"])
    optimizer.register_step_post_hook(lambda *_: averaged.update(model))
    trained = torch.nn.ModuleDict(dict(model=model, average=averaged))
    loss = _ch6_loss()

    def lr_factor(epoch):  # the chapter's warm-up epoch, then cosine decay
        if epoch == 0:
            return 1 / 3
        return 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(epochs - 1, 1)))

    @torch.no_grad()
    def test_bits(epoch, record):
        noise = torch.Generator(device=d["x_test"].device).manual_seed(0)
        out = {}
        for key, m in (("test_bpd", model), ("test_bpd_avg", averaged.average)):
            m.eval()
            noise.manual_seed(0)
            values = [m.log_prob(xb, CH6["alpha"], noise) for xb in d["x_test"].split(500)]
            out[key] = flows.bits_per_dim(torch.cat(values), 784).mean().item()
        return out

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    return train.fit(trained, optimizer, lambda t, xb: loss(t["model"], xb), (d["x"],),
                     epochs=budget,
                     batch_size=batch_size or CH6["batch"], scheduler=scheduler,
                     checkpoint=checkpoint, desc="RealNVP",
                     on_epoch_end=test_bits if evaluate else None)


# ---------------------------------------------------------------------- 07 autoencoders

CH7 = dict(code_sizes=(2, 4, 8, 16, 32), epochs=30, batch=64, lr=2e-3)


def _ch7_model():
    return ae.ConvAutoencoder(CH7["code_sizes"][-1])


def _ch7_optimizer(model):
    return torch.optim.Adam(model.parameters(), lr=CH7["lr"])


def _ch7_loss(device=None):
    return lambda model, xb, _y=None: ae.reconstruction_loss(model, xb)


def _ch7_data(device=None, limit=None):
    x, y = _load("mnist", "train", device)
    x_test, y_test = _load("mnist", "test", device)
    return {"x": _limit(x, limit), "y": _limit(y, limit), "x_test": x_test, "y_test": y_test}


def _ch7_train(model, d, budget, *, batch_size=None, checkpoint=None, evaluate=False):
    """``ae.pretrain`` when no checkpoint is asked for (the chapter's call); with one, the same
    loop (``train.fit``, Adam, ``ae.reconstruction_loss``), since ``ae.pretrain`` has no
    ``checkpoint`` argument."""
    batch_size = batch_size or CH7["batch"]
    if checkpoint is None:
        return ae.pretrain(model, d["x"], epochs=budget, batch_size=batch_size, lr=CH7["lr"],
                           desc="conv autoencoder")
    return train.fit(model, _ch7_optimizer(model), _ch7_loss(), (d["x"],), epochs=budget,
                     batch_size=batch_size, checkpoint=checkpoint, desc="conv autoencoder")


# ---------------------------------------------------------------------------- the table

AMP = "bf16/fp16 autocast on CUDA"
RECIPES: dict[str, Recipe] = {r.chapter: r for r in [
    Recipe("01_mutual_information", "mnist", "train",
           "models.ConvClassifier(num_classes=10, in_channels=x_train.shape[1])",
           lambda: models.ConvClassifier(num_classes=10, in_channels=1), (1, 28, 28),
           batch_size=128, budget=4, unit="epochs", train_size=60_000,
           optimizer="Adam lr 1e-3", make_optimizer=_ch1_optimizer, amp=AMP + " (train.fit)",
           make_loss=_ch1_loss, random_batch=_images((1, 28, 28)), load_data=_ch1_data,
           train=_ch1_train, pins={"epochs": 4, "keep": None, "DATASET": "mnist"},
           calls=("torch.optim.Adam(model.parameters(), lr=1e-3)", "epochs=epochs, batch_size=128"),
           note="a supervised classifier: the MI demonstration network; no checkpoint in the chapter"),
    Recipe("02_iic", "mnist", "all",
           "iic.network(in_channels=1, num_clusters=10, num_subheads=5, widths=(32, 64, 128, 256), "
           "hidden=())",
           _ch2_model, (1, 28, 28), batch_size=700, budget=6000, unit="steps", train_size=70_000,
           optimizer="Adam lr 3e-3 (inside iic.train)", make_optimizer=_ch2_optimizer,
           amp=AMP + " (iic.train)", make_loss=_ch2_loss, random_batch=_images((1, 28, 28)),
           load_data=_ch2_data, train=_ch2_train,
           pins={"batch_size": 700, "repeats": 5, "lr": 3e-3, "WIDTHS": IIC_WIDTHS, "SUBHEADS": 5,
                 "STEPS": 6000, "EVERY": 500, "SEEDS": (0, 1, 2), "DATASET": "mnist"},
           calls=("iic.network(in_channels=x_all.shape[1],num_clusters=10,"
                  "num_subheads=SUBHEADS,widths=WIDTHS,hidden=HIDDEN)",
                  "iic.train(model, x_all, steps=steps", "separate_views=False",
                  "first_ops=OPS", "HIDDEN = ()"),
           note="batch 700 images x 5 repeats = 3,500 pairs, both views transformed, one pass of "
                "7,000 images; the chapter trains one round of 6,000 steps; 3 seeds"),
    Recipe("03_imbalanced_losses", "cifar10", "train",
           "models.resnet18(num_classes=10, in_channels=3)",
           lambda: models.resnet18(num_classes=10, in_channels=3), (3, 32, 32),
           batch_size=128, budget=CH3_EPOCHS, unit="epochs", train_size=sum(CH3_COUNTS),
           optimizer="SGD lr 0.1 momentum 0.9 wd 5e-4, MultiStepLR at 15, 20",
           make_optimizer=_ch3_optimizer, amp=AMP + " (train.fit)", make_loss=_ch3_loss,
           random_batch=_images((3, 32, 32)), load_data=_ch3_data, train=_ch3_train,
           pins={"EPOCHS": CH3_EPOCHS, "n_major": 4900, "n_minor": 250, "AUGMENT": True,
                 "make_model": "models.resnet18", "DATASET": "cifar10"},
           calls=("SGD = dict(lr=0.1, momentum=0.9, weight_decay=5e-4)",
                  "torch.optim.SGD(model.parameters(), **SGD)",
                  "BATCH = 128", "epochs=EPOCHS,\n batch_size=BATCH", "losses.class_balanced_loss(logits, yb, n, beta, "
                  "loss_type, gamma=gamma)", "milestones = sorted({round(0.6 * EPOCHS), round(0.8 * EPOCHS)})"),
           note="14 table rows x 2 seeds; the recipe's loss is the CB focal row (beta 0.999, gamma 1)"),
    Recipe("04_superclass_loss", "cifar10", "train",
           "models.TenLayerCNN(10, 3, widths=(64, 128, 256))",
           lambda: models.TenLayerCNN(10, 3, widths=CH4_WIDTHS), (3, 32, 32),
           batch_size=512, budget=100, unit="epochs", train_size=45_000,
           optimizer="Adam lr 1e-3 (1e-2 for one variant)", make_optimizer=_ch4_optimizer,
           amp=AMP + " (train.fit)", make_loss=_ch4_loss, random_batch=_images((3, 32, 32)),
           load_data=_ch4_data, train=_ch4_train,
           pins={"EPOCHS": 100, "BATCH": 512, "RUNS": 5, "RUNS_SIDE": 5, "RUNS_MAIN": 15,
                 "WIDTHS": CH4_WIDTHS, "AUGMENT": True, "n_train": 45_000, "n_val": 5_000,
                 "DATASET": "cifar10"},
           calls=("models.TenLayerCNN(len(CLASSES), x_train.shape[1], widths=WIDTHS)",
                  "torch.optim.Adam(model.parameters(), lr=lr)",
                  "superclass.superclass_loss(z, y, GROUPS, mode=\"hard\")",
                  "\"cifar10\": {\"artificial\": [0, 1, 8, 9], \"natural\": [2, 3, 4, 5, 6, 7]}"),
           note="15 runs each of soft and plain, 5 each of hard, intervals, lr 1e-2, lambda 0.3 and 3 = 55 runs"),
    Recipe("05_remixmatch", "cifar10", "train",
           "ssl.RotationNet(models.wide_resnet(depth=28, widen=2, num_classes=10))",
           _ch5_model, (3, 32, 32), batch_size=64, budget=CH5["steps"], unit="steps",
           train_size=50_000, optimizer="AdamW lr 0.002 wd 0.02, EMA 0.999",
           make_optimizer=_ch5_optimizer, amp=AMP + " (ssl.fit_ssl)", make_loss=_ch5_loss,
           random_batch=_ch5_batch, load_data=_ch5_data, train=_ch5_train,
           pins={"STEPS": 2**16, "WARMUP": 4096, "BATCH": 64, "K": 8, "EVAL_EVERY": 2048,
                 "N_LABELED": 250, "keep": None, "checkpoint_every": 2048, "DATASET": "cifar10"},
           calls=("models.wide_resnet(depth=28, widen=2, num_classes=C)",
                  "ADAMW = dict(lr=0.002, weight_decay=0.02)",
                  "torch.optim.AdamW(model.parameters(), **ADAMW)",
                  "ssl.ReMixMatch(C, cta=cta.to(device), K=switches.pop(\"K\", K), warmup=WARMUP, "
                  "weak=weak, **switches)", "SHIFT = 0.125 if DATASET == \"cifar10\""),
           note="64 labelled + 64 unlabelled per step, K = 8 strong views: ~650 images forward"),
    Recipe("06_realnvp", "mnist", "train",
           "flows.DequantizedFlow(flows.make_realnvp((1, 28, 28), num_scales=3, hidden=64, "
           "num_blocks=4, invconv=True), flows.VariationalDequantizer((1, 28, 28)))",
           _ch6_model, (1, 28, 28), batch_size=CH6["batch"], budget=CH6["epochs"], unit="epochs",
           train_size=60_000, optimizer="Adam lr 1e-3, 1 warm-up epoch then cosine",
           make_optimizer=_ch6_optimizer, amp=AMP + " (train.fit)", make_loss=_ch6_loss,
           random_batch=_images((1, 28, 28)), load_data=_ch6_data, train=_ch6_train,
           pins={"EPOCHS": 30, "HIDDEN": 64, "BLOCKS": 4, "BATCH": 64, "LR": 1e-3, "keep": None,
                 "EMA_DECAY": 0.999, "DATASET": "mnist"},
           calls=("RECIPE = dict(hidden=HIDDEN, blocks=BLOCKS, scales=3, invconv=True, "
                  "vardeq=True, norm=\"batchnorm\", alpha=1e-6)",
                  "flows.make_realnvp(shape, num_scales=recipe[\"scales\"], "
                  "hidden=recipe[\"hidden\"], num_blocks=recipe[\"blocks\"], "
                  "invconv=recipe[\"invconv\"], norm=recipe[\"norm\"])",
                  "averaged = train.WeightAverage(model, EMA_DECAY)",
                  "optimizer.register_step_post_hook(lambda *_: averaged.update(model))",
                  "flows.VariationalDequantizer(shape)",
                  "flows.DequantizedFlow(flow, dequantizer)",
                  "torch.optim.Adam(model.parameters(), lr=lr)"),
           note="one run; test bits/dim every epoch"),
    Recipe("07_autoencoders", "mnist", "train", "ae.ConvAutoencoder(32)",
           _ch7_model, (1, 28, 28), batch_size=CH7["batch"], budget=CH7["epochs"], unit="epochs",
           train_size=60_000, optimizer="Adam lr 2e-3 (ae.pretrain)",
           make_optimizer=_ch7_optimizer, amp=AMP + " (ae.pretrain: models >= 10k weights)",
           make_loss=_ch7_loss, random_batch=_images((1, 28, 28)), load_data=_ch7_data,
           train=_ch7_train,
           pins={"CODE_SIZES": CH7["code_sizes"], "AE_EPOCHS": 30, "BATCH": 64,
                 "keep_train": None, "DATASET": "mnist"},
           calls=("ae.ConvAutoencoder(k)", "AE_LR = 2e-3", "ae.pretrain(net, x_train, "
                  "epochs=AE_EPOCHS, batch_size=BATCH, lr=AE_LR"),
           note="5 code sizes + 1 denoiser (noise 0.5), largest code 32 shown; the full profile "
                "checkpoints each network in the run cache; Iris/digits MLPs are seconds-long"),
]}


@checked(model=instance(nn.Module), optimizer=instance(torch.optim.Optimizer), loss=function,
         batch=instance(tuple, list), device=torch_device, precision=optional(instance(Precision)))
def optimizer_step(model, optimizer, loss, batch, device, precision=None) -> torch.Tensor:
    """One training step as the loops take it (``loop.precision_for``: bfloat16 from sm80,
    float16 with loss scaling before): the unit a benchmark times. Pass the same ``precision``
    to every call so the loss scale carries over, as it does in the loops."""
    precision = precision or precision_for(device)
    model.train()
    with precision.autocast():
        value = loss(model, *batch)
    precision.step(value, optimizer)
    return value.detach()


def table() -> str:
    """The recipes as a Markdown table (chapter, dataset, model, params, batch, steps, optimiser)."""
    rows = ["| chapter | dataset | model | params | batch | budget | steps | optimiser |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in RECIPES.values():
        rows.append(f"| {r.chapter} | {r.dataset} ({r.split}) | `{r.model}` | {r.params():,} | "
                    f"{r.batch_size} | {r.budget:,} {r.unit} | {r.total_steps:,} | {r.optimizer} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
