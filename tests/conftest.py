"""Shared helpers: copies of the project in temporary git repos, driven through the real CLIs."""

from __future__ import annotations

import os

# Each pytest-xdist worker's processes get their share of the cores: torch, MKL and OpenBLAS would otherwise
# each run one thread per core in every worker. Set in the workers alone (the controller starts them with its
# environment), before numpy (below) or torch is imported; a value the user set is kept.
if "PYTEST_XDIST_WORKER" in os.environ:
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_variable, _share)

import contextlib
import fcntl
import gzip
import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = [
    "dvc.yaml",
    "params.yaml",
    ".dvcignore",
    ".gitignore",
    "pyproject.toml",
    "stages",
    "tinynets",
    "data/own",
    "search/README.md",
]


def tool_env(repo: Path) -> dict[str, str]:
    """The environment a user of the venv has, importing the package from `repo`."""
    env = dict(os.environ)
    for variable in ("TINYNETS_CHECKPOINT_SECONDS", "TINYNETS_PAUSE_AFTER_CHECKPOINT"):  # a test sets its own
        env.pop(variable, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: stages write __pycache__/ in code folders
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(repo)
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def run(repo: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in `repo` and capture its output; fail the test with that output if it fails."""
    result = subprocess.run(command, cwd=repo, env=tool_env(repo), capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def make_repo(target: Path, params: dict) -> Path:
    """A fresh git + DVC repo holding the project's code and the given params."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.csv*", ".gitignore"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    write_params(target, params)
    run(target, "git", "init", "-q")
    run(target, "git", "config", "user.email", "tests@tinynets")
    run(target, "git", "config", "user.name", "tinynets tests")
    run(target, "dvc", "init", "-q")
    for name in ("config", ".gitignore", "plots.html"):  # the offline `dvc plots show` page (make setup)
        shutil.copy(ROOT / ".dvc" / name, target / ".dvc" / name)
    shutil.copytree(ROOT / ".dvc/plots", target / ".dvc/plots")  # the dynamics plot's template
    run(target, "git", "add", "-A")
    run(target, "git", "commit", "-qm", "project")
    return target


def default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write_params(repo: Path, params: dict) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def tiny_params(run_list: list[str]) -> dict:
    """The default params with few epochs, so a whole pipeline runs in seconds."""
    params = default_params()
    params["run"] = run_list
    epochs = {"iris": 300, "mnist": 1, "circles": 300, "noise_linear": 20, "noise_sigmoid": 20, "sum30": 2}
    epochs |= {"fashion_mnist": 1, "fashion_cnn": 1, "mnist_cnn": 2, "sum30_rnn": 1}
    for name, count in epochs.items():
        params["datasets"][name]["train"]["epochs"] = count
    params["datasets"]["iris"]["train"]["lr"] = 0.5
    params["datasets"]["circles"]["train"]["lr"] = 0.5
    params["datasets"]["mnist"]["data"]["use"] = "sample"
    params["device"] = "cpu"
    return params


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """Write an array as an IDX file (the MNIST format), gzipped or not."""
    magic = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = magic + array.astype(np.uint8).tobytes()
    if compress:
        path.write_bytes(gzip.compress(payload, mtime=0))
    else:
        path.write_bytes(payload)


def make_idx_set(folder: Path, compress: bool = True, n_train: int = 60, n_test: int = 20) -> dict[str, np.ndarray]:
    """Small random MNIST-format train and test files under the official names; returns their arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / (name + (".gz" if compress else "")), array, compress)
    return arrays


RUN = ["iris", "mnist", "circles", "noise_linear", "sum30"]
RESULT_FOLDERS = ("models", "metrics", "data", "plots", "reports")


def result_hashes(repo: Path) -> dict[str, str]:
    """sha256 of every file under the folders that hold a user's results."""
    return {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in RESULT_FOLDERS
        for path in sorted((repo / folder).rglob("*"))
        if path.is_file()
    }


def ran_stages(output: str) -> set[str]:
    """The stages a `dvc repro` ran (not those it restored from the run cache)."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def shared_build(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The repo that `build(repo)` makes once per test session, whichever xdist worker asks first (the others
    wait for it). Never run a command in it: two workers would share it. A failed build fails every test after."""
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # every worker's base folder lies in the session's
    folder = shared / "built" / name
    folder.mkdir(parents=True, exist_ok=True)
    repo, failed = folder / "repo", folder / "failed"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(f"building {name} failed in an earlier test:\n{failed.read_text()}")
        if not (folder / "done").exists():
            shutil.rmtree(repo, ignore_errors=True)
            try:
                build(repo)
            except BaseException as error:
                failed.write_text(str(error)[-3000:])
                raise
            (folder / "done").touch()
    return repo


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A private copy of `shared_build`'s repo, for a test to change."""
    built = shared_build(tmp_path_factory, name, build)
    return Path(shutil.copytree(built, tmp_path_factory.mktemp(name) / "repo", symlinks=True))


def pipeline_build(repo: Path) -> None:
    """One full `dvc repro` of RUN with few epochs, committed."""
    make_repo(repo, tiny_params(RUN))
    run(repo, "dvc", "repro")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "first run")


@pytest.fixture(scope="session")
def pristine_pipeline(tmp_path_factory) -> Path:
    """The committed pipeline as built, shared by every worker: copy it, never run a command in it."""
    return shared_build(tmp_path_factory, "pipeline", pipeline_build)


@pytest.fixture(scope="session")
def pipeline(pristine_pipeline, tmp_path_factory) -> Path:
    """This worker's copy of the committed pipeline, for tests that read it or run what leaves it as it is."""
    return Path(shutil.copytree(pristine_pipeline, tmp_path_factory.mktemp("pipeline") / "repo", symlinks=True))


@pytest.fixture
def workspace(pristine_pipeline, tmp_path) -> Path:
    """A private copy of the committed pipeline (its DVC cache included) that a test may change."""
    return Path(shutil.copytree(pristine_pipeline, tmp_path / "repo", symlinks=True))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test inside an empty folder (stages write relative to the working directory)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def command_line(pid: int) -> str:
    """Process `pid`'s arguments, NUL-separated ("" once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:  # it ended
        return ""


def descendants(pid: int) -> list[int]:
    """The processes started, directly or not, by `pid` (read from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def pausing_after(checkpoint: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` for a train stage (of one process) that saves a checkpoint after every epoch and stops itself
    (SIGSTOP) once it has first written `checkpoint`: a run interrupted at a known point, however fast the
    machine trains."""
    return env | {"TINYNETS_CHECKPOINT_SECONDS": "0", "TINYNETS_PAUSE_AFTER_CHECKPOINT": checkpoint.name}


def paused(pid: int) -> bool:
    """Whether process `pid` is stopped (by a signal: state T in /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:  # it ended
        return False


def wait_paused(pids: Callable[[], list[int]], process: subprocess.Popen) -> list[int]:
    """The processes among `pids()` that paused after their checkpoint, once one has; fails if `process` ends
    first (a deadline only guards against a hang: the pause comes at a fixed epoch, not a time)."""
    deadline = time.monotonic() + 300
    while not (stopped := [pid for pid in pids() if paused(pid)]):
        assert process.poll() is None, f"it ended before its checkpoint: {process.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint was written in 5 minutes"
        time.sleep(0.02)
    return stopped


@contextlib.contextmanager
def ended_on_failure(process: subprocess.Popen) -> Iterator[None]:
    """Kill `process` and every process it started if the block fails: none is left paused behind a test."""
    try:
        yield
    except BaseException:
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raise


def interrupted(pid: int, signum: int) -> None:
    """Send `signum` to a paused `pid`, then let it go on to answer it."""
    os.kill(pid, signum)
    if signum != signal.SIGKILL:
        os.kill(pid, signal.SIGCONT)


def killed_after(repo: Path, name: str, checkpoint: Path) -> None:
    """Run dataset `name`'s train stage until it has written `checkpoint`, then SIGKILL it (the process and no
    other)."""
    train = [sys.executable, "-m", "stages.train", name]
    env = pausing_after(checkpoint, tool_env(repo))
    process = subprocess.Popen(train, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with ended_on_failure(process):
        wait_paused(lambda: [process.pid], process)
        assert checkpoint.exists()
        interrupted(process.pid, signal.SIGKILL)
        process.wait(timeout=300)


def gif_frames(path: Path) -> list:
    """Every frame of a GIF, as RGB images."""
    from PIL import Image

    gif, frames = Image.open(path), []
    for index in range(gif.n_frames):
        gif.seek(index)
        frames.append(gif.convert("RGB"))
    return frames


def changed_frames(frames: list) -> int:
    """How many frames' plot differs from the one before them in at least one pixel (the title, which names each
    frame's epoch, left out)."""
    from PIL import ImageChops

    def plot(frame):
        width, height = frame.size
        return frame.crop((0, height // 6, width, height))

    return sum(ImageChops.difference(plot(a), plot(b)).getbbox() is not None for a, b in pairwise(frames))


README_BLOCK = re.compile(r"```(bash|yaml)\n(.*?)```", re.S)


def iris_experiments(repo: Path, all_commits: bool = False) -> dict[str, dict]:
    """Each experiment's rev, iris params and iris metrics, by name (`dvc exp show --json`: HEAD's experiments,
    or with `all_commits` every commit's)."""
    found = {}
    for commit in json.loads(run(repo, "dvc", "exp", "show", "--json", *["-A"] * all_commits).stdout):
        for experiment in commit.get("experiments") or []:
            latest = experiment["revs"][0]
            data = latest["data"]
            params = data["params"]["params.yaml"]["data"]["datasets"]["iris"]
            metrics = data["metrics"]["metrics/iris.json"]["data"]
            found[experiment["name"]] = {"rev": latest["rev"], "params": params, "metrics": metrics}
    return found


def readme_blocks() -> list[tuple[str, str]]:
    """The README's bash blocks, each with the yaml block that follows it (params it tells users to add)."""
    blocks = README_BLOCK.findall((ROOT / "README.md").read_text())
    pairs = []
    for index, (kind, text) in enumerate(blocks):
        if kind == "bash":
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            params = following[1] if following[0] == "yaml" and following[1].startswith("run:") else ""
            pairs.append((text, params))
    return pairs


def readme_block(containing: str) -> str:
    """The one README bash block that contains `containing`."""
    [script] = [text for text, _ in readme_blocks() if containing in text]
    return script


def run_readme_block(repo: Path, script: str) -> subprocess.CompletedProcess:
    """Run a README bash block as printed, as bash with -euo pipefail; fail the test if it fails (or takes more
    than ten minutes: a queue that never empties)."""
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo,
        env=tool_env(repo),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


DURATIONS = "tinynets/durations"  # each test's seconds in the runs so far, in pytest's cache folder
_durations: dict[str, float] = {}  # this run's


def _test_id(nodeid: str) -> str:
    return re.sub(r"@[^\]/]*$", "", nodeid)  # without the @group that xdist's loadgroup adds


def _recorded(config: pytest.Config) -> dict[str, float]:
    """The durations recorded so far: a worker takes the controller's (read once, so every worker orders the
    tests alike, as xdist requires); the controller, or a serial run, reads pytest's cache."""
    if hasattr(config, "workerinput"):
        return config.workerinput.get("tinynets_durations", {})
    cache = getattr(config, "cache", None)  # none with -p no:cacheprovider
    return cache.get(DURATIONS, {}) if cache else {}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, in the controller: hand each worker the recorded durations."""
    node.workerinput["tinynets_durations"] = _recorded(node.config)


@pytest.hookimpl(trylast=True)  # after xdist's own, which marks each grouped test's id with @group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest first (by the recorded durations; on a first run, the slow tests), so that under xdist no
    worker is left with a long test when the others have finished. A group of tests (xdist_group: one worker
    runs them in a row, sharing a module's fixture) is timed and kept together."""
    if config.getoption("loadgroup", False):
        ungrouped = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if ungrouped:
            raise pytest.UsageError(f"xdist's loadgroup does not group {ungrouped[0]} (pytest-xdist#1386)")
    last = _recorded(config)

    def unit(item: pytest.Item) -> str:
        group = item.get_closest_marker("xdist_group")
        return f"group {group.args[0] if group.args else group.kwargs['name']}" if group else item.nodeid

    seconds: dict[str, float] = {}
    for item in items:
        guess = 1.0 if item.get_closest_marker("slow") else 0.0
        seconds[unit(item)] = seconds.get(unit(item), 0.0) + last.get(_test_id(item.nodeid), guess)
    order = sorted(dict.fromkeys(map(unit, items)), key=lambda name: -seconds[name])  # stable: ties keep theirs
    # While the first worker builds the pipeline, each other worker starts on a slow unit that does not need it.
    waits = {unit(item) for item in items if "pristine_pipeline" in item.fixturenames}
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    free = [name for name in order[1:] if name not in waits][: workers - 1]
    order = order[:1] + free + [name for name in order[1:] if name not in free]
    position = {name: index for index, name in enumerate(order)}
    items.sort(key=lambda item: position[unit(item)])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record each test's own time (its call: a fixture's setup is paid by whichever test asks first)."""
    if report.when == "call":
        _durations[_test_id(report.nodeid)] = report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Keep this run's durations for the next run's order (the controller, or a serial run)."""
    cache = getattr(session.config, "cache", None)
    if cache and _durations and not hasattr(session.config, "workerinput"):
        cache.set(DURATIONS, cache.get(DURATIONS, {}) | _durations)


def search_summary(dataset: str = "iris") -> dict:
    """A search's summary as tinynets search writes it, from an in-memory study of 8 told trials over lr and the
    hidden units (one pruned, one failed): what the plot and report stages read from search/<dataset>.json."""
    import optuna

    from tinynets.params import SearchConfig
    from tinynets.search import summary

    lr, hidden = f"datasets.{dataset}.train.lr", f"datasets.{dataset}.model.layers.1"
    space = {lr: {"type": "log_uniform", "low": 0.01, "high": 1.0}, hidden: {"type": "int", "low": 2, "high": 16}}
    config = SearchConfig.model_validate({"space": space, "sampler": "random", "seed": 3})
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=f"{dataset}-test", sampler=optuna.samplers.RandomSampler(seed=3))
    for number in range(8):
        trial = study.ask()
        rate = trial.suggest_float(lr, 0.01, 1.0, log=True)
        units = trial.suggest_int(hidden, 2, 16)
        trial.set_user_attr("experiment", f"{dataset}-abc123-{number}")
        if number == 5:
            trial.set_user_attr("error", "error: iris: training diverged at epoch 3")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif number == 6:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:  # a loss that falls with the lr and barely moves with the units: lr is the param that matters
            study.tell(trial, 0.1 + abs(np.log10(rate) + 0.5) + units / 1000)
    return summary(study, dataset, config)


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's chromium and chromium-driver) that resolves no host but this machine's
    127.0.0.1 (optuna-dashboard's server)."""
    assert CHROMIUM and CHROMEDRIVER, "install Debian's chromium and chromium-driver (make test installs them)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
