"""Stage validate: check params.yaml against the data before any stage deletes its outputs, then write each
stage's settings.

DVC removes a stage's outputs before running it (but this one's, kept `persist` so that it always runs
when its deps change); this stage runs first and fails alone, so a mistake in params.yaml costs nothing.
The settings it writes (settings/, every default filled in) are what the other
stages depend on and read: a setting changes a stage's deps only when it changes what that stage does.
Last, it removes the files of datasets that left the run from the folders later stages depend on whole.
"""

from tinynets.checks import check_params
from tinynets.common import files, paths
from tinynets.common.stage import run
from tinynets.rules import load_params


def validate() -> None:
    params = load_params()
    settings_files = check_params(params)
    with files.atomic_dir(paths.SETTINGS) as folder:
        for path, settings in settings_files.items():
            files.write_json(folder / path.relative_to(paths.SETTINGS), settings)
    for path in files.left_over(params.run, params.export):  # in DVC's cache (the ONNX parity numbers: in git)
        path.unlink()


if __name__ == "__main__":
    run(validate)
