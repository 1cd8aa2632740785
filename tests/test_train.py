"""Tests of dlcourse.train: the training loop, checkpoint/resume, minibatches and predict."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.loop import WeightAverage, load_checkpoint, progress_disabled, save_checkpoint
from dlcourse.train import fit, minibatches, predict

N, D, C = 40, 4, 3  # 40 samples, batch 8 -> 5 batches per epoch


def _data(seed=0, n=N):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, D, generator=g)
    w = torch.randn(D, C, generator=g)
    y = (x @ w).argmax(1)  # learnable labels
    return x, y


def _ce(model, x, y):
    return F.cross_entropy(model(x), y)


def _dropout_model():
    return nn.Sequential(nn.Linear(D, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, C))


# --------------------------------------------------------------------------------------- fit


@pytest.mark.parametrize("make", [lambda: nn.Linear(D, C), _dropout_model], ids=["linear", "dropout"])
def test_fit_loss_decreases_and_history(make):
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    history = fit(model, opt, _ce, _data(), epochs=4, batch_size=8, desc="test")
    assert len(history) == 4
    assert [r["epoch"] for r in history] == [0, 1, 2, 3]
    for r in history:
        assert {"epoch", "loss", "seconds"} <= set(r)
        assert isinstance(r["loss"], float) and math.isfinite(r["loss"])
        assert r["seconds"] >= 0
    assert history[-1]["loss"] < history[0]["loss"]
    assert not model.training  # fit leaves the model in eval mode


def test_fit_records_mean_loss_over_samples():
    """With a frozen model every batch sees the same weights, so the epoch loss must be the
    full-data mean loss, weighted per sample (the last batch of 30 / 8 holds only 6)."""
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    x, y = _data(n=30)

    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    history = fit(model, opt, _ce, (x, y), epochs=2, batch_size=8)
    with torch.no_grad():
        expected = F.cross_entropy(model(x), y, reduction="none").double().mean().item()
    for record in history:
        assert record["loss"] == pytest.approx(expected, rel=1e-5)


def test_fit_zero_epochs_changes_nothing():
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    history = fit(model, torch.optim.SGD(model.parameters(), lr=1.0), _ce, _data(), epochs=0, batch_size=8)
    assert history == []
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_on_epoch_end_values_land_in_record():
    torch.manual_seed(0)
    model = _dropout_model()
    seen = []

    def on_epoch_end(epoch, record):
        seen.append((epoch, dict(record), model.training))
        return {"double_epoch": 2 * epoch, "tag": f"e{epoch}"}

    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(),
                  epochs=3, batch_size=8, on_epoch_end=on_epoch_end)
    assert [r["double_epoch"] for r in history] == [0, 2, 4]
    assert [r["tag"] for r in history] == ["e0", "e1", "e2"]
    assert [s[0] for s in seen] == [0, 1, 2]
    assert all(s[1]["loss"] == r["loss"] for s, r in zip(seen, history))
    assert all(training is False for _, _, training in seen)  # evaluated in eval mode


def test_on_epoch_end_returning_none_is_fine():
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(),
                  epochs=2, batch_size=8, on_epoch_end=lambda epoch, record: None)
    assert len(history) == 2 and set(history[0]) == {"epoch", "loss", "seconds"}


def test_fit_is_deterministic_given_seed():
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = _dropout_model()
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(), epochs=2, batch_size=8, seed=5)
        results.append(model.state_dict())
    for k in results[0]:
        assert torch.equal(results[0][k], results[1][k])


def test_fit_seed_changes_batch_order():
    states = []
    for seed in (1, 2):
        torch.manual_seed(0)
        model = nn.Linear(D, C)
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(), epochs=1, batch_size=8, seed=seed)
        states.append(model.weight.detach().clone())
    assert not torch.equal(states[0], states[1])


# ------------------------------------------------------------------------ checkpoint / resume


class Crash(Exception):
    """Stands in for a Colab disconnect."""


def _resumable_setup():
    torch.manual_seed(123)
    model = _dropout_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    # LambdaLR computes the rate from its epoch counter, so a scheduler that is not restored shows
    # (StepLR would hide it: it multiplies the restored optimiser's rate by gamma each step)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 / (1 + epoch))
    return model, opt, sched


def test_checkpoint_resume_matches_uninterrupted_run(tmp_path):
    data = _data()

    # run A: uninterrupted
    model_a, opt_a, sched_a = _resumable_setup()
    history_a = fit(model_a, opt_a, _ce, data, epochs=4, batch_size=8, seed=7,
                    checkpoint=tmp_path / "a.pt", scheduler=sched_a)

    # run B: crashes in the middle of epoch 3 (calls 11-15 are epoch 3; crash on call 13); the
    # same function is called again after the restart (a different loss would be refused)
    calls = {"n": 0, "crash_at": 13}

    def crashing_loss(model, x, y):
        calls["n"] += 1
        if calls["n"] == calls["crash_at"]:
            raise Crash
        return _ce(model, x, y)

    ckpt_b = tmp_path / "b.pt"
    model_b, opt_b, sched_b = _resumable_setup()
    with pytest.raises(Crash):
        fit(model_b, opt_b, crashing_loss, data, epochs=4, batch_size=8, seed=7,
            checkpoint=ckpt_b, scheduler=sched_b)
    assert calls["n"] == 13
    saved = load_checkpoint(ckpt_b)
    assert saved["step"] == 10 and len(saved["history"]) == 2

    # ... and the cell is run again: fresh model, optimiser and scheduler, same checkpoint path
    model_c, opt_c, sched_c = _resumable_setup()
    torch.manual_seed(999)  # the global RNG after a restart is whatever it is
    calls["crash_at"] = None
    history_c = fit(model_c, opt_c, crashing_loss, data, epochs=4, batch_size=8, seed=7,
                    checkpoint=ckpt_b, scheduler=sched_c)

    state_a, state_c = model_a.state_dict(), model_c.state_dict()
    assert state_a.keys() == state_c.keys()
    for k in state_a:
        assert torch.equal(state_a[k], state_c[k]), k
    assert [r["epoch"] for r in history_c] == [0, 1, 2, 3]
    assert [r["loss"] for r in history_c] == [r["loss"] for r in history_a]
    assert sched_c.last_epoch == sched_a.last_epoch == 4
    assert sched_c.get_last_lr() == sched_a.get_last_lr()
    assert opt_c.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]


def test_finished_checkpoint_is_not_trained_again(tmp_path):
    ckpt = tmp_path / "done.pt"
    calls = {"n": 0}

    def counting_loss(model, x, y):
        calls["n"] += 1
        return _ce(model, x, y)

    torch.manual_seed(0)
    model = nn.Linear(D, C)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), counting_loss, _data(), epochs=2,
        batch_size=8, checkpoint=ckpt)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    calls["n"] = 0

    torch.manual_seed(1)
    fresh = nn.Linear(D, C)
    history = fit(fresh, torch.optim.SGD(fresh.parameters(), lr=0.1), counting_loss, _data(),
                  epochs=2, batch_size=8, checkpoint=ckpt)
    assert calls["n"] == 0
    assert len(history) == 2
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, trained[k])


def test_checkpoint_file_is_weights_only_and_no_tmp_left(tmp_path):
    ckpt = tmp_path / "sub" / "model.ckpt"  # the folder does not exist yet
    torch.manual_seed(0)
    model = _dropout_model()
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), _ce, _data(),
        epochs=2, batch_size=8, checkpoint=ckpt, on_epoch_end=lambda e, r: {"acc": 0.5})
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 10
    assert [r["acc"] for r in state["history"]] == [0.5, 0.5]
    for k, v in model.state_dict().items():
        assert torch.equal(state["state"]["model"][k], v)
    # the checkpoint and its inter-process lock file; no temporary file left
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["model.ckpt", "model.ckpt.lock"]


def test_resume_after_on_epoch_end_returned_numpy_scalar(tmp_path):
    ckpt = tmp_path / "np.ckpt"
    x, y = _data()
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    current = {"model": model}

    def score(epoch, record):
        return {"acc": (predict(current["model"], x).argmax(1) == y).numpy().mean()}

    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, (x, y), epochs=1, batch_size=8,
        checkpoint=ckpt, on_epoch_end=score)
    fresh = current["model"] = nn.Linear(D, C)
    history = fit(fresh, torch.optim.SGD(fresh.parameters(), lr=0.1), _ce, (x, y), epochs=2, batch_size=8,
                  checkpoint=ckpt, on_epoch_end=score)
    assert len(history) == 2


def test_save_checkpoint_atomic_replace(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"x": torch.arange(3)})
    save_checkpoint(path, {"x": torch.arange(5)})
    assert torch.equal(load_checkpoint(path)["x"], torch.arange(5))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("data", [
    (torch.zeros(10, D), torch.zeros(9, dtype=torch.int64)),
    (torch.zeros(10, D), torch.zeros(10, dtype=torch.int64), torch.zeros(11)),
])
def test_fit_rejects_mismatched_first_dimension(data):
    model = nn.Linear(D, C)
    with pytest.raises(ValueError, match="first dimension"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, data, epochs=1, batch_size=4)


@pytest.mark.parametrize("epochs", [-1, -10])
def test_fit_rejects_negative_epochs(epochs):
    model = nn.Linear(D, C)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(), epochs=epochs, batch_size=4)


def test_fit_rejects_empty_data():
    model = nn.Linear(D, C)
    with pytest.raises(ValueError, match="data"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, (), epochs=1, batch_size=4)


# ------------------------------------------------------------------------------ minibatches


@pytest.mark.parametrize("n,batch_size", [(40, 8), (37, 8), (5, 10), (1, 1), (0, 3), (10, 1)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_minibatches_cover_every_index_once(n, batch_size, shuffle):
    batches = list(minibatches(n, batch_size, generator=torch.Generator().manual_seed(0), shuffle=shuffle))
    assert len(batches) == -(-n // batch_size)
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert all(len(b) == batch_size for b in batches[:-1])
    flat = torch.cat(batches).tolist() if batches else []
    assert sorted(flat) == list(range(n))
    if not shuffle:
        assert flat == list(range(n))


def test_minibatches_shuffle_depends_on_generator():
    a = torch.cat(list(minibatches(50, 7, generator=torch.Generator().manual_seed(0))))
    b = torch.cat(list(minibatches(50, 7, generator=torch.Generator().manual_seed(0))))
    c = torch.cat(list(minibatches(50, 7, generator=torch.Generator().manual_seed(1))))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, torch.arange(50))


@pytest.mark.parametrize("batch_size", [0, -3])
def test_minibatches_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(10, batch_size))


def test_fit_rejects_batch_size_zero():
    model = nn.Linear(D, C)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(), epochs=1, batch_size=0)


# ---------------------------------------------------------------------------------- predict


def test_predict_equals_eval_forward():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(D, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, C))
    model.train()
    model(torch.randn(32, D))  # move the BatchNorm running statistics away from their defaults
    x = torch.randn(23, D)
    out = predict(model, x, batch_size=5)  # 5 batches, the last one of 3
    model.eval()
    with torch.no_grad():
        expected = model(x)
    assert out.shape == (23, C)
    assert torch.allclose(out, expected, atol=1e-6)
    assert not out.requires_grad


def test_predict_empty_input():
    out = predict(nn.Linear(D, C), torch.zeros(0, D))
    assert out.numel() == 0


# ----------------------------------------------------------------------------- progress bars


@pytest.mark.parametrize("value,disabled", [
    (None, False), ("", False), ("0", False), ("false", False), ("False", False),
    ("1", True), ("true", True), ("yes", True),
])
def test_progress_disabled_reads_tqdm_disable(monkeypatch, value, disabled):
    if value is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", value)
    assert progress_disabled() is disabled


def test_fit_prints_no_bar_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    model = nn.Linear(D, C)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, _data(), epochs=2, batch_size=8, desc="quiet-bar")
    captured = capsys.readouterr()
    assert "quiet-bar" not in captured.err + captured.out


def test_resume_in_another_precision_is_refused(tmp_path):
    """A checkpoint records its precision: resuming a bfloat16 run in float32 (say, a run cache on
    Drive reopened on another GPU type) raises a ValueError naming the difference."""
    from dlcourse.loop import CheckpointError

    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 2, (16,), generator=torch.Generator().manual_seed(1))

    def run(amp, epochs):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        return fit(model, opt, lambda m, xb, yb: F.cross_entropy(m(xb), yb), (x, y),
                   epochs=epochs, batch_size=8, checkpoint=tmp_path / "c.pt", amp=amp)

    run(True, 1)
    with pytest.raises(CheckpointError, match="precision"):
        run(False, 2)


# ------------------------------------------------------------------------------- run (one entry)

def _task(average=False):
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data()
    generator = torch.Generator().manual_seed(3)

    def loss(i):
        index = torch.randint(len(x), (8,), generator=generator)
        value = F.cross_entropy(model(x[index]), y[index])
        return value, {"loss": value}

    from dlcourse.train import Task
    return Task(model, optimizer, loss, data=(x, y), state={"generator": generator},
                average=WeightAverage(model, 0.9) if average else None,
                report=lambda step, record: {"norm": float(model.weight.detach().norm())})


def test_run_records_seconds_since_the_start_and_what_report_adds(tmp_path):
    from dlcourse.train import run
    history = run(_task(), steps=9, every=3, checkpoint=tmp_path / "r.pt")
    assert [r["step"] for r in history] == [3, 6, 9]
    seconds = [r["seconds"] for r in history]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert all("norm" in r and "loss" in r for r in history)


def test_run_resumes_bit_for_bit_with_its_weight_average(tmp_path):
    from dlcourse.train import run
    whole = _task(average=True)
    run(whole, steps=8, every=4)
    part = _task(average=True)
    run(part, steps=4, every=4, checkpoint=tmp_path / "p.pt")
    resumed = _task(average=True)  # a fresh process: new objects, same checkpoint
    history = run(resumed, steps=8, every=4, checkpoint=tmp_path / "p.pt")
    assert [r["step"] for r in history] == [4, 8]
    for a, b in zip(whole.average.average.parameters(), resumed.average.average.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(whole.model.weight, resumed.model.weight)


def test_fit_seconds_are_per_epoch_and_sum_to_the_training_time(tmp_path):
    """fit keeps per-epoch seconds (pages sum them), also across a resume."""
    x, y = _data()
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, (x, y), epochs=2, batch_size=8,
        checkpoint=tmp_path / "f.pt")
    torch.manual_seed(0)
    model = nn.Linear(D, C)
    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _ce, (x, y), epochs=4,
                  batch_size=8, checkpoint=tmp_path / "f.pt")
    total = load_checkpoint(tmp_path / "f.pt")["history"][-1]["seconds"]
    assert all(r["seconds"] > 0 for r in history)
    assert sum(r["seconds"] for r in history) == pytest.approx(total, rel=1e-9)
