"""Stage export: write a trained model as ONNX (models/<dataset>.onnx) and check it against torch."""

from tinynets.common import files, paths
from tinynets.common.stage import run_stage
from tinynets.export import export_onnx
from tinynets.modelfile import load_model


def export(name: str) -> None:
    x_test = files.read_arrays(paths.features(name))["x_test"]
    with files.atomic_path(paths.onnx_model(name)) as tmp:
        parity = export_onnx(load_model(paths.model(name)), x_test, tmp)
    files.write_json(paths.export_metrics(name), parity)
    print(f"{name}: {paths.onnx_model(name)}, largest difference from torch {parity['onnx_max_abs_diff']:.3g}")


if __name__ == "__main__":
    run_stage(export)
