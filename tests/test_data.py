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


class _Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 ``str`` (BINSTRING), as the official CIFAR-10 batches were written:
    read back with ``encoding="latin1"`` (torchvision) the keys are ``"data"``, with
    ``encoding="bytes"`` (the CIFAR-10 web page) ``b"data"``."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_python2_str(self, obj):
        size = len(obj)
        header = pickle.SHORT_BINSTRING + bytes([size]) if size < 256 else \
            pickle.BINSTRING + struct.pack("<i", size)
        self.write(header + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_python2_str


def _write_cifar_batch(path, rows, seed, changes=None, python2=False):
    """One batch in the CIFAR-10 python format: a dict with b"data" (uint8 rows x 3072: red, green,
    blue planes of 32 x 32) and b"labels" (a list of ints), pickled at protocol 2."""
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": b"batch", b"data": rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8),
             b"labels": rng.integers(0, 10, size=rows).tolist(), b"filenames": [b"x.png"] * rows}
    batch.update(changes or {})
    with open(path, "wb") as fh:
        (_Python2Pickler(fh, protocol=2) if python2 else pickle.Pickler(fh, protocol=2)).dump(batch)
    return batch


@pytest.fixture
def cifar_folder(monkeypatch, tmp_path, fresh_cache):
    """DLCOURSE_DATA/cifar-10-batches-py with six small batches (4 rows each) and no download."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    monkeypatch.setattr(data, "CIFAR10_BATCH_ROWS", 4)
    batches = {name: _write_cifar_batch(folder / name, 4, seed)
               for seed, name in enumerate(data.CIFAR10_BATCHES)}
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", _forbid_download)
    return folder, batches


def test_local_cifar10_folder_is_read(cifar_folder):
    """CIFAR-10's python pickles: rows of 3072 bytes, all red, then green, then blue, row-major."""
    _, batches = cifar_folder
    x, y = load("cifar10", "test")
    pixels, labels = batches["test_batch"][b"data"], batches["test_batch"][b"labels"]
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == labels
    # pixel (row 5, column 7) of the green channel of image 1
    assert x[1, 1, 5, 7].item() == pytest.approx(pixels[1, 1024 + 5 * 32 + 7] / 255.0)
    x, y = load("cifar10", "train")
    assert x.shape == (20, 3, 32, 32)
    assert y.tolist() == sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    np.testing.assert_array_equal((x[4:8] * 255).round().reshape(4, -1).numpy(),
                                  batches["data_batch_2"][b"data"])


@pytest.mark.parametrize("python2", [False, True], ids=["python3-bytes-keys", "python2-str"])
def test_full_size_cifar10_batch_in_the_official_format(tmp_path, python2):
    """A batch of the official size, written as CIFAR-10's python version is, reads back exactly."""
    batch = _write_cifar_batch(tmp_path / "test_batch", 10_000, seed=7, python2=python2)
    pixels, labels = data.read_cifar10_batch(tmp_path / "test_batch")
    assert pixels.dtype == np.uint8 and pixels.shape == (10_000, 3072)
    np.testing.assert_array_equal(pixels, batch[b"data"])
    assert labels.dtype == np.int64 and labels.tolist() == batch[b"labels"]
    if python2:  # the layout torchvision reads: str keys under encoding="latin1"
        with open(tmp_path / "test_batch", "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        assert sorted(entry) == ["batch_label", "data", "filenames", "labels"]
        np.testing.assert_array_equal(entry["data"], batch[b"data"])


class _RunsCode:
    """Unpickling this calls ``os.system``: what a tampered batch file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_cifar10_batch_that_runs_code_is_refused_without_running_it(cifar_folder, tmp_path):
    folder, _ = cifar_folder
    marker = tmp_path / "code-ran"
    rng = np.random.default_rng(0)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                     b"labels": _RunsCode(marker)}, fh, protocol=2)
    assert b"system" in (folder / "test_batch").read_bytes()
    with pytest.raises(DatasetUnavailableError) as info:
        load("cifar10", "test")
    message = str(info.value)
    assert "test_batch" in message and "system" in message and "refused" in message
    assert "DLCOURSE_DATA" in message and "quick" in message
    assert not marker.exists()


@pytest.mark.parametrize("damage,expected", [
    ("missing", "data_batch_3"),
    ("truncated", "unreadable pickle"),
    ("not-a-pickle", "unreadable pickle"),
    ("wrong-shape", "data must be uint8 (4, 3072)"),
    ("wrong-dtype", "data must be uint8"),
    ("few-labels", "labels must be 4 integers"),
    ("label-10", "labels must be 4 integers in 0..9"),
    ("no-labels", "'data' and 'labels'"),
    ("pickle-protocol-5", "refused"),  # numpy arrays at protocol 5 name other functions
])
def test_damaged_cifar10_folder_names_file_and_problem(cifar_folder, damage, expected):
    folder, _ = cifar_folder
    victim = folder / "data_batch_3"
    rng = np.random.default_rng(1)
    if damage == "missing":
        victim.unlink()
    elif damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:5000])
    elif damage == "not-a-pickle":
        victim.write_bytes(b"<html>rate limited</html>")
    elif damage == "wrong-shape":
        _write_cifar_batch(victim, 4, 0, {b"data": rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)})
    elif damage == "wrong-dtype":
        _write_cifar_batch(victim, 4, 0, {b"data": rng.random((4, 3072), dtype=np.float32)})
    elif damage == "few-labels":
        _write_cifar_batch(victim, 4, 0, {b"labels": [1, 2, 3]})
    elif damage == "label-10":
        _write_cifar_batch(victim, 4, 0, {b"labels": [1, 2, 3, 10]})
    elif damage == "no-labels":
        with open(victim, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8)}, fh, protocol=2)
    elif damage == "pickle-protocol-5":
        with open(victim, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0] * 4},
                        fh, protocol=5)
    split = "train"
    with pytest.raises(DatasetUnavailableError) as info:
        load("cifar10", split)
    message = str(info.value)
    assert "data_batch_3" in message and expected in message, message
    assert "DLCOURSE_DATA" in message and "quick" in message
    if damage == "missing":  # a half-present folder fails for either split, never downloads
        with pytest.raises(DatasetUnavailableError, match="data_batch_3"):
            load("cifar10", "test")


# ------------------------------------------------------------------------- damaged IDX files


def _mnist_files(folder, split="train"):
    stem = "train" if split == "train" else "t10k"
    return folder / f"{stem}-images-idx3-ubyte.gz", folder / f"{stem}-labels-idx1-ubyte.gz"


@pytest.fixture
def mnist_folder(monkeypatch, tmp_path, fresh_cache):
    """DLCOURSE_DATA/mnist with small, whole, gzipped IDX files, and no download."""
    _fake_mnist(tmp_path / "mnist", ".gz", seed=0)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "MNIST", _forbid_download)
    return tmp_path / "mnist"


def _expect_damaged(file_name, *fragments, split="train"):
    with pytest.raises(DatasetUnavailableError) as info:
        load("mnist", split)
    message = str(info.value)
    assert file_name in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "DLCOURSE_DATA" in message and "quick" in message


def test_truncated_gz_names_the_file(mnist_folder):
    images, _ = _mnist_files(mnist_folder)
    images.write_bytes(images.read_bytes()[:-40])
    _expect_damaged(images.name, "damaged")


def test_truncated_idx_names_the_file(mnist_folder):
    images, labels = _mnist_files(mnist_folder)
    raw = gzip.decompress(images.read_bytes())
    images.unlink()
    plain = mnist_folder / "train-images-idx3-ubyte"
    plain.write_bytes(raw[:-100])
    _expect_damaged(plain.name, "truncated", f"{3 * 28 * 28:,} data bytes")


@pytest.mark.parametrize("header,fragment", [
    (bytes([0x1F, 0x8B, 0x08, 0x03]), "magic number 1f8b0803"),   # a gzip file named without .gz
    (bytes([0, 0, 0x07, 0x03]), "magic number 00000703"),         # unknown type code
    (bytes([0, 0, 0x08, 0x00]), "magic number 00000800"),         # no dimensions
])
def test_bad_idx_magic_is_refused(mnist_folder, header, fragment):
    images, _ = _mnist_files(mnist_folder)
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(header + raw[4:]))
    _expect_damaged(images.name, fragment)


def test_idx_with_extra_bytes_is_refused(tmp_path):
    _write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    with open(tmp_path / "labels", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(DatasetUnavailableError, match="extra bytes"):
        read_idx(tmp_path / "labels")


def test_read_idx_other_type_codes(tmp_path):
    """IDX also stores big-endian int16/int32/float32/float64; they read back in native order."""
    for code, dtype in ((0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")):
        values = np.array([[-3, 2, 70000 % 30000], [1, 0, -1]], dtype=dtype)
        header = bytes([0, 0, code, 2]) + struct.pack(">II", 2, 3)
        (tmp_path / "a").write_bytes(header + values.tobytes())
        got = read_idx(tmp_path / "a")
        assert got.dtype == np.dtype(dtype).newbyteorder("=") and got.tolist() == values.tolist()


def test_images_and_labels_counts_must_agree(mnist_folder):
    images, labels = _mnist_files(mnist_folder)
    _write_idx(labels, np.arange(2, dtype=np.uint8))  # 3 images, 2 labels
    _expect_damaged(labels.name, "2 labels for the 3 images")


def test_label_out_of_range_is_refused(mnist_folder):
    _, labels = _mnist_files(mnist_folder)
    _write_idx(labels, np.array([0, 10, 3], dtype=np.uint8))
    _expect_damaged(labels.name, "label 10 outside 0..9")


def test_labels_file_in_the_images_place_is_refused(mnist_folder):
    images, labels = _mnist_files(mnist_folder)
    images.write_bytes(labels.read_bytes())
    _expect_damaged(images.name, "N x H x W")


@pytest.mark.parametrize("remove", ["images", "labels"])
def test_half_present_idx_pair_is_an_error_not_a_download(mnist_folder, remove):
    images, labels = _mnist_files(mnist_folder, "test")
    (images if remove == "images" else labels).unlink()
    _expect_damaged(f"t10k-{remove}-idx", "missing", split="test")


def test_fashion_mnist_message_says_how_to_get_it(monkeypatch, tmp_path, fresh_cache):
    """quick runs that need Fashion-MNIST: the Debian package, DLCOURSE_DATA, or a download."""
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DLCOURSE_PROFILE", "quick")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-such-folder")
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", _no_network)
    with pytest.raises(DatasetUnavailableError) as info:
        load("fashion-mnist", "train")
    message = str(info.value)
    assert "dataset-fashion-mnist" in message and "apt-get install" in message
    assert "DLCOURSE_DATA" in message and "fashion-mnist" in message
    assert "torchvision" in message and "network unreachable" in message
