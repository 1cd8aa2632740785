"""Tests of dlcourse.config: profile, pick, dataset choice, seeding and the provenance banner."""
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from dlcourse import config

ENV_VARS = ("DLCOURSE_PROFILE", "DLCOURSE_DATASET", "DLCOURSE_DEVICE", "DLCOURSE_PROVENANCE_FILE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Every test starts without any DLCOURSE_* setting from the caller's shell."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------------- profile


@pytest.mark.parametrize("value,expected", [
    ("smoke", "smoke"), ("quick", "quick"), ("full", "full"),
    ("SMOKE", "smoke"), ("Quick", "quick"), ("FuLL", "full"), ("  full\n", "full"),
])
def test_profile_from_env(monkeypatch, value, expected):
    monkeypatch.setenv("DLCOURSE_PROFILE", value)
    assert config.profile() == expected


def test_profile_default_without_cuda_is_quick(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.profile() == "quick"


def test_profile_default_with_cuda_is_quick(monkeypatch):
    """full is opt-in: a Colab GPU must not start hours of training by default."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.profile() == "quick"


@pytest.mark.parametrize("cuda, env, expected", [
    (True, "  ", "quick"),     # blank counts as unset, also on a GPU
    (False, "", "quick"),
    (True, "full", "full"),    # full only when asked
    (True, "smoke", "smoke"),  # the setting wins over the device
])
def test_profile_from_setting_and_device(monkeypatch, cuda, env, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setenv("DLCOURSE_PROFILE", env)
    assert config.profile() == expected


@pytest.mark.parametrize("value", ["fast", "quick2", "smoke,quick"])
def test_profile_unknown_raises(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_PROFILE", value)
    with pytest.raises(ValueError, match="DLCOURSE_PROFILE"):
        config.profile()


# ------------------------------------------------------------------------------------- pick


@pytest.mark.parametrize("name,expected", [("smoke", 1), ("quick", 15), ("full", 100)])
def test_pick_follows_profile(monkeypatch, name, expected):
    monkeypatch.setenv("DLCOURSE_PROFILE", name)
    assert config.pick(smoke=1, quick=15, full=100) == expected


def test_pick_returns_object_itself(monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROFILE", "full")
    sentinel = object()
    assert config.pick(smoke=None, quick=None, full=sentinel) is sentinel


def test_pick_default_profile(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.pick(smoke="s", quick="q", full="f") == "q"


def test_pick_unknown_profile_raises(monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROFILE", "huge")
    with pytest.raises(ValueError, match="DLCOURSE_PROFILE"):
        config.pick(smoke=1, quick=2, full=3)


# ---------------------------------------------------------------------------------- dataset

CHOICES = dict(smoke="digits", quick="mnist-5k", full="mnist")


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_dataset_follows_profile(monkeypatch, name):
    monkeypatch.setenv("DLCOURSE_PROFILE", name)
    assert config.dataset(**CHOICES) == CHOICES[name]


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_dataset_override(monkeypatch, name):
    monkeypatch.setenv("DLCOURSE_PROFILE", name)
    monkeypatch.setenv("DLCOURSE_DATASET", "fashion-mnist")
    assert config.dataset(**CHOICES) == "fashion-mnist"


def test_dataset_override_strips_whitespace(monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROFILE", "full")
    monkeypatch.setenv("DLCOURSE_DATASET", " iris ")
    assert config.dataset(**CHOICES) == "iris"


@pytest.mark.parametrize("value", ["imagenet", "mnist5k", "MNIST-5K"])
def test_dataset_unknown_override_raises(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_PROFILE", "quick")
    monkeypatch.setenv("DLCOURSE_DATASET", value)
    with pytest.raises(ValueError, match="DLCOURSE_DATASET"):
        config.dataset(**CHOICES)


# --------------------------------------------------------------------------------- set_seed


def _draw():
    return torch.rand(5).tolist(), np.random.rand(5).tolist(), [random.random() for _ in range(5)]


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 7])
def test_set_seed_repeats_all_generators(seed):
    config.set_seed(seed)
    first = _draw()
    _draw()  # move every generator on
    config.set_seed(seed)
    assert _draw() == first


def test_set_seed_different_seeds_differ():
    config.set_seed(1)
    a = _draw()
    config.set_seed(2)
    b = _draw()
    for x, y in zip(a, b):
        assert x != y


@pytest.mark.parametrize("seed", [-1, -2**40, 1.5, "3", None])
def test_set_seed_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        config.set_seed(seed)


# ----------------------------------------------------------------------------------- banner

KEYS = {"profile", "device", "dataset", "dlcourse", "date"}


def _banner_output(monkeypatch, capsys, profile, dataset_name):
    monkeypatch.setenv("DLCOURSE_PROFILE", profile)
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    info = config.banner(dataset_name) if dataset_name else config.banner()
    return info, capsys.readouterr().out


@pytest.mark.parametrize("dataset_name", ["mnist-5k", None])
def test_banner_prints_two_short_lines(monkeypatch, capsys, dataset_name):
    _, out = _banner_output(monkeypatch, capsys, "smoke", dataset_name)
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert all(len(line) <= 88 for line in lines), out  # fits the book's code width


def test_banner_line_mentions_profile_and_dataset(monkeypatch, capsys):
    info, out = _banner_output(monkeypatch, capsys, "smoke", "mnist-5k")
    first = out.splitlines()[0]
    assert "profile=smoke" in first
    assert "mnist-5k" in first
    assert KEYS <= set(info)
    assert info["profile"] == "smoke"
    assert info["dataset"] == "mnist-5k"
    assert info["device"].startswith("cpu")


def test_banner_without_dataset(monkeypatch, capsys):
    info, out = _banner_output(monkeypatch, capsys, "quick", None)
    assert "profile=quick" in out
    assert info["dataset"] == "-"


def test_banner_writes_provenance_file(monkeypatch, capsys, tmp_path):
    target = tmp_path / "provenance.json"
    monkeypatch.setenv("DLCOURSE_PROVENANCE_FILE", str(target))
    monkeypatch.setenv("DLCOURSE_PROFILE", "full")
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    info = config.banner("digits")
    capsys.readouterr()
    record = json.loads(target.read_text(encoding="utf-8"))
    assert KEYS <= set(record)
    assert record["profile"] == "full"
    assert record["dataset"] == "digits"
    assert record["device"].startswith("cpu")
    assert record == info
    import dlcourse
    assert record["dlcourse"] == dlcourse.__version__


def test_banner_without_provenance_env_writes_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    config.banner("iris")
    capsys.readouterr()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------- device


def test_device_forced_by_env(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device() == torch.device("cpu")


def test_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.device().type == "cuda"


# ------------------------------------------------------------------ full-profile estimate

ESTIMATE_FILE = Path(config.__file__).with_name("full_profile.json")
CHAPTERS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "chapters").glob("[0-9][0-9]_*.md")
                  if not p.stem.endswith("_lab"))  # a chapter's estimate covers its lab page


@pytest.mark.skipif(not ESTIMATE_FILE.exists(), reason="benchmarks/full_profile_estimate.py not run yet")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_full_profile_estimate_is_consistent(chapter):
    """Minutes = steps x runs x (FLOPs/step / (utilisation x peak) + overhead): recomputed here."""
    record = config.full_profile_estimate(chapter)
    assert record is not None, f"no estimate for {chapter}: rerun benchmarks/full_profile_estimate.py"
    payload = json.loads(ESTIMATE_FILE.read_text(encoding="utf-8"))
    for gpu in ("t4", "a100"):
        rate = payload["utilisation"] * payload["gpus"][gpu]["peak"]
        per_step = record["flops_per_step"] / rate + payload["step_overhead_s"]
        expected = record["steps"] * record["runs"] * per_step / 60
        assert record[f"{gpu}_minutes"] == pytest.approx(expected, abs=0.006, rel=0.01)
    assert record["t4_minutes"] >= record["a100_minutes"] > 0
    assert record["flops_per_step"] > 0 and record["steps"] > 0 and record["batch"] > 0
    assert "GFLOP" in record["basis"]


def test_full_profile_estimate_unknown_chapter_is_none():
    assert config.full_profile_estimate("99_no_such_chapter") is None


@pytest.mark.parametrize("chapter", [None, 2, "", "  "])
def test_full_profile_estimate_rejects_bad_name(chapter):
    with pytest.raises(ValueError, match="chapter"):
        config.full_profile_estimate(chapter)


def test_banner_states_the_full_profile_estimate_outside_full(monkeypatch, capsys):
    monkeypatch.delenv("DLCOURSE_PROVENANCE_FILE", raising=False)
    monkeypatch.setenv("DLCOURSE_PROFILE", "quick")
    record = config.full_profile_estimate("02_iic")
    config.banner("mnist-5k", chapter="02_iic")
    out = capsys.readouterr().out
    assert "full profile (opt-in, GPU): about" in out
    assert config._minutes(record["t4_minutes"]) in out
    monkeypatch.setenv("DLCOURSE_PROFILE", "full")
    config.banner("mnist", chapter="02_iic")
    assert "full profile (opt-in" not in capsys.readouterr().out
