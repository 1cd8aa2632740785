"""Estimated GPU time of every chapter's `full` profile, with its basis: ``dlcourse/full_profile.json``.

    python benchmarks/full_profile_estimate.py [--out dlcourse/full_profile.json] [--batch-scale 1]

For each chapter's full recipe (``dlcourse/recipes.py``: model at its real width, loss,
batch size, number of steps), one training step (forward + backward of the chapter's loss, on a
random batch at the real batch size, on CPU) is counted with ``torch.utils.flop_counter``, then

    minutes = steps per run x runs x (FLOPs per step / effective throughput + overhead per step),

with the effective throughput a stated fraction (UTILISATION) of a GPU's dense tensor-core peak
and a fixed overhead per step (Python, kernel launches, optimiser: small networks are bound by it).
The same step is timed on this CPU (``cpu_steps_per_s`` at ``cpu_batch``; ``--batch-scale`` below 1
counts and times a smaller batch, and scales the FLOPs linearly, when the real batch is too slow). FlopCounterMode counts matrix
multiplications and convolutions only (augmentation, normalisation and the optimiser are left
out), and small networks rarely reach 30% of a tensor-core peak: read the minutes as an order of
magnitude. ``benchmarks/gpu_check.py`` measures the real steps/s on a GPU.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dlcourse" / "full_profile.json"

# Dense tensor-core peaks (FLOP/s) from the vendors' data sheets, and the fraction assumed reached.
GPUS = {
    "t4": dict(name="T4 (Colab's free GPU)", peak=65e12, precision="fp16"),
    "a100": dict(name="A100", peak=312e12, precision="bf16"),
}
UTILISATION = 0.30
STEP_OVERHEAD_S = 0.002  # a small network's step rarely beats ~500 steps/s, whatever its FLOPs

# How many runs of the recipe's length a chapter's full profile makes, counted from the chapter.
RUNS = {
    "01_mutual_information": (1, "one classifier"),
    "02_iic": (3 + 7 * 2000 / 6000, "3 seeds x 6,000 steps + 7 ablation runs x 2,000 steps "
                                    "(5 single transforms, alpha 2 and 10)"),
    "03_imbalanced_losses": (42, "14 table rows x 3 seeds"),
    "04_superclass_loss": (55, "15 seeds each of soft and plain + 5 each of hard, intervals, "
                              "lr 1e-2, lambda 0.3 and 3"),
    "05_remixmatch": (3 + 9 + 8 / 4, "supervised, MixMatch, ReMixMatch at 250 labels + the three "
                                     "on 3 splits of 40 labels at 2^16 steps + 8 ablation runs at "
                                     "2^14 (every run counted at ReMixMatch's cost)"),
    "06_realnvp": (1, "one run"),
    "07_autoencoders": (6, "5 code sizes + 1 denoiser, each counted at the largest code (32)"),
}


def load_recipes() -> dict:
    """``RECIPES`` of :mod:`dlcourse.recipes`."""
    from dlcourse.recipes import RECIPES
    return RECIPES


def training_step(recipe, batch_size: int, device, seed: int = 0):
    """A model, its optimiser and a closure that takes one training step on one fixed random batch."""
    from dlcourse.recipes import optimizer_step
    from dlcourse.loop import precision_for

    torch.manual_seed(seed)
    model = recipe.build_model().to(device)
    optimizer = recipe.make_optimizer(model)
    loss = recipe.make_loss(device)
    generator = torch.Generator().manual_seed(seed)
    batch = recipe.random_batch(batch_size, device, generator)
    precision = precision_for(torch.device(device))
    return lambda: optimizer_step(model, optimizer, loss, batch, device, precision)


def count_and_time(recipe, batch_size: int, device="cpu") -> tuple[float, float]:
    """FLOPs of one training step (forward + backward) and the measured steps/s of a second one."""
    step = training_step(recipe, batch_size, torch.device(device))
    with FlopCounterMode(display=False) as counter:
        step()
    start = time.perf_counter()
    step()
    return float(counter.get_total_flops()), 1.0 / (time.perf_counter() - start)


def gpu_minutes(record: dict, runs_basis: str, model: str) -> dict:
    """Add the GPU minutes and the basis sentence to ``record`` (flops_per_step, steps, runs, batch)."""
    flops, steps, runs = record["flops_per_step"], record["steps"], record["runs"]
    for key, gpu in GPUS.items():
        per_step = flops / (gpu["peak"] * UTILISATION) + STEP_OVERHEAD_S
        record[f"{key}_minutes"] = round(steps * runs * per_step / 60, 2)
        record[f"{key}_minutes_per_run"] = round(steps * per_step / 60, 2)
    scaled = "" if record["cpu_batch"] == record["batch"] else \
        f", counted at batch {record['cpu_batch']} and scaled linearly"
    record["basis"] = (
        f"{flops / 1e9:,.1f} GFLOP per step (matmul/conv, forward+backward of `{model}` at batch "
        f"{record['batch']}{scaled}) x {steps:,} steps x {runs:.3g} runs ({runs_basis}) at "
        f"{UTILISATION:.0%} of the {GPUS['t4']['precision']} tensor-core peak "
        f"({GPUS['t4']['peak'] / 1e12:.0f} TFLOP/s T4, {GPUS['a100']['peak'] / 1e12:.0f} TFLOP/s A100 "
        f"{GPUS['a100']['precision']}) plus {STEP_OVERHEAD_S * 1e3:g} ms per step; an order of "
        f"magnitude, not a measurement")
    return record


def estimate(recipe, batch_scale: float = 1.0, counted_flops: dict | None = None) -> dict:
    """The record of one chapter (see the module docstring). ``counted_flops`` (an earlier record)
    reuses its FLOPs and CPU figures instead of counting again."""
    if not (0 < batch_scale <= 1):
        raise ValueError(f"batch_scale must be in (0, 1], got {batch_scale!r}")
    if counted_flops:
        flops, cpu_rate, counted = (counted_flops[k] for k in ("flops_per_step", "cpu_steps_per_s", "cpu_batch"))
    else:
        counted = max(2, round(recipe.batch_size * batch_scale))
        flops, cpu_rate = count_and_time(recipe, counted)
        flops *= recipe.batch_size / counted  # FLOPs grow linearly with the batch
    runs, runs_basis = RUNS.get(recipe.chapter, (1, "one run"))
    record = dict(flops_per_step=flops, steps=recipe.total_steps, batch=recipe.batch_size,
                  runs=round(runs, 2), cpu_steps_per_s=round(cpu_rate, 4), cpu_batch=counted)
    return gpu_minutes(record, runs_basis, recipe.model)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--batch-scale", type=float, default=1.0,
                        help="count at this fraction of the real batch (FLOPs scaled linearly)")
    parser.add_argument("--chapters", nargs="*", help="only these chapters (default: every recipe)")
    parser.add_argument("--reuse-counts", action="store_true",
                        help="take FLOPs and CPU figures from --out, recompute only the minutes")
    args = parser.parse_args(argv)
    earlier = json.loads(args.out.read_text(encoding="utf-8"))["chapters"] if args.reuse_counts else {}
    torch.set_num_threads(max(1, torch.get_num_threads()))
    recipes = load_recipes()
    records = {}
    for name, recipe in recipes.items():
        if args.chapters and name not in args.chapters:
            continue
        start = time.perf_counter()
        records[name] = estimate(recipe, args.batch_scale, earlier.get(name))
        r = records[name]
        print(f"{name:24s} {r['flops_per_step'] / 1e9:9.1f} GFLOP/step x {r['steps']:>7,} x {r['runs']:>5} runs"
              f" -> T4 {r['t4_minutes']:8.1f} min, A100 {r['a100_minutes']:7.1f} min"
              f"  (cpu {r['cpu_steps_per_s']:.3f} steps/s at batch {r['cpu_batch']}; "
              f"{time.perf_counter() - start:.0f} s)")
    if args.chapters and args.out.exists():  # the other chapters keep their estimates
        records = {**json.loads(args.out.read_text(encoding="utf-8"))["chapters"], **records}
    payload = {"utilisation": UTILISATION, "step_overhead_s": STEP_OVERHEAD_S, "gpus": GPUS,
               "made_by": "benchmarks/full_profile_estimate.py", "chapters": records}
    args.out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
