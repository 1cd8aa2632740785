"""Tests of dlcourse.runs: the run cache misses when a setting or the library code changes."""
import hashlib
import json
import shutil

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import runcache as runs, sources, train

SETTINGS = {"dataset": "mnist-5k", "profile": "smoke", "lr": 0.1, "momentum": 0.9,
            "weight_decay": 5e-4, "milestones": [3, 6], "batch_size": 128,
            "model": "TenLayerCNN", "widths": (8, 16, 32), "seed": 0}


def test_key_is_sha256_of_settings_json_and_code_hash():
    """An independent recomputation of the documented key."""
    text = json.dumps({**SETTINGS, "widths": [8, 16, 32]}, sort_keys=True)
    code = sources.code_hash(["train", "models"])
    expected = hashlib.sha256(text.encode() + b"\0" + code.encode()).hexdigest()[:16]
    assert runs.run_key(SETTINGS, ["train", "models"]) == expected


def test_key_ignores_order_of_settings():
    assert runs.run_key(dict(reversed(list(SETTINGS.items()))), ["train"]) == \
        runs.run_key(SETTINGS, ["train"])


@pytest.mark.parametrize("name, value", [("lr", 0.05), ("milestones", [3, 7]),
                                         ("widths", (8, 16, 64)), ("seed", 1),
                                         ("profile", "quick")])
def test_changing_any_setting_misses(tmp_path, name, value):
    a = runs.run_dir("03_test", SETTINGS, ["train"], root=tmp_path)
    b = runs.run_dir("03_test", {**SETTINGS, name: value}, ["train"], root=tmp_path)
    assert a != b
    assert runs.run_dir("03_test", dict(SETTINGS), ["train"], root=tmp_path) == a


def test_changing_library_code_misses(tmp_path, monkeypatch):
    """A copy of the package with one edited module: the same settings get another folder."""
    before = runs.run_key(SETTINGS, ["train"])
    copy = tmp_path / "pkg"
    shutil.copytree(sources.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "ROOT", copy)
    assert runs.run_key(SETTINGS, ["train"]) == before  # same files, same key
    loop = copy / "loop.py"  # train imports loop: a change there must count too
    loop.write_text(loop.read_text() + "\n# an edit\n")
    assert runs.run_key(SETTINGS, ["train"]) != before
    assert runs.run_key(SETTINGS, ["info"]) == runs.run_key(SETTINGS, ["info"])


def test_changing_a_data_file_changes_the_fingerprint_of_its_readers(tmp_path, monkeypatch):
    """full_profile.json belongs to config: editing it moves config's hash, not that of a module
    which does not import config."""
    copy = tmp_path / "pkg"
    shutil.copytree(sources.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "ROOT", copy)
    readers = [m for m in sources.module_names() if "config" in sources.dependencies([m])]
    others = [m for m in sources.module_names() if m not in readers]
    assert "config" in readers and others
    before = {m: sources.code_hash([m]) for m in sources.module_names()}
    data = copy / "full_profile.json"
    data.write_text(data.read_text() + "\n")
    after = {m: sources.code_hash([m]) for m in sources.module_names()}
    assert all(after[m] != before[m] for m in readers)
    assert all(after[m] == before[m] for m in others)


def test_changing_the_hash_misses(tmp_path, monkeypatch):
    a = runs.run_dir("03_test", SETTINGS, ["train"], root=tmp_path)
    monkeypatch.setattr(sources, "code_hash", lambda modules=None: "0" * 64)
    assert runs.run_dir("03_test", SETTINGS, ["train"], root=tmp_path) != a


def test_folder_under_data_dir_with_readable_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    path = runs.checkpoint("06_realnvp", SETTINGS, ["flows", "train"])
    key = runs.run_key(SETTINGS, ["flows", "train"])
    assert path == tmp_path / "runs" / "06_realnvp" / key / "checkpoint.pt"
    record = json.loads((path.parent / "settings.json").read_text())
    assert record["settings"]["lr"] == 0.1 and record["settings"]["widths"] == [8, 16, 32]
    assert record["code_hash"] == sources.code_hash(["flows", "train"])
    assert "loop" in record["modules"]


@pytest.mark.parametrize("chapter", ["", "../escape", "a/b", 3])
def test_bad_chapter_rejected(tmp_path, chapter):
    with pytest.raises(ValueError, match="chapter"):
        runs.run_dir(chapter, SETTINGS, root=tmp_path)


def test_settings_must_be_json(tmp_path):
    with pytest.raises(ValueError, match="settings"):
        runs.run_dir("03_test", {"model": nn.Linear(2, 2)}, root=tmp_path)
    with pytest.raises(ValueError, match="settings"):
        runs.run_dir("03_test", ["lr", 0.1], root=tmp_path)


def test_cached_run_is_not_trained_again(tmp_path):
    """End to end with train.fit: same settings reuse the result, another setting trains."""
    calls = {"n": 0}
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()

    def loss_fn(model, xb, yb):
        calls["n"] += 1
        return F.cross_entropy(model(xb), yb)

    def run(lr):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        path = runs.checkpoint("03_test", {"lr": lr, "epochs": 2}, ["train"], root=tmp_path)
        train.fit(model, torch.optim.SGD(model.parameters(), lr=lr), loss_fn, (x, y),
                  epochs=2, batch_size=8, checkpoint=path)

    run(0.1)
    assert calls["n"] == 4
    run(0.1)
    assert calls["n"] == 4  # cached
    run(0.2)
    assert calls["n"] == 8  # another setting: another folder, trained
