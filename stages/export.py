"""Stage export: write a trained model as ONNX (models/<dataset>.onnx) and check it against torch."""

from tinynets.common import artifacts
from tinynets.common.stage import run_stage
from tinynets.export import export_onnx
from tinynets.modelfile import load_model


def export(name: str) -> None:
    x_test = artifacts.read_arrays(artifacts.features(name))["x_test"]
    with artifacts.atomic_path(artifacts.onnx_model(name)) as tmp:
        parity = export_onnx(load_model(artifacts.model(name)), x_test, tmp)
    artifacts.write_json(artifacts.export_metrics(name), parity)
    print(f"{name}: {artifacts.onnx_model(name)}, largest difference from torch {parity['onnx_max_abs_diff']:.3g}")


if __name__ == "__main__":
    run_stage(export)
