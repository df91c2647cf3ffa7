"""Every command the README's `bash` blocks show runs as printed (each block in a trained copy of the project,
with few epochs) and does what the README says it does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import readme_blocks, run, run_readme_block, write_params

pytestmark = pytest.mark.slow

# Blocks that another test runs as printed, asserting what they do in detail.
RUN_ELSEWHERE = {
    "tinynets compare iris --apply": "test_experiments.py: the sweep ranked on validation, its verdict, --apply",
    "dvc queue start -j 2": "test_scale.py: the queued grid on two workers, each experiment's own metrics",
    "tinynets search iris --trials 6 --workers 2": "test_search.py: the search block merged, its trials, compare",
    "dvc exp pull origin": "test_search_shared.py: a PostgreSQL study, two clones, pushed, pulled, confirmed",
}


def merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


def only_the_two_datasets_metrics(repo: Path) -> None:
    assert sorted(path.name for path in (repo / "metrics").iterdir()) == ["fashion_mnist.json", "iris.json"]


# What a block's comments say it leaves, by a line of the block.
PROMISES = {"(metrics/: those two)": only_the_two_datasets_metrics}

BLOCKS = [(text, params) for text, params in readme_blocks() if not any(line in text for line in RUN_ELSEWHERE)]


def test_the_readme_shows_the_commands_users_need():
    commands = "\n".join(text for text, _ in readme_blocks())
    for needed in ("dvc repro", "dvc plots show", "tinynets predict", "dvc exp run --queue", "dvc add"):
        assert needed in commands
    for line in [*RUN_ELSEWHERE, *PROMISES]:
        assert [line in text for text, _ in readme_blocks()].count(True) == 1, f"one README block holds {line!r}"


@pytest.mark.parametrize(("script", "params"), BLOCKS, ids=[text.split("\n")[0][:40] for text, _ in BLOCKS])
def test_a_readme_block_runs_as_printed(workspace, script, params):
    run_readme_block(workspace, script)
    if "--queue" in script:  # the block runs the queue and waits for it
        queue = run(workspace, "dvc", "queue", "status").stdout
        assert not {"Queued", "Running", "Failed"} & set(queue.split()), queue
    for line, promise in PROMISES.items():
        if line in script:
            promise(workspace)
    if params:  # the params the README tells users to add next, then `dvc repro`
        write_params(workspace, merge(yaml.safe_load((workspace / "params.yaml").read_text()), yaml.safe_load(params)))
        run(workspace, "dvc", "repro")
