"""Every command the README's `bash` blocks show runs as printed (each block in a trained copy of the project,
with few epochs)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from conftest import ROOT, run, tool_env, wait_for_the_queue, write_params

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"```(bash|yaml)\n(.*?)```", re.S)


def readme_blocks() -> list[tuple[str, str]]:
    """The README's bash blocks, each with the yaml block that follows it (params it tells users to add)."""
    blocks = BLOCK.findall((ROOT / "README.md").read_text())
    pairs = []
    for index, (kind, text) in enumerate(blocks):
        if kind == "bash":
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            params = following[1] if following[0] == "yaml" and following[1].startswith("run:") else ""
            pairs.append((text, params))
    return pairs


def merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


BLOCKS = readme_blocks()


def test_the_readme_shows_the_commands_users_need():
    commands = "\n".join(text for text, _ in BLOCKS)
    for needed in ("dvc repro", "dvc plots show", "tinynets predict", "dvc exp run --queue", "dvc add"):
        assert needed in commands


@pytest.mark.parametrize(("script", "params"), BLOCKS, ids=[text.split("\n")[0][:40] for text, _ in BLOCKS])
def test_a_readme_block_runs_as_printed(workspace, script, params):
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workspace,
        env=tool_env(workspace),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    if "dvc queue start" in script:
        wait_for_the_queue(workspace)
    if params:  # the params the README tells users to add next, then `dvc repro`
        write_params(workspace, merge(yaml.safe_load((workspace / "params.yaml").read_text()), yaml.safe_load(params)))
        run(workspace, "dvc", "repro")
