"""Tests of dlcourse.loop.precision_for (one decision of mixed precision for every GPU) and of
computing in the input's dtype (flows' prior)."""
import math

import pytest
import torch

from dlcourse import flows
from dlcourse.loop import precision_for


def _fake_gpu(monkeypatch, capability):
    """Pretend a CUDA device of the given compute capability is present."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    # what must NOT decide: recent PyTorch says True on a T4, where bfloat16 is emulated
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


@pytest.mark.parametrize("capability, dtype, scaled", [
    ((9, 0), torch.bfloat16, False),   # H100/H200
    ((8, 0), torch.bfloat16, False),   # A100
    ((8, 6), torch.bfloat16, False),   # RTX 30xx
    ((7, 5), torch.float16, True),     # T4
    ((7, 0), torch.float16, True),     # V100
    ((6, 0), torch.float16, True),     # P100
])
def test_cuda_precision_follows_compute_capability(monkeypatch, capability, dtype, scaled):
    _fake_gpu(monkeypatch, capability)
    p = precision_for(torch.device("cuda"))
    assert p.dtype is dtype
    assert p.scaler.is_enabled() is scaled
    assert p.device_type == "cuda"


def test_cuda_precision_can_be_switched_off(monkeypatch):
    _fake_gpu(monkeypatch, (7, 5))
    p = precision_for("cuda:0", enabled=False)
    assert p.dtype is None and not p.scaler.is_enabled()


def test_cpu_precision_off_unless_asked():
    p = precision_for("cpu")
    assert p.dtype is None and not p.scaler.is_enabled()
    with p.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_cpu_precision_when_asked_is_bfloat16_autocast():
    p = precision_for(torch.device("cpu"), enabled=True)
    assert p.dtype is torch.bfloat16 and not p.scaler.is_enabled()
    with p.autocast():  # a fresh context each time: usable twice
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with p.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16


@pytest.mark.parametrize("bad", ["yes", 1.0, math.nan])
def test_precision_rejects_bad_enabled(bad):
    with pytest.raises(ValueError, match="enabled"):
        precision_for("cpu", enabled=bad)


def test_flow_prior_keeps_float64():
    """log p(x) of a float64 flow in float64, against an independent float64 computation:
    standard-normal log-density of z plus log|det J| from autograd's Jacobian."""
    torch.manual_seed(0)
    flow = flows.CouplingStack(2, num_couplings=3, hidden=8).double()
    flow.eval()
    x = torch.randn(5, 2, dtype=torch.float64)
    got = flow.log_prob(x)
    assert got.dtype == torch.float64
    z, _ = flow(x)
    expected = []
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        prior = (-0.5 * z[i] ** 2 - 0.5 * math.log(2 * math.pi)).sum()
        expected.append(prior + torch.linalg.slogdet(jac)[1])
    torch.testing.assert_close(got, torch.stack(expected).detach(), rtol=1e-12, atol=1e-12)
