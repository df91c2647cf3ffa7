"""One search on two machines: a real PostgreSQL server holds the study, two clones of one project stand for
the machines, each pushes its trials' experiments to a shared git remote (bare) and DVC remote (a folder), and
one pulls them all and confirms the best; optuna-dashboard shows the same study in Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import optuna
import pytest
from conftest import command_line, iris_experiments, make_repo, run, tiny_params, tool_env
from test_search import SPACE, TRIAL, tinynets, trials

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # the browser's worker: one Chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> tuple[str, Path]:
    """A PostgreSQL server (Debian's postgresql) on 127.0.0.1, in a temporary folder, that asks for a password;
    its URL (no password in it) and a libpq password file that holds it. As root, it runs as the postgres user
    the package made (the server refuses root)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert bins, "install Debian's postgresql (make test installs it)"
    folder = Path(tempfile.mkdtemp(prefix="tinynets-postgres-"))
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    (folder / "password").write_text(f"{PASSWORD}\n")
    if as_server:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "password", "postgres")
    bin_dir, data, port = bins[-1].parent, folder / "data", free_port()
    server = [*as_server, str(bin_dir / "pg_ctl"), "-D", str(data)]
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "tinynets", "--auth=scram-sha-256", "--no-sync"]
    subprocess.run(
        [*as_server, *initdb, f"--pwfile={folder / 'password'}", "-E", "UTF8"], check=True, capture_output=True
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run([*server, "-l", str(folder / "log"), "-o", options, "-w", "start"], check=True, capture_output=True)
    passwords = Path(tempfile.mkdtemp(prefix="tinynets-pgpass-")) / "pgpass"
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")  # pgpass's own escapes
    passwords.write_text(f"127.0.0.1:{port}:*:tinynets:{escaped}\n")
    passwords.chmod(0o600)  # libpq ignores a password file others can read
    yield f"postgresql://tinynets@127.0.0.1:{port}/postgres", passwords
    subprocess.run([*server, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(passwords.parent, ignore_errors=True)


PASSWORD = "s3cret:with@signs"


def processes_in(folder: Path) -> list[int]:
    """The processes whose working directory lies in `folder`: a machine's search and its trials."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if Path(os.readlink(cwd)).is_relative_to(folder):
                found.append(int(cwd.parent.name))
        except OSError:
            continue
    return found


def machine_a(root: Path) -> Path:
    """The first machine's project, committed and pushed with its DVC remote to the shared git remote."""
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE, "trials": 6, "workers": 1, "pruner": "none", "grace": 6}}
    repo = make_repo(root / "a", params)
    run(root, "git", "init", "-q", "--bare", "origin.git")
    run(repo, "dvc", "remote", "add", "-d", "shared", str(root / "dvc-remote"))
    run(repo, "git", "commit", "-qam", "a shared DVC remote")
    run(repo, "git", "remote", "add", "origin", str(root / "origin.git"))
    run(repo, "git", "push", "-q", "origin", "HEAD")
    return repo


def machine_b(root: Path) -> Path:
    """The second machine: a clone of the shared git remote."""
    run(root, "git", "clone", "-q", str(root / "origin.git"), "b")
    repo = root / "b"
    run(repo, "git", "config", "user.email", "b@tinynets")
    run(repo, "git", "config", "user.name", "machine b")
    return repo


def test_two_machines_share_one_study_in_postgresql_ask_no_point_twice_and_one_confirms_them_all(
    tmp_path, postgres, browser, monkeypatch
):
    url, passwords = postgres
    monkeypatch.setenv("PGPASSFILE", str(passwords))  # libpq's own password file: no password in any URL
    a = machine_a(tmp_path)
    b = machine_b(tmp_path)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    # b dies mid-trial (SIGKILL to it and its trial's processes: the machine lost); the URL from the environment,
    # its password in it
    secret = urllib.parse.quote(PASSWORD, safe="")
    with_password = url.replace("tinynets@", f"tinynets:{secret}@")
    doomed = subprocess.Popen(
        ["tinynets", "search", "iris"], cwd=b, env=tool_env(b) | {"TINYNETS_STORAGE": with_password}, **pipes
    )
    searching = subprocess.Popen(["tinynets", "search", "iris", "--storage", url], cwd=a, env=tool_env(a), **pipes)
    line = doomed.stdout.readline()
    while line and not TRIAL.match(line.strip()):  # b's first trial ended: its next one runs
        line = doomed.stdout.readline()
    assert line, doomed.stderr.read()
    # Until one of its stages runs (a fixed point of the trial, not a time): the password in none's arguments
    # or environment. The deadline only guards against a hang.
    deadline = time.monotonic() + 60
    while not any("stages." in command_line(pid) for pid in processes_in(b)):
        assert time.monotonic() < deadline, "b's next trial never started a stage"
        time.sleep(0.05)
    trial_processes = [pid for pid in processes_in(b) if pid != doomed.pid]
    for pid in trial_processes:
        with contextlib.suppress(OSError):
            seen = Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
            assert secret.encode() not in seen and PASSWORD.encode() not in seen
    for pid in processes_in(b):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    doomed.wait(timeout=30)
    out, err = searching.communicate(timeout=600)
    assert searching.returncode == 0, err

    study = optuna.load_study(study_name=None, storage=url)
    tried = [trial for trial in study.trials if "experiment" in trial.user_attrs]
    assert len(tried) == 6 and all(trial.state.name == "COMPLETE" for trial in tried)
    points = [tuple(trial.params.values()) for trial in tried]
    assert len(set(points)) == len(points)  # no point asked twice, across both machines
    failed = [trial for trial in study.trials if trial.state.name == "FAIL"]
    [killed] = [trial for trial in failed if "repeats_a_point" not in trial.user_attrs]  # (both may start at 0)
    [again] = [trial for trial in tried if trial.system_attrs.get("failed_trial") == killed.number]
    assert again.params == killed.params and again.number in trials(out)  # machine a asked it again
    by_machine = [trials(out), trials(line)]
    names = {trial.user_attrs["experiment"] for trial in tried}
    assert {match.group(5) for found in by_machine for match in found.values()} <= names

    logs = [log.read_text() for log in (b / "search/logs").glob("*.log")]
    assert logs and not any(secret in log or PASSWORD in log for log in logs)
    b_experiments = {match.group(5) for match in by_machine[1].values()}
    assert b_experiments and b_experiments <= set(iris_experiments(b))
    for repo in (a, b):  # each pushes its experiments (git refs and DVC outputs) to the shared remotes
        run(repo, "dvc", "exp", "push", "origin")
    run(a, "dvc", "exp", "pull", "origin")
    assert set(iris_experiments(a)) == names  # machine a sees every trial, its own and b's

    confirmed = tinynets(a, "search", "iris", "--storage", url, "--confirm-best", "2", "--apply")
    assert confirmed.returncode == 0, confirmed.stderr
    applied = r"^applied iris-\w+-\d+-confirm-\d+: params.yaml and the outputs are its own$"
    assert re.search(applied, confirmed.stdout, re.M)
    assert "up to date" in run(a, "dvc", "status").stdout

    # optuna-dashboard opens the same study
    port = free_port()
    dashboard = subprocess.Popen(
        ["optuna-dashboard", url, "--host", "127.0.0.1", "--port", str(port)],
        env=tool_env(a),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        from selenium.webdriver.support.ui import WebDriverWait

        [study] = optuna.get_all_study_names(storage=url)
        browser.get(f"http://127.0.0.1:{port}/dashboard")  # the study list, drawn by the page's own script
        WebDriverWait(browser, 60).until(lambda driver: study in driver.find_element("tag name", "body").text)
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


def test_an_unreachable_storage_stops_the_search_in_one_line(tmp_path):
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE, "trials": 2, "workers": 1}}
    repo = make_repo(tmp_path / "repo", params)
    port = free_port()  # a port no server listens on
    searched = tinynets(repo, "search", "iris", "--storage", f"postgresql://nobody:secret@127.0.0.1:{port}/none")
    assert searched.returncode == 2 and searched.stdout == "", searched.stdout
    said = f"error: --storage postgresql://nobody:***@127.0.0.1:{port}/none: OperationalError: "
    assert searched.stderr.startswith(said) and "secret" not in searched.stderr  # a password is never printed
    assert searched.stderr.count("\n") == 1 and "Connection refused" in searched.stderr
    assert iris_experiments(repo) == {} and not (repo / "search/iris.json").exists()
