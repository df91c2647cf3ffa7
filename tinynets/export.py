"""ONNX export with a parity check: the exported graph, run by onnxruntime, must give torch's outputs.

Only the export stage imports onnx, onnxscript and onnxruntime (and torch.onnx's exporter, which loads
torch's compiler stack): a default run does not pay for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tinynets.common.errors import TrainingError
from tinynets.inference import as_inputs, eval_outputs
from tinynets.models import trained_model

TOLERANCE = 1e-4  # the largest absolute difference from torch's outputs that still counts as the same model
OPSET = 18


def export_onnx(saved: dict, x_test: np.ndarray, path: Path) -> dict[str, float | int]:
    """Write the model in `saved` (a model file's contents) as ONNX to `path`; check it on the test inputs.

    The graph takes what the network takes: features as featurize wrote them, images as floats in [0, 1],
    any number of rows. Raises TrainingError when onnxruntime's outputs differ from torch's by more than
    TOLERANCE.
    """
    import onnxruntime

    model = trained_model(saved)
    inputs = as_inputs(torch.from_numpy(x_test)).contiguous()
    rows = torch.export.Dim("rows", min=1)
    example = inputs[torch.arange(2) % len(inputs)]  # two rows, even from one: a batch of 1 is fixed at 1
    program = torch.onnx.export(
        model, (example,), dynamo=True, opset_version=OPSET, dynamic_shapes=({0: rows},), verbose=False
    )
    program.save(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    exported = session.run(None, {name: inputs.numpy()})[0]
    difference = float(np.abs(exported - eval_outputs(model, inputs).numpy()).max())
    if not difference <= TOLERANCE:
        raise TrainingError(f"{path}: onnxruntime's outputs differ from torch's by {difference:.3g} (> {TOLERANCE})")
    return {"onnx_max_abs_diff": difference, "onnx_opset": OPSET, "onnx_rows_checked": len(x_test)}
