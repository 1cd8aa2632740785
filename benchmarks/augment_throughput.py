"""Pair-generation throughput: dlcourse.augment (batched tensor ops) vs a torchvision DataLoader.

    python benchmarks/augment_throughput.py [--images 5000] [--device cuda] [--repeats 3]

Both sides produce one augmented view of every image with the same five operations as the IIC
chapter (rotation, shear, crop, binarisation, noise). The alternative is what a Colab notebook
usually does: per-image torchvision transforms inside a DataLoader with two worker processes (Colab
gives two CPU cores), batches then copied to the device. Both run here, in one process, and the
ratio of images per second is printed.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from dlcourse import augment, config, data


class Binarize:
    def __call__(self, x):
        return (x > 0.3 + 0.4 * torch.rand(())).to(x.dtype)


class Noise:
    def __call__(self, x):
        return (x + 0.15 * torch.randn_like(x)).clamp(0, 1)


PER_IMAGE = v2.Compose([
    v2.RandomAffine(degrees=25), v2.RandomAffine(degrees=0, shear=20),
    v2.RandomResizedCrop(28, scale=(0.49, 1.0), ratio=(1.0, 1.0), antialias=True),
    Binarize(), Noise(),
])


class Views(Dataset):
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return PER_IMAGE(self.x[i])


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def batched(x, device, batch):
    x = x.to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    _sync(device)
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        augment.make_view(x[i:i + batch], generator=generator)
    _sync(device)
    return len(x) / (time.perf_counter() - start)


def dataloader(x, device, batch, workers):
    loader = DataLoader(Views(x), batch_size=batch, num_workers=workers, shuffle=True,
                        persistent_workers=False)
    _sync(device)
    start = time.perf_counter()
    for views in loader:
        views.to(device, non_blocking=True)
    _sync(device)
    return len(x) / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=str(config.device()))
    parser.add_argument("--dataset", default="mnist-5k")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    x, _ = data.load(args.dataset, "all")
    x = x[:args.images]
    batched(x[:args.batch], device, args.batch)  # warm-up (CUDA context, kernels)
    fast = max(batched(x, device, args.batch) for _ in range(args.repeats))
    slow = max(dataloader(x, device, args.batch, args.workers) for _ in range(args.repeats))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"{len(x)} {args.dataset} images, device {name}, best of {args.repeats}")
    print(f"dlcourse.augment, batched on the device : {fast:12,.0f} images/s")
    print(f"torchvision per image, DataLoader x{args.workers}   : {slow:12,.0f} images/s")
    print(f"ratio: {fast / slow:.1f}x")


if __name__ == "__main__":
    main()
