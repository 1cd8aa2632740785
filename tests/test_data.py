"""Tests of dlcourse.data: the offline datasets, IDX reading, local folders and download errors."""
import gzip
import pickle
import struct

import numpy as np
import pytest
import torch
import torchvision

import dlcourse.data as data
from dlcourse.data import DatasetUnavailableError, load, read_idx

SIZES = {
    "mnist-5k": (4000, 1000),
    "fashion-mnist": (60000, 10000),
    "digits": (1437, 360),
    "iris": (120, 30),
}
IMAGE_SHAPES = {"mnist-5k": (1, 28, 28), "fashion-mnist": (1, 28, 28), "digits": (1, 8, 8)}
NUM_CLASSES = {"mnist-5k": 10, "fashion-mnist": 10, "digits": 10, "iris": 3}
SPLITS = ("train", "test", "all")


def _require_fashion_mnist():
    if not data.DEBIAN_FASHION_MNIST.is_dir():
        pytest.skip(f"{data.DEBIAN_FASHION_MNIST} does not exist (install Debian's dataset-fashion-mnist)")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every split of every offline dataset, loaded once for the whole module.

    ``DLCOURSE_DATA`` points at an empty folder so that nothing from the user's cache is used.
    """
    cache: dict = {}
    empty = tmp_path_factory.mktemp("empty-data")

    def get(name, split):
        if name == "fashion-mnist":
            _require_fashion_mnist()
        if (name, split) not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("DLCOURSE_DATA", str(empty))
                cache[name, split] = load(name, split)
        return cache[name, split]

    return get


@pytest.fixture
def fresh_cache():
    """Clear the loader's cache around a test that changes where data comes from."""
    data._load_cpu.cache_clear()
    yield
    data._load_cpu.cache_clear()


# ---------------------------------------------------------------------------- offline datasets


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", list(SIZES))
def test_offline_dataset_format(loaded, name, split):
    x, y = loaded(name, split)
    n_train, n_test = SIZES[name]
    n = {"train": n_train, "test": n_test, "all": n_train + n_test}[split]
    assert x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert x.device.type == "cpu" and y.device.type == "cpu"
    assert y.shape == (n,)
    if name == "iris":
        assert x.shape == (n, 4)
        assert (x > 0).all() and (x < 10).all()  # measurements in cm
    else:
        assert x.shape == (n, *IMAGE_SHAPES[name])
        assert x.min().item() >= 0.0 and x.max().item() <= 1.0
        assert x.max().item() == 1.0  # really scaled to [0, 1], not to [0, 1/255]
    assert torch.isfinite(x).all()
    assert y.min().item() >= 0 and y.max().item() < NUM_CLASSES[name]
    assert torch.unique(y).numel() == NUM_CLASSES[name]  # every class present
    assert len(data.CLASS_NAMES[name]) == NUM_CLASSES[name]


@pytest.mark.parametrize("name", list(SIZES))
def test_all_is_train_then_test(loaded, name):
    x_tr, y_tr = loaded(name, "train")
    x_te, y_te = loaded(name, "test")
    x_all, y_all = loaded(name, "all")
    assert torch.equal(x_all, torch.cat([x_tr, x_te]))
    assert torch.equal(y_all, torch.cat([y_tr, y_te]))


def _row_bytes(x: torch.Tensor) -> list[bytes]:
    return [row.tobytes() for row in x.reshape(x.shape[0], -1).numpy()]


def test_mnist_5k_train_and_test_disjoint(loaded):
    x_tr, _ = loaded("mnist-5k", "train")
    x_te, _ = loaded("mnist-5k", "test")
    train, test = set(_row_bytes(x_tr)), set(_row_bytes(x_te))
    assert len(train) == 4000 and len(test) == 1000  # no duplicates inside a split either
    assert train.isdisjoint(test)


def test_mnist_5k_balanced(loaded):
    _, y_tr = loaded("mnist-5k", "train")
    _, y_te = loaded("mnist-5k", "test")
    assert np.bincount(y_tr.numpy(), minlength=10).tolist() == [400] * 10
    assert np.bincount(y_te.numpy(), minlength=10).tolist() == [100] * 10


def test_mnist_5k_pixels_are_byte_values(loaded):
    x, _ = loaded("mnist-5k", "train")
    scaled = x * 255
    assert torch.allclose(scaled, scaled.round(), atol=1e-3)


def test_digits_values_are_sixteenths(loaded):
    from sklearn.datasets import load_digits

    x, _ = loaded("digits", "all")
    scaled = x * 16
    assert torch.allclose(scaled, scaled.round(), atol=1e-5)
    # same multiset of images as scikit-learn's, just split and scaled
    ours = sorted(_row_bytes((scaled.round()).to(torch.float32)))
    theirs = sorted(_row_bytes(torch.from_numpy(load_digits().images.astype(np.float32))))
    assert ours == theirs


def test_iris_matches_sklearn(loaded):
    from sklearn.datasets import load_iris

    bunch = load_iris()
    x_tr, y_tr = loaded("iris", "train")
    x_te, y_te = loaded("iris", "test")
    assert np.bincount(y_tr.numpy()).tolist() == [40, 40, 40]
    assert np.bincount(y_te.numpy()).tolist() == [10, 10, 10]
    # every row keeps its own label
    lookup = {tuple(np.float32(bunch.data[i])): bunch.target[i] for i in range(150)}
    for x, y in ((x_tr, y_tr), (x_te, y_te)):
        for row, label in zip(x.numpy(), y.numpy()):
            assert lookup[tuple(row)] == label


def test_splits_are_repeatable(loaded, fresh_cache):
    x1, y1 = loaded("digits", "test")
    x2, y2 = load("digits", "test")  # cache cleared by fresh_cache: really loaded again
    assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_fashion_mnist_matches_debian_files(loaded):
    _require_fashion_mnist()
    x, y = loaded("fashion-mnist", "test")
    with gzip.open(data.DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", "rb") as fh:
        raw = fh.read()
    assert struct.unpack(">I", raw[:4])[0] == 0x801
    assert np.frombuffer(raw, dtype=np.uint8, offset=8).tolist() == y.tolist()
    with gzip.open(data.DEBIAN_FASHION_MNIST / "t10k-images-idx3-ubyte.gz", "rb") as fh:
        raw = fh.read()
    first = np.frombuffer(raw, dtype=np.uint8, offset=16, count=28 * 28).reshape(28, 28)
    np.testing.assert_allclose(x[0, 0].numpy(), first / 255.0, atol=1e-7)


# ---------------------------------------------------------------------------------- device


def test_device_argument_cpu():
    x, y = load("iris", "test", device="cpu")
    assert x.device == torch.device("cpu") and y.device == torch.device("cpu")
    x, y = load("iris", "test", device=torch.device("cpu"))
    assert x.device.type == "cpu"


def test_device_argument_moves():
    x, y = load("iris", "train", device="meta")  # "meta" exists everywhere, unlike CUDA
    assert x.device.type == "meta" and y.device.type == "meta"
    assert x.shape == (120, 4) and y.dtype == torch.int64


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("name", ["imagenet", "MNIST", "mnist5k", ""])
def test_unknown_name_lists_names(name):
    with pytest.raises(ValueError, match="name") as info:
        load(name)
    for known in data.DATASETS:
        assert known in str(info.value)


@pytest.mark.parametrize("split", ["val", "Train", "", "valid"])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split"):
        load("iris", split)


def _no_network(*args, **kwargs):
    raise OSError("network unreachable")


@pytest.mark.parametrize("name,cls", [("mnist", "MNIST"), ("cifar10", "CIFAR10")])
def test_missing_online_dataset_raises_helpful_error(monkeypatch, tmp_path, fresh_cache, name, cls):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, cls, _no_network)
    with pytest.raises(DatasetUnavailableError) as info:
        load(name)
    message = str(info.value)
    assert "DLCOURSE_DATA" in message
    assert "quick" in message
    assert "network unreachable" in message
    assert str(tmp_path) in message


def test_missing_fashion_mnist_without_debian_package(monkeypatch, tmp_path, fresh_cache):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-such-folder")
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", _no_network)
    with pytest.raises(DatasetUnavailableError, match="DLCOURSE_DATA"):
        load("fashion-mnist", "test")


# ------------------------------------------------------------------------------- IDX files


def _idx_bytes(array: np.ndarray) -> bytes:
    """The IDX format written out by hand: 0, 0, type 0x08 (uint8), ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx(path, array: np.ndarray):
    raw = _idx_bytes(array)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_images_and_labels(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)  # not square: catches a H/W swap
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    _write_idx(tmp_path / f"images{suffix}", images)
    _write_idx(tmp_path / f"labels{suffix}", labels)
    got_images = read_idx(tmp_path / f"images{suffix}")
    got_labels = read_idx(tmp_path / f"labels{suffix}")
    assert got_images.shape == (5, 7, 3) and got_images.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_idx_accepts_str_path(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "a.gz")), array)


def _fake_mnist(folder, suffix, seed):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    sets = {}
    for stem, n in (("train", 3), ("t10k", 2)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0, 0, 0] = 255
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx(folder / f"{stem}-images-idx3-ubyte{suffix}", images)
        _write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", labels)
        sets["train" if stem == "train" else "test"] = (images, labels)
    return sets


def _forbid_download(*args, **kwargs):
    raise AssertionError("load() tried to download although the IDX files are on disk")


@pytest.mark.parametrize("layout,suffix", [("mnist", ".gz"), ("mnist", ""), ("MNIST/raw", "")])
def test_local_mnist_folder_is_used_without_download(monkeypatch, tmp_path, fresh_cache, layout, suffix):
    sets = _fake_mnist(tmp_path.joinpath(*layout.split("/")), suffix, seed=len(layout) + len(suffix))
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "MNIST", _forbid_download)
    for split in ("train", "test"):
        images, labels = sets[split]
        x, y = load("mnist", split)
        assert x.shape == (len(images), 1, 28, 28) and x.dtype == torch.float32
        assert y.dtype == torch.int64
        np.testing.assert_allclose(x[:, 0].numpy(), images / 255.0, atol=1e-7)
        np.testing.assert_array_equal(y.numpy(), labels)
    x, y = load("mnist", "all")
    assert x.shape == (5, 1, 28, 28) and y.shape == (5,)


def test_local_fashion_mnist_folder_takes_precedence(monkeypatch, tmp_path, fresh_cache):
    sets = _fake_mnist(tmp_path / "fashion-mnist", ".gz", seed=3)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", _forbid_download)
    x, y = load("fashion-mnist", "train")
    assert x.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(y.numpy(), sets["train"][1])


def test_local_cifar10_folder_is_read(monkeypatch, tmp_path, fresh_cache):
    """CIFAR-10's python pickles: rows of 3072 bytes, all red, then green, then blue, row-major."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(4)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=2).tolist()
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": pixels, "labels": labels}, fh)
        batches[name] = (pixels, labels)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", _forbid_download)
    x, y = load("cifar10", "test")
    pixels, labels = batches["test_batch"]
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == labels
    # pixel (row 5, column 7) of the green channel of image 1
    assert x[1, 1, 5, 7].item() == pytest.approx(pixels[1, 1024 + 5 * 32 + 7] / 255.0)
    x, y = load("cifar10", "train")
    assert x.shape == (10, 3, 32, 32)
    assert y.tolist() == sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
