"""Stage export: write a trained model as ONNX (models/<dataset>.onnx) and check it against torch."""

from tinynets.common import files, paths
from tinynets.common.stage import run_stage
from tinynets.export import export_onnx
from tinynets.modelfile import load_model


def export(name: str) -> None:
    where = paths.of(name)
    x_test = files.read_arrays(where.features)["x_test"]
    with files.atomic_path(where.onnx_model) as tmp:
        parity = export_onnx(load_model(where.model), x_test, tmp)
    files.write_json(where.export_metrics, parity)
    print(f"{name}: {where.onnx_model}, largest difference from torch {parity['onnx_max_abs_diff']:.3g}")


if __name__ == "__main__":
    run_stage(export)
