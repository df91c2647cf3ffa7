"""The training loops on a CUDA GPU (`python bench/gpu.py`, where one is present): the MNIST-size epoch and
the iris step, timed as bench/loops.py times them on the CPU (medians; the device synchronized around
each timing). Set TINYNETS_FASHION to a folder with Fashion-MNIST's .gz files when Debian's is absent.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

import loops  # bench/ is on sys.path: `python bench/gpu.py` runs from there
import torch

REPEATS = 5


def main() -> None:
    device = torch.device("cuda")
    loops.FASHION = Path(os.environ.get("TINYNETS_FASHION", loops.FASHION))
    with tempfile.TemporaryDirectory() as scratch:
        label, root = loops.image_set(Path(scratch))
        epochs = {
            "ours": loops.tinynets_epoch(root, test_rows=1, device=device),
            "with test": loops.tinynets_epoch(root, test_rows=10000, device=device),
            "floor": loops.gemm_floor_epoch(device),
        }
        for work in epochs.values():  # warm-up: cuBLAS handles, kernels, the caching allocator
            work()
        medians = loops.interleaved_medians(epochs, REPEATS, device)
    loops.tinynets_iris_steps(100, device)
    iris = [loops.tinynets_iris_steps(loops.IRIS_STEPS, device)[0] for _ in range(REPEATS)]
    rows = [
        (f"GPU: MNIST-size epoch, tinynets ({label})", f"{medians['ours'] * 1000:.0f} ms"),
        ("GPU: MNIST-size epoch, tinynets + its 10k-row test loss", f"{medians['with test'] * 1000:.0f} ms"),
        ("GPU: MNIST-size epoch, GEMM floor", f"{medians['floor'] * 1000:.0f} ms"),
        ("GPU: tinynets / GEMM floor", f"{medians['ours'] / medians['floor']:.2f}x"),
        ("GPU: iris step, tinynets (with its test loss)", f"{statistics.median(iris) / loops.IRIS_STEPS * 1e6:.0f} µs"),
    ]
    print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    print("| figure | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows))


if __name__ == "__main__":
    main()
