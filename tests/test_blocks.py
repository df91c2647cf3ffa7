"""Block kinds: each declared once in tinynets/blocks.py, and a new one needs that entry and nothing else."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import make_repo, run, tiny_params, write_params
from test_use_models import IRIS_COLUMNS

from tinynets.blocks import KINDS, block_types, described
from tinynets.common.errors import DataError
from tinynets.modelfile import load_model
from tinynets.models import trained_model

# A kind written as a user would add one: appended to tinynets/blocks.py, no other file touched.
TOY_KIND = """

def _scaled(by: float) -> nn.Module:
    class Scale(_torch().Module):
        def forward(self, x):
            return x * by

    return Scale()


KINDS.append(
    BlockKind(
        "Scale",
        ("scale",),
        params={"by": (Annotated[float, Ge(0)], REQUIRED)},
        input_rank=1,
        shape=_same,
        module=lambda block, shape_in, shape_out: _scaled(block.by),
    )
)
"""
TOY_BLOCKS = [
    {"type": "linear", "out": 10},
    {"type": "relu"},
    {"type": "scale", "by": 0.5},
    {"type": "linear", "out": "auto"},
]


def test_each_type_selects_one_kind():
    assert len(block_types()) == len(set(block_types()))
    assert len({kind.name for kind in KINDS}) == len(KINDS)  # the schema's models need their own names


def test_a_block_is_described_by_its_type_and_the_params_it_sets():
    assert described({"type": "maxpool2d", "kernel_size": 2, "stride": None}) == "maxpool2d (kernel_size 2)"
    conv = {"kernel_size": 5, "out_channels": 6, "padding": 2, "stride": 1, "type": "conv2d"}  # as a model file has it
    assert described(conv) == "conv2d (out_channels 6, kernel_size 5, stride 1, padding 2)"
    assert described({"type": "relu"}) == "relu"


@pytest.mark.slow
def test_a_kind_added_in_one_entry_is_checked_trained_described_and_used(tmp_path):
    params = tiny_params(["iris"])
    params["datasets"]["iris"]["model"] = {"blocks": TOY_BLOCKS}
    repo = make_repo(tmp_path / "repo", params)
    blocks = repo / "tinynets/blocks.py"
    blocks.write_text(blocks.read_text() + TOY_KIND)
    run(repo, "git", "commit", "-qam", "a toy block kind")

    run(repo, "dvc", "repro")
    scores = json.loads((repo / "metrics/iris.json").read_text())
    assert scores["accuracy"] > 0.9 and scores["parameters"] == (4 + 1) * 10 + (10 + 1) * 3
    assert "linear (out 10) → relu → scale (by 0.5) → linear (out auto)" in (repo / "reports/index.html").read_text()
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(IRIS_COLUMNS) + "\n5.1,3.5,1.4,0.2\n")
    predicted = run(repo, "tinynets", "predict", "iris", str(rows)).stdout
    assert next(csv.DictReader(predicted.splitlines()))["predicted"] == "setosa"
    with pytest.raises(DataError, match="its model file does not fit this tinynets"):  # one without the kind
        trained_model(load_model(repo / "models/iris.safetensors"))

    for block, message in (
        ({"type": "scale", "by": 0.5, "bye": 1}, "datasets.iris.model.blocks.2.bye: unknown key"),
        ({"type": "scale", "by": -1}, "datasets.iris.model.blocks.2.by: Input should be greater than or equal to 0"),
    ):
        params["datasets"]["iris"]["model"] = {"blocks": [*TOY_BLOCKS[:2], block, TOY_BLOCKS[3]]}
        write_params(repo, params)
        result = run(repo, "dvc", "repro", check=False)
        assert result.returncode != 0 and message in result.stderr
    params["datasets"]["iris"]["model"] = {"blocks": TOY_BLOCKS}  # validate checks every dataset's schema
    params["run"], params["datasets"]["mnist"]["model"] = ["mnist"], {"blocks": [{"type": "scale", "by": 2}]}
    write_params(repo, params)
    result = run(repo, "dvc", "repro", check=False)
    assert "datasets.mnist.model.blocks.0 (scale): its input is 28x28; put a flatten block before it" in result.stderr
