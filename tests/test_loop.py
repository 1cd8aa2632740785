"""Tests of dlcourse.loop.run_steps and of the checkpoints of its three users (train.fit,
iic.train, ssl.fit_ssl): exact resume, checkpoints that say what they are, NaN stop."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import flows, iic, loop, models, ssl, train
from dlcourse.loop import CheckpointError, TrainingDiverged, load_checkpoint, run_steps


class Crash(Exception):
    pass


def _regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 3, generator=g)
    return x, x @ torch.tensor([1.0, -2.0, 0.5])


def _stepper(model, optimizer, generator, data, crash_at=None, nan_at=None):
    x, y = data

    def step(i):
        if i == crash_at:
            raise Crash
        index = torch.randint(len(x), (8,), generator=generator)
        noise = torch.randn(8) * 0.01  # global RNG: must be restored on resume
        loss = F.mse_loss(model(x[index]).squeeze(1), y[index] + noise)
        if i == nan_at:
            loss = loss * math.nan
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, {"loss": loss, "half": loss / 2}
    return step


def _setup(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    return model, optimizer, generator


def _run(tmp_path, name, steps, crash_at=None, nan_at=None, settings=None, every=4,
         checkpoint_every=3):
    model, optimizer, generator = _setup()
    step = _stepper(model, optimizer, generator, _regression(), crash_at, nan_at)
    history = run_steps(step, steps=steps, every=every, checkpoint_every=checkpoint_every,
                        checkpoint=tmp_path / name, settings=settings or {"lr": 0.05},
                        state={"model": model, "optimizer": optimizer, "generator": generator})
    return model, history


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    """Checkpoints between records (step 9 of records every 4) carry the running means too."""
    straight, history = _run(tmp_path, "a.pt", 14)
    with pytest.raises(Crash):
        _run(tmp_path, "b.pt", 14, crash_at=10)
    assert load_checkpoint(tmp_path / "b.pt")["step"] == 9
    resumed, history_b = _run(tmp_path, "b.pt", 14)
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k])
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in history_b]
    assert [r["step"] for r in history] == [4, 8, 12, 14]
    # a record's loss is the mean of the steps since the previous record
    assert history[0]["half"] == pytest.approx(history[0]["loss"] / 2)


def test_finished_checkpoint_returns_without_training(tmp_path):
    _, history = _run(tmp_path, "a.pt", 8)
    model, again = _run(tmp_path, "a.pt", 8, crash_at=0)  # would crash if it trained
    assert again == history


def test_more_steps_continue_a_finished_run(tmp_path):
    _run(tmp_path, "a.pt", 8)
    _, history = _run(tmp_path, "a.pt", 12)
    assert [r["step"] for r in history] == [4, 8, 12]


def test_fewer_steps_than_the_checkpoint_raise(tmp_path):
    _run(tmp_path, "a.pt", 8)
    with pytest.raises(ValueError, match=r"a\.pt.*8 steps.*4.*delete"):
        _run(tmp_path, "a.pt", 4)


def test_other_settings_raise_naming_the_difference(tmp_path):
    _run(tmp_path, "a.pt", 8)
    with pytest.raises(CheckpointError, match=r"a\.pt.*lr: 0\.05 there, 0\.1 now.*delete"):
        _run(tmp_path, "a.pt", 8, settings={"lr": 0.1})


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_checkpoint_names_file_and_fix(tmp_path, damage):
    _run(tmp_path, "a.pt", 8)
    path = tmp_path / "a.pt"
    content = path.read_bytes()
    path.write_bytes({"truncate": content[: len(content) // 2], "garbage": b"not a torch file",
                      "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=r"a\.pt.*damaged.*delete"):
        _run(tmp_path, "a.pt", 8)


def test_old_format_checkpoint_raises(tmp_path):
    torch.save({"model": {}, "step": 3}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match=r"old\.pt.*older dlcourse"):
        _run(tmp_path, "old.pt", 8)


def test_nan_stops_at_that_step_without_checkpoint(tmp_path):
    with pytest.raises(TrainingDiverged, match=r"step 7 .*learning rate") as info:
        _run(tmp_path, "a.pt", 14, nan_at=6)
    assert isinstance(info.value, FloatingPointError)
    saved = load_checkpoint(tmp_path / "a.pt")
    assert saved["step"] == 6  # the last checkpoint, made before the NaN
    assert all(torch.isfinite(v).all() for v in saved["state"]["model"].values())


def test_cuda_rng_saved_and_restored(tmp_path, monkeypatch):
    """With CUDA present the CUDA random state travels in the checkpoint (mocked here)."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [torch.arange(4, dtype=torch.uint8)])
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", calls.append)
    _run(tmp_path, "a.pt", 4)
    assert torch.equal(load_checkpoint(tmp_path / "a.pt")["cuda_rng"][0], torch.arange(4, dtype=torch.uint8))
    _run(tmp_path, "a.pt", 8)
    assert len(calls) == 1 and torch.equal(calls[0][0], torch.arange(4, dtype=torch.uint8))


@pytest.mark.parametrize("kwargs, name", [({"steps": -1}, "steps"), ({"steps": 1.5}, "steps"),
                                          ({"steps": 2, "every": -1}, "every"),
                                          ({"steps": 2, "checkpoint_every": math.nan}, "checkpoint_every")])
def test_run_steps_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        run_steps(lambda i: (torch.tensor(0.0), {}), state={}, **kwargs)


def test_settings_must_be_json():
    with pytest.raises(ValueError, match="settings"):
        run_steps(lambda i: (torch.tensor(0.0), {}), steps=1, state={}, settings={"f": object()})


# ------------------------------------------------------------------ the loop's three users

def _fit(path, epochs, lr=0.1, loss_scale=1.0, data=None):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(1)) if data is None else data
    y = (x[:, 0] > 0).long()
    return train.fit(model, torch.optim.SGD(model.parameters(), lr=lr),
                     lambda m, xb, yb: F.cross_entropy(m(xb), yb) * loss_scale, (x, y),
                     epochs=epochs, batch_size=8, checkpoint=path)


def test_fit_checkpoint_records_settings_and_refuses_others(tmp_path):
    path = tmp_path / "fit.pt"
    _fit(path, 3)
    with pytest.raises(ValueError, match=r"fit\.pt.*more than"):
        _fit(path, 2)
    with pytest.raises(ValueError, match=r"fit\.pt.*lr.*delete"):
        _fit(path, 3, lr=0.2)
    assert len(_fit(path, 3)) == 3


def test_fit_stops_on_nan_weight_and_writes_nothing(tmp_path):
    path = tmp_path / "fit.pt"
    with pytest.raises(TrainingDiverged, match="step 1 "):
        _fit(path, 2, loss_scale=math.nan)
    assert not path.exists()


def test_fit_stops_on_infinite_weights_and_keeps_the_last_finite_ones(tmp_path):
    """lr = 1e9 gives a finite first loss and infinite weights: stopped, nothing written, and the
    model holds the weights of the last record (here: the start)."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(1)) * 1e30
    y = (x[:, 0] > 0).long()
    with pytest.raises(TrainingDiverged, match=r"(weights hold NaN or inf|the loss is).*step"):
        train.fit(model, torch.optim.SGD(model.parameters(), lr=1e9),
                  lambda m, xb, yb: F.cross_entropy(m(xb), yb), (x, y), epochs=2, batch_size=40,
                  checkpoint=tmp_path / "fit.pt")
    assert not (tmp_path / "fit.pt").exists()
    assert all(torch.equal(model.state_dict()[k], start[k]) for k in start)


def test_diverged_run_keeps_the_weights_of_the_last_copy_checked_finite(tmp_path, monkeypatch):
    """A copy of the state is taken every CHECK_EVERY steps (here 4), not at every record."""
    monkeypatch.setattr(loop, "CHECK_EVERY", 4)
    model, optimizer, generator = _setup()
    step = _stepper(model, optimizer, generator, _regression(), nan_at=6)
    with pytest.raises(TrainingDiverged, match="step 7 .*weights of step 4"):
        run_steps(step, steps=14, every=4, state={"model": model, "optimizer": optimizer,
                                                   "generator": generator})
    reference, _ = _run(tmp_path, "ref.pt", 4)
    assert all(torch.equal(model.state_dict()[k], reference.state_dict()[k])
               for k in reference.state_dict())


def test_load_checkpoint_names_a_bad_map_location_not_the_file(tmp_path):
    _run(tmp_path, "a.pt", 4)
    with pytest.raises(ValueError, match="map_location") as info:
        load_checkpoint(tmp_path / "a.pt", map_location="bogus")
    assert not isinstance(info.value, CheckpointError) and "damaged" not in str(info.value)


@pytest.mark.parametrize("content", ["text", [1, 2], 3])
def test_load_checkpoint_of_something_else_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "x.pt"
    if isinstance(content, str):
        path.write_text("a text file\n")
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=r"x\.pt"):
        load_checkpoint(path)


def test_fit_stops_on_nan_data(tmp_path):
    x = torch.randn(40, 3)
    x[5, 1] = math.inf
    with pytest.raises(TrainingDiverged, match="NaN/inf in the data"):
        _fit(None, 2, data=x)


def _iic(path, steps, x=None):
    torch.manual_seed(0)
    model = models.IICNet(in_channels=1, num_clusters=3, num_subheads=1, widths=(4, 4, 4, 4))
    x = torch.rand(16, 1, 16, 16, generator=torch.Generator().manual_seed(0)) if x is None else x
    return iic.train(model, x, steps=steps, batch_size=8, every=2, checkpoint=path,
                     ops=("noise",))


def test_iic_train_refuses_a_longer_checkpoint(tmp_path):
    path = tmp_path / "iic.pt"
    _iic(path, 4)
    with pytest.raises(ValueError, match=r"iic\.pt.*4 steps.*2"):
        _iic(path, 2)


def test_iic_train_stops_on_nan(tmp_path):
    """NaN images end in TrainingDiverged naming the step, whichever inner check sees them first."""
    x = torch.rand(16, 1, 16, 16)
    x[:] = math.nan
    with pytest.raises(TrainingDiverged, match=r"step 1 .*NaN or inf"):
        _iic(tmp_path / "iic.pt", 4, x)
    assert not (tmp_path / "iic.pt").exists()


def test_iic_train_resumed_with_other_images_is_refused(tmp_path):
    path = tmp_path / "iic.pt"
    _iic(path, 2)
    with pytest.raises(CheckpointError, match=r"iic\.pt.*data"):
        _iic(path, 4, torch.rand(16, 1, 16, 16))


def _ssl(path, steps, lambda_u=75.0, x_l=None):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    g = torch.Generator().manual_seed(0)
    x_l = torch.rand(6, 1, 4, 4, generator=g) if x_l is None else x_l
    y_l = torch.tensor([0, 1, 2, 0, 1, 2])
    method = ssl.MixMatch(3, K=2, lambda_u=lambda_u, warmup=2)
    return ssl.fit_ssl(method, model, torch.optim.Adam(model.parameters(), 1e-3), (x_l, y_l),
                       torch.rand(10, 1, 4, 4, generator=g), steps=steps, batch_size=4,
                       eval_every=2, checkpoint_every=2, checkpoint=path)


def test_fit_ssl_refuses_other_method_settings(tmp_path):
    path = tmp_path / "ssl.pt"
    _ssl(path, 2)
    with pytest.raises(ValueError, match=r"ssl\.pt.*lambda_u.*75.*10"):
        _ssl(path, 2, lambda_u=10.0)


def test_fit_ssl_resumed_with_other_labelled_images_is_refused(tmp_path):
    path = tmp_path / "ssl.pt"
    _ssl(path, 2)
    with pytest.raises(CheckpointError, match=r"ssl\.pt.*data"):
        _ssl(path, 4, x_l=torch.rand(6, 1, 4, 4))


def test_fit_ssl_stops_on_nan_data(tmp_path):
    x_l = torch.full((6, 1, 4, 4), math.nan)
    with pytest.raises(TrainingDiverged, match="step 1 "):
        _ssl(tmp_path / "ssl.pt", 4, x_l=x_l)
    assert not (tmp_path / "ssl.pt").exists()


# --------------------------------------------------------------------------- weight average

def test_weight_average_is_the_exponential_average_with_its_warm_up():
    """Against a direct computation of the recursion on the weight history."""
    model = flows.make_realnvp((2,), num_couplings=1, hidden=3, norm="actnorm")
    avg = train.WeightAverage(model, decay=0.6)
    gen = torch.Generator().manual_seed(0)
    history = []
    for _ in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
            model.layers[1].initialized.fill_(float(len(history)))
        history.append([p.detach().clone() for p in model.parameters()])
        avg.update(model)
    expected = [w.clone() for w in history[0]]  # the first update copies
    for n, weights in enumerate(history[1:], start=1):
        d = min(0.6, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * w for e, w in zip(expected, weights)]
    for e, a in zip(expected, avg.average.parameters()):
        torch.testing.assert_close(a, e)
        assert not a.requires_grad
    assert avg.average.layers[1].initialized.item() == 4.0  # buffers are copied
    assert int(avg.updates) == 5
    assert not avg.train().average.training
    state = {k for k in torch.nn.ModuleDict({"m": model, "a": avg}).state_dict()}
    assert "a.updates" in state and any(k.startswith("a.average.") for k in state)


def test_weight_average_rejects_another_model():
    avg = train.WeightAverage(flows.make_realnvp((2,), num_couplings=1, hidden=3))
    with pytest.raises(ValueError, match="parameters"):
        avg.update(flows.make_realnvp((2,), num_couplings=1, hidden=4))
    with pytest.raises(ValueError, match="decay"):
        train.WeightAverage(torch.nn.Linear(2, 2), decay=1.0)


def test_weight_average_without_warm_up_is_the_plain_exponential_average():
    """The semi-supervised papers' EMA (``ssl.fit_ssl``): d = decay from the first update."""
    model = torch.nn.Linear(2, 1)
    ema = train.WeightAverage(model, decay=0.9, warmup=False)
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.average.weight, 0.9 * before + 0.1 * (before + 1))
    with pytest.raises(ValueError, match="warmup"):
        train.WeightAverage(model, warmup="no")


def test_a_non_finite_loss_is_read_lazily_and_named_by_its_step():
    """No step reads the loss's finiteness (a device sync): it is kept on the device and read every
    CHECK_EVERY steps (and at records and checkpoints); the error names the step it first failed."""
    from dlcourse import loop

    model, optimizer, generator = _setup()
    calls = []
    step = _stepper(model, optimizer, generator, _regression(), nan_at=5)

    def counted(i):
        calls.append(i)
        return step(i)
    with pytest.raises(TrainingDiverged, match=r"step 6 \(of 120\)"):
        run_steps(counted, steps=120, state={"model": model, "optimizer": optimizer,
                                             "generator": generator})
    assert len(calls) == loop.CHECK_EVERY
