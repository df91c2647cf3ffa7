"""Stage validate: check params.yaml against the data before any stage deletes its outputs.

DVC removes a stage's outputs before running it; this stage runs first and fails alone, so a mistake
in params.yaml costs nothing. It writes one small file per dataset that changes only with its data.
"""

from tinynets import artifacts
from tinynets.cli import run
from tinynets.params import load_params
from tinynets.validation import validate as check


def validate() -> None:
    verdicts = check(load_params())
    with artifacts.atomic_dir(artifacts.CHECKS) as folder:
        for name, verdict in verdicts.items():
            artifacts.write_json(folder / f"{name}.json", verdict)


if __name__ == "__main__":
    run(validate)
