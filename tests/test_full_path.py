"""The `full` profile of every chapter, run end to end at micro scale on CPU.

The test writes CIFAR-10 (python pickle batches) and MNIST (IDX, gzipped and plain) files in the
official formats into a temporary ``DLCOURSE_DATA``, loads them through ``dlcourse.data.load``
as the chapters do, and trains each chapter's full-profile network at its real width for a few
steps with the chapter's loop, checkpointing and resuming. The recipes live in
``dlcourse/recipes.py``; their numbers are checked against the chapters' text here, so a
chapter edit that changes a full budget fails with a message that names it.
"""
from __future__ import annotations

import ast
import gzip
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dlcourse import data
from dlcourse import recipes as full_recipes

ROOT = Path(__file__).resolve().parents[1]
RECIPES = full_recipes.RECIPES

N_CIFAR_BATCH, N_CIFAR_TEST = 60, 60  # 5 x 60 = 300 train images: 30 per class
N_MNIST_TRAIN, N_MNIST_TEST = 300, 100


# ------------------------------------------------------------------ files in the real formats

def _labels(n):
    return [i % 10 for i in range(n)]  # balanced: 25 labels per class fit in 300 images


def write_cifar10(root: Path, rng: np.random.Generator) -> dict:
    """``cifar-10-batches-py`` as the official tarball unpacks: pickled dicts, protocol 2.

    The official files were pickled by Python 2 with ``str`` keys: read with
    ``encoding="latin1"`` (torchvision, dlcourse) they give ``"data"``, and only with
    ``encoding="bytes"`` ``b"data"``. Python 3 ``str`` keys give the same result."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {}
    for name, n in [(f"data_batch_{i}", N_CIFAR_BATCH) for i in range(1, 6)] + [("test_batch", N_CIFAR_TEST)]:
        pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        batch = {"batch_label": name, "labels": _labels(n), "data": pixels,
                 "filenames": [f"img_{i}.png" for i in range(n)]}
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
        written[name] = (pixels, _labels(n))
    meta = {"label_names": list(data.CLASS_NAMES["cifar10"]),
            "num_cases_per_batch": N_CIFAR_BATCH, "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return written


def _idx(array: np.ndarray) -> bytes:
    """IDX bytes: two zero bytes, type 0x08 (unsigned byte), ndim, big-endian sizes, data."""
    magic = 2051 if array.ndim == 3 else 2049
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in array.shape) + array.tobytes()


def write_mnist(root: Path, rng: np.random.Generator) -> dict:
    """torchvision's ``MNIST/raw`` layout: plain IDX files (what torchvision reads) and, for the
    training split, the gzipped originals beside them (what dlcourse prefers)."""
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True)
    written = {}
    for stem, n, gzipped in [("train", N_MNIST_TRAIN, True), ("t10k", N_MNIST_TEST, False)]:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.array(_labels(n), dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            (folder / f"{stem}-{kind}-ubyte").write_bytes(_idx(array))
            if gzipped:
                with gzip.open(folder / f"{stem}-{kind}-ubyte.gz", "wb") as fh:
                    fh.write(_idx(array))
        written[stem] = (images, labels)
    return written


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """A fresh ``DLCOURSE_DATA`` holding CIFAR-10 and MNIST in their official formats."""
    root = tmp_path_factory.mktemp("dlcourse_data")
    rng = np.random.default_rng(0)
    files = {"cifar10": write_cifar10(root, rng), "mnist": write_mnist(root, rng)}
    before = os.environ.get("DLCOURSE_DATA")
    os.environ["DLCOURSE_DATA"] = str(root)
    # the loader checks every batch holds the official 10,000 rows; these micro batches hold 60
    official_rows, data.CIFAR10_BATCH_ROWS = data.CIFAR10_BATCH_ROWS, N_CIFAR_BATCH
    yield root, files
    data.CIFAR10_BATCH_ROWS = official_rows
    if before is None:
        del os.environ["DLCOURSE_DATA"]
    else:
        os.environ["DLCOURSE_DATA"] = before


# ------------------------------------------------------------------------------ the loaders

def test_cifar10_files_load_in_dlcourse_and_torchvision(data_root, monkeypatch):
    import torchvision
    import torchvision.datasets.cifar as tv_cifar

    root, files = data_root
    # the official files' MD5 sums cannot match synthetic pixels: check existence only
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    for split, train, names in [("train", True, [f"data_batch_{i}" for i in range(1, 6)]),
                                ("test", False, ["test_batch"])]:
        pixels = np.concatenate([files["cifar10"][n][0] for n in names])
        labels = sum((files["cifar10"][n][1] for n in names), [])
        x, y = data.load("cifar10", split)
        assert x.shape == (len(pixels), 3, 32, 32) and x.dtype == torch.float32
        expected = torch.from_numpy(pixels.reshape(-1, 3, 32, 32).astype(np.float32) / 255)
        torch.testing.assert_close(x, expected, rtol=0, atol=0)
        assert y.tolist() == labels
        reference = torchvision.datasets.CIFAR10(str(root), train=train, download=False)
        assert reference.classes == data.CLASS_NAMES["cifar10"]
        assert reference.targets == labels
        np.testing.assert_array_equal(reference.data, pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def test_mnist_idx_files_load(data_root):
    import torchvision

    root, files = data_root
    for split, stem in [("train", "train"), ("test", "t10k")]:
        images, labels = files["mnist"][stem]
        x, y = data.load("mnist", split)
        assert x.shape == (len(images), 1, 28, 28)
        torch.testing.assert_close(x[:, 0] * 255, torch.from_numpy(images.astype(np.float32)))
        assert y.tolist() == labels.tolist()
        reference = torchvision.datasets.MNIST(str(root), train=split == "train", download=False)
        np.testing.assert_array_equal(reference.data.numpy(), images)
    x_all, _ = data.load("mnist", "all")
    assert len(x_all) == N_MNIST_TRAIN + N_MNIST_TEST


# ----------------------------------------------------- the recipes say what the chapters run

def _code_cells(chapter: str) -> list[str]:
    text = (ROOT / "chapters" / f"{chapter}.md").read_text(encoding="utf-8")
    cells = re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    return [re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S) for cell in cells]


_ARITHMETIC = (ast.Expression, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Tuple, ast.operator,
               ast.unaryop, ast.Load)


def _value(node):
    """A literal or constant arithmetic (``2**16``) as its value; anything else as source text."""
    if all(isinstance(n, _ARITHMETIC) for n in ast.walk(ast.Expression(node))):
        return eval(compile(ast.Expression(node), "<chapter>", "eval"), {"__builtins__": {}})
    return ast.unparse(node)


def full_values(chapter: str) -> dict:
    """``name -> [full= value, ...]`` for every ``config.pick``/``config.dataset`` call of a
    chapter; ``name`` is the variable assigned or the keyword the call is passed as. Values are
    Python literals where they are literals, else their source text."""
    found: dict = {}
    for cell in _code_cells(chapter):
        try:
            tree = ast.parse(cell)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                pairs.append((node.targets[0].id, node.value))
            if isinstance(node, ast.Call):
                pairs += [(k.arg, k.value) for k in node.keywords if k.arg]
            for name, value in pairs:
                if isinstance(value, ast.Call) and ast.unparse(value.func) in ("config.pick", "config.dataset"):
                    full = next(k.value for k in value.keywords if k.arg == "full")
                    found.setdefault(name, []).append(_value(full))
    return found


def test_chapter_parser_reads_full_values():
    values = full_values("03_imbalanced_losses")
    assert values["EPOCHS"] == [25] and values["make_model"] == ["models.resnet18"]
    assert values["DATASET"] == ["cifar10"]


def test_every_chapter_has_a_recipe():
    chapters = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md")
                      if not p.stem.endswith("_lab"))  # a lab page reuses its class page's runs
    assert sorted(RECIPES) == chapters


@pytest.mark.parametrize("chapter", sorted(RECIPES))
def test_recipe_matches_chapter(chapter):
    recipe = RECIPES[chapter]
    values = full_values(chapter)
    for name, expected in recipe.pins.items():
        assert name in values, f"{chapter}: no config.pick(...) for {name} any more; update dlcourse/recipes.py"
        assert expected in values[name], (
            f"{chapter}: full={values[name]} for {name}, but dlcourse/recipes.py says "
            f"{expected!r}: update the recipe (and the GPU benchmark) to the chapter")
    assert values["DATASET"][0] == recipe.dataset
    code = "".join("".join(_code_cells(chapter)).split())
    for call in recipe.calls:
        assert "".join(call.split()) in code, f"{chapter}: the chapter no longer contains {call!r}"


def test_recipe_budgets():
    """Independent arithmetic on the chapters' numbers: batches per epoch times epochs."""
    steps = {name: r.total_steps for name, r in RECIPES.items()}
    assert steps["01_mutual_information"] == 469 * 4  # 60,000 / 128 rounded up
    assert steps["03_imbalanced_losses"] == 274 * 25  # 7 x 4,900 + 3 x 250 = 35,050 / 128 rounded up
    assert steps["04_superclass_loss"] == 88 * 100  # 45,000 / 512 rounded up
    assert steps["05_remixmatch"] == 65536
    assert steps["06_realnvp"] == 938 * 30


# ------------------------------------------------------------- the full path at micro scale

# per chapter: load_data arguments, batch size, extra train arguments (the real widths always)
MICRO = {
    "01_mutual_information": (dict(limit=16), 8, {}),
    "02_iic": ({}, 8, dict(repeats=2)),
    "03_imbalanced_losses": (dict(n_major=4, n_minor=1, n_val=2), 16, {}),
    "04_superclass_loss": (dict(limit=16, n_val=8), 8, {}),
    "05_remixmatch": (dict(n_labeled=250), 2, {}),
    "06_realnvp": (dict(limit=2), 2, {}),
    "07_autoencoders": (dict(limit=16), 8, {}),
}


def _count_training_forwards(model):
    """Counts the training-mode calls of the model's first layer (some models are entered
    through ``reconstruct`` or ``log_prob``, not ``forward``); a step makes a fixed number."""
    first = next(m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    calls = [0]

    def hook(module, args):
        if module.training:
            calls[0] += 1
    first.register_forward_pre_hook(hook)
    return calls


@pytest.mark.parametrize("chapter", sorted(RECIPES))
def test_full_path_trains_checkpoints_and_resumes(chapter, data_root, tmp_path):
    recipe = RECIPES[chapter]
    load_args, batch_size, extra = MICRO[chapter]
    d = recipe.load_data(**load_args)
    assert all(torch.is_tensor(t) and len(t) for t in d.values())
    d = {k: v[:16] if k.endswith("_test") else v for k, v in d.items()}  # evaluations: a slice
    checkpoint = tmp_path / "run.ckpt"

    torch.manual_seed(0)
    first = recipe.build_model()
    calls_first = _count_training_forwards(first)
    history = recipe.train(first, d, 1, batch_size=batch_size, checkpoint=checkpoint,
                           evaluate=True, **extra)
    assert checkpoint.exists() and calls_first[0] > 0
    assert history and all(np.isfinite(v) for r in history for k, v in r.items()
                           if isinstance(v, float) and k != "seconds")

    torch.manual_seed(1)  # a different start: resuming must replace it by the checkpoint
    second = recipe.build_model()
    calls_second = _count_training_forwards(second)
    resumed = recipe.train(second, d, 3, batch_size=batch_size, checkpoint=checkpoint,
                           evaluate=True, **extra)
    assert calls_second[0] == 2 * calls_first[0], (
        f"{chapter}: asked for 3 after 1, trained {calls_second[0] / calls_first[0]:g} units: "
        "not resumed from the checkpoint")
    assert resumed[:len(history)] == history
    last = resumed[-1]
    assert last.get("step", last.get("epoch", -1) + 1) == 3


def test_chapter7_pretrain_runs_at_full_width(data_root):
    """Chapter 7 calls ``ae.pretrain`` (no checkpoint argument), once plain and once denoising."""
    from dlcourse import autoencoders as ae

    recipe = RECIPES["07_autoencoders"]
    d = recipe.load_data(limit=16)
    for noise in (0.0, 0.5):
        model = recipe.build_model()
        history = ae.pretrain(model, d["x"], epochs=1, batch_size=8, lr=2e-3, noise_std=noise,
                              clip=noise > 0, seed=100)
        assert len(history) == 1 and np.isfinite(history[0]["loss"])
        assert ae.encode(model, d["x_test"]).shape == (len(d["x_test"]), 32)


@pytest.mark.parametrize("chapter", sorted(RECIPES))
def test_benchmark_step_needs_no_dataset(chapter):
    """What the GPU benchmark does: a model, a random batch of the right shape, one step."""
    recipe = RECIPES[chapter]
    model = recipe.build_model()
    batch = recipe.random_batch(2, "cpu", torch.Generator().manual_seed(0))
    assert batch[0].shape == (2, *recipe.image_shape)
    before = [p.detach().clone() for p in model.parameters()]
    loss = full_recipes.optimizer_step(model, recipe.make_optimizer(model),
                                       recipe.make_loss("cpu"), batch, "cpu")
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
