"""One search on two machines: a real PostgreSQL server holds the study, two clones of one project stand for
the machines, each pushes its trials' experiments to a shared git remote (bare) and DVC remote (a folder), and
one pulls them all and confirms the best; optuna-dashboard shows the same study in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from conftest import iris_experiments, make_repo, run, tiny_params, tool_env
from test_search import SPACE, tinynets, trials

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # the browser's worker: one Chromium


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> str:
    """A PostgreSQL server (Debian's postgresql) on 127.0.0.1, in a temporary folder; its URL. As root, it runs
    as the postgres user the package made (the server refuses root)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert bins, "install Debian's postgresql (make test installs it)"
    folder = Path(tempfile.mkdtemp(prefix="tinynets-postgres-"))
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_server:
        shutil.chown(folder, "postgres")
    bin_dir, data, port = bins[-1].parent, folder / "data", free_port()
    server = [*as_server, str(bin_dir / "pg_ctl"), "-D", str(data)]
    subprocess.run([*as_server, str(bin_dir / "initdb"), "-D", str(data), "-U", "tinynets", "--auth=trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run([*server, "-l", str(folder / "log"), "-o", options, "-w", "start"], check=True, capture_output=True)
    yield f"postgresql://tinynets@127.0.0.1:{port}/postgres"
    subprocess.run([*server, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def machine_a(root: Path) -> Path:
    """The first machine's project, committed and pushed with its DVC remote to the shared git remote."""
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["train"]["valid_size"] = 0.2
    params["search"] = {"iris": {"space": SPACE, "trials": 4, "workers": 1, "pruner": "none"}}
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


def test_two_machines_share_one_study_in_postgresql_and_one_confirms_them_all(tmp_path, postgres, browser):
    a = machine_a(tmp_path)
    b = machine_b(tmp_path)
    command = ["tinynets", "search", "iris", "--storage", postgres]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    searches = [subprocess.Popen(command, cwd=repo, env=tool_env(repo), **pipes) for repo in (a, b)]
    printed = [search.communicate(timeout=600) for search in searches]
    assert all(search.returncode == 0 for search in searches), printed
    by_machine = [trials(out) for out, _ in printed]
    assert all(by_machine), printed  # each machine ran trials of the one study
    names = {match.group(5) for found in by_machine for match in found.values()}
    assert sorted(number for found in by_machine for number in found) == [0, 1, 2, 3]

    for repo in (a, b):  # each pushes its experiments (git refs and DVC outputs) to the shared remotes
        run(repo, "dvc", "exp", "push", "origin")
    run(a, "dvc", "exp", "pull", "origin")
    assert set(iris_experiments(a)) == names  # machine a sees every trial, its own and b's

    confirmed = tinynets(a, "search", "iris", "--storage", postgres, "--confirm", "2", "--apply")
    assert confirmed.returncode == 0, confirmed.stderr
    assert re.search(r"^applied iris-\w+-\d+-confirm: params.yaml and the outputs are its own$", confirmed.stdout, re.M)
    assert "up to date" in run(a, "dvc", "status").stdout

    # optuna-dashboard opens the same study
    port = free_port()
    dashboard = subprocess.Popen(
        ["optuna-dashboard", postgres, "--host", "127.0.0.1", "--port", str(port)],
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

        [study] = optuna.get_all_study_names(storage=postgres)
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
