"""The run cache and what a run is keyed on: its settings (the folder), its data and the dlcourse
code that executed (recorded in the checkpoint, checked on reuse), one process at a time."""
import hashlib
import json
import multiprocessing
import shutil

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import loop, metrics, runcache as runs, sources, train

SETTINGS = {"dataset": "mnist-5k", "profile": "smoke", "lr": 0.1, "momentum": 0.9,
            "weight_decay": 5e-4, "milestones": [3, 6], "batch_size": 128,
            "model": "TenLayerCNN", "widths": (8, 16, 32), "seed": 0}


def test_key_is_sha256_of_the_settings_json():
    """An independent recomputation of the documented key."""
    text = json.dumps({**SETTINGS, "widths": [8, 16, 32]}, sort_keys=True)
    assert runs.run_key(SETTINGS) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_key_ignores_order_of_settings():
    assert runs.run_key(dict(reversed(list(SETTINGS.items())))) == runs.run_key(SETTINGS)


@pytest.mark.parametrize("name, value", [("lr", 0.05), ("milestones", [3, 7]),
                                         ("widths", (8, 16, 64)), ("seed", 1),
                                         ("profile", "quick")])
def test_changing_any_setting_misses(tmp_path, name, value):
    a = runs.run_dir("03_test", SETTINGS, root=tmp_path)
    b = runs.run_dir("03_test", {**SETTINGS, name: value}, root=tmp_path)
    assert a != b
    assert runs.run_dir("03_test", dict(SETTINGS), root=tmp_path) == a


def test_folder_under_data_dir_with_readable_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    path = runs.checkpoint("06_realnvp", SETTINGS, ["flows", "train"])  # modules: ignored
    assert path == tmp_path / "runs" / "06_realnvp" / runs.run_key(SETTINGS) / "checkpoint.pt"
    record = json.loads((path.parent / "settings.json").read_text())
    assert record["settings"]["lr"] == 0.1 and record["settings"]["widths"] == [8, 16, 32]


def test_data_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "file"))
    with pytest.raises(ValueError, match="DLCOURSE_DATA must name a folder"):
        runs.checkpoint("06_realnvp", SETTINGS)


@pytest.mark.parametrize("text", ["{not json", '["a list"]', '{"settings": {"lr": 9}}'])
def test_damaged_run_record_is_named(tmp_path, text):
    folder = runs.run_dir("03_test", SETTINGS, root=tmp_path)
    (folder / "settings.json").write_text(text)
    with pytest.raises(loop.CheckpointError, match=r"settings\.json.*delete the folder"):
        runs.run_dir("03_test", SETTINGS, root=tmp_path)


@pytest.mark.parametrize("chapter", ["", "../escape", "a/b", 3])
def test_bad_chapter_rejected(tmp_path, chapter):
    with pytest.raises(ValueError, match="chapter"):
        runs.run_dir(chapter, SETTINGS, root=tmp_path)


def test_settings_must_be_json(tmp_path):
    with pytest.raises(ValueError, match="settings"):
        runs.run_dir("03_test", {"model": nn.Linear(2, 2)}, root=tmp_path)
    with pytest.raises(ValueError, match="settings"):
        runs.run_dir("03_test", ["lr", 0.1], root=tmp_path)


# --------------------------------------------------------------------------- reuse, end to end

X = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
Y = (X[:, 0] > 0).long()


def _fit(path, *, calls, x=X, lr=0.1, loss=F.cross_entropy, on_epoch_end=None):
    def loss_fn(model, xb, yb):
        calls["n"] += 1
        return loss(model(xb), yb)

    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    history = train.fit(model, torch.optim.SGD(model.parameters(), lr=lr), loss_fn, (x, Y),
                        epochs=2, batch_size=8, checkpoint=path, on_epoch_end=on_epoch_end)
    return model, history


def test_cached_run_is_not_trained_again(tmp_path):
    calls = {"n": 0}
    path = lambda lr: runs.checkpoint("03_test", {"lr": lr}, root=tmp_path)  # noqa: E731
    _fit(path(0.1), calls=calls)
    assert calls["n"] == 4
    with sources.CodeRecord() as record:
        _fit(path(0.1), calls=calls)
    assert calls["n"] == 4 and record.cached_runs == 1  # reused, and counted
    assert "train.fit" in record.hashes()  # its code is inherited from the cached run
    _fit(path(0.2), calls=calls, lr=0.2)
    assert calls["n"] == 8  # another setting: another folder, trained


def test_checkpoint_records_the_code_that_ran(tmp_path):
    path = runs.checkpoint("03_test", {"lr": 0.1}, root=tmp_path)
    _fit(path, calls={"n": 0}, on_epoch_end=lambda e, r: {"acc": metrics.cluster_accuracy(
        [0, 1, 1], [1, 0, 0])})
    code = loop.load_checkpoint(path)["code"]
    for name in ("train.fit", "loop.run_steps", "metrics.cluster_accuracy"):
        assert code[name] == sources.current_hash(name), name
    assert "losses.focal_loss" not in code and not any(n.startswith("sources") for n in code)


@pytest.fixture
def library_copy(tmp_path, monkeypatch):
    """The hashes are read from a copy of the sources, which a test may edit."""
    copy = tmp_path / "library"
    shutil.copytree(sources.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "ROOT", copy)
    return copy


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_edit_to_a_function_the_run_called_misses_it(tmp_path, library_copy):
    """The validation metric ran in the run's callback: editing its body trains afresh."""
    calls = {"n": 0}
    path = runs.checkpoint("03_test", {"lr": 0.1}, root=tmp_path)
    score = lambda e, r: {"acc": metrics.cluster_accuracy([0, 1, 1], [1, 0, 0])}  # noqa: E731
    _fit(path, calls=calls, on_epoch_end=score)
    _edit(library_copy / "losses.py", "def ", "def _unused():\n    return 1\n\n\ndef ")
    _edit(library_copy / "metrics.py", '"""', '"""An edited docstring.', )
    _fit(path, calls=calls, on_epoch_end=score)
    assert calls["n"] == 4  # code it never ran and a docstring: reused
    text = (library_copy / "metrics.py").read_text()
    start = text.index("def cluster_accuracy(")
    body_end = text.index("\ndef ", start + 1)
    (library_copy / "metrics.py").write_text(
        text[:body_end] + "\n    # edited\n    pass\n" + text[body_end:])
    _fit(path, calls=calls, on_epoch_end=score)
    assert calls["n"] == 8  # the metric's body changed: trained afresh


def test_other_data_of_the_same_shape_misses_a_cached_run(tmp_path):
    """The subset draw ran before training: its output, the data, is fingerprinted."""
    calls = {"n": 0}
    path = runs.checkpoint("03_test", {"lr": 0.1}, root=tmp_path)
    _fit(path, calls=calls)
    _fit(path, calls=calls, x=X.flip(0))
    assert calls["n"] == 8


def test_resume_with_another_loss_or_data_is_refused_by_name(tmp_path):
    path = tmp_path / "own.pt"  # not a run-cache entry: refused, not replaced
    model, _ = _fit(path, calls={"n": 0})
    with pytest.raises(loop.CheckpointError, match="loss_fn"):
        _fit(path, calls={"n": 0}, loss=lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1))
    with pytest.raises(loop.CheckpointError, match="data"):
        _fit(path, calls={"n": 0}, x=X + 1)


def test_resume_with_another_closure_value_is_refused(tmp_path):
    path = tmp_path / "own.pt"

    def run(gamma):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        loss_fn = lambda m, xb, yb: gamma * F.cross_entropy(m(xb), yb)  # noqa: E731
        train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, (X, Y),
                  epochs=1, batch_size=8, checkpoint=path)

    run(1.0)
    run(1.0)
    with pytest.raises(loop.CheckpointError, match="gamma"):
        run(2.0)


def _train_in_process(args):
    path, out = args
    import torch
    from torch import nn
    from dlcourse import train as tr
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    history = tr.fit(model, torch.optim.SGD(model.parameters(), lr=0.1),
                     lambda m, xb, yb: torch.nn.functional.cross_entropy(m(xb), yb), (x, y),
                     epochs=30, batch_size=4, checkpoint=path)
    torch.save(model.state_dict(), out)
    return len(history)


def test_two_processes_on_one_entry_train_it_once(tmp_path):
    """Both finish with the same model; the second waited for the first and reused its run."""
    path = runs.checkpoint("03_test", {"processes": 2}, root=tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        lengths = pool.map(_train_in_process, [(path, tmp_path / f"m{k}.pt") for k in range(2)])
    assert lengths == [30, 30]
    a, b = (torch.load(tmp_path / f"m{k}.pt") for k in range(2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert loop.load_checkpoint(path)["step"] == 30 * 16
    assert not list(path.parent.glob("*.tmp"))


def test_many_processes_create_the_same_folders(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        folders = pool.map(_make_folder, [(tmp_path, k % 5) for k in range(40)], chunksize=1)
    assert len(set(folders)) == 5
    assert not list(tmp_path.rglob("*.tmp"))


def _make_folder(args):
    root, k = args
    from dlcourse import runcache
    return str(runcache.run_dir("03_test", {"k": k}, root=root))


def test_import_time_calls_are_not_recorded_but_shape_their_module():
    """What a module body calls at import (spec factories, an op table) runs whether or not a run
    uses the module: not recorded as running. A local helper called there is folded into the
    module's own hash, so that a run using the module still follows it."""
    import subprocess
    import sys

    script = ("from dlcourse import sources\n"
              "r = sources.CodeRecord().start()\n"
              "import dlcourse.autoencoders, dlcourse.ctaugment\n"
              "r.stop()\n"
              "print(sorted(r.hashes()))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]", out


def test_a_helper_called_at_import_changes_its_modules_hash(library_copy):
    """info's module statements build a spec with info._distribution: editing that helper's body
    changes the hash of info's statements, which every recorded info function brings in."""
    before = sources.definition_hashes("info")
    text = (library_copy / "info.py").read_text()
    start = text.index("def _distribution(")
    body = text.index("\n    ", start) + 1
    (library_copy / "info.py").write_text(text[:body] + "    unused = 1\n" + text[body:])
    after = sources.definition_hashes("info")
    assert after["info._distribution"] != before["info._distribution"]
    assert after["info"] != before["info"]
    assert after["info.entropy"] == before["info.entropy"]
