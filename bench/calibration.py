"""How often `tinynets compare` says "unlikely to be noise" when there is no difference (issue 36): the verdict's
t-test over seeds against the paired bootstrap over rows and seeds that 9bba431 used, on the nulls that
tests/test_noise.py simulates (its regimes and generator), and the power of each at a lead of two standard
errors. The bootstrap is read from git (9bba431:tinynets/noise.py) and, being slow, run on fewer nulls and
resamples (its rate's standard error is given).

`python bench/calibration.py` prints a Markdown table (bench/RESULTS.md keeps one).
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_noise import LEVEL, NULLS, row_values, six_digits  # noqa: E402

from tinynets.noise import seed_tests  # noqa: E402

BEFORE = "9bba431"
BOOTSTRAP_NULLS, BOOTSTRAP_RESAMPLES = 200, 1000
REGIMES = [  # rows, seeds a side, shared seeds, seed-to-row noise, hits, forecast horizon
    (24, 1, True, 0, False, 1),
    (24, 3, True, 0, False, 1),
    (24, 3, True, 0, True, 1),
    (200, 2, False, 4, False, 1),
    (200, 3, False, 4, False, 1),
    (200, 5, False, 4, False, 1),
    (200, 3, True, 1, True, 1),
    (2000, 3, True, 1, False, 1),
    (40, 1, True, 0, False, 6),
    (40, 3, True, 0, False, 6),
    (40, 3, True, 1, False, 12),
    (40, 5, False, 4, False, 12),
]


def bootstrap_before() -> types.ModuleType:
    """9bba431's tinynets.noise, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:tinynets/noise.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("noise_before")
    sys.modules[module.__name__] = module  # its dataclass looks itself up there
    exec(compile(source, f"{BEFORE}:tinynets/noise.py", "exec"), module.__dict__)
    return module


def rates(regime: tuple, before: types.ModuleType, generator: np.random.Generator) -> dict[str, float]:
    """Each method's rejection rate under the null and at a two-standard-error lead in one regime."""
    paired = regime[2]
    found = {}
    a, b = row_values(generator, *regime)
    lead = 2 * (a.mean(axis=(1, 2)) - b.mean(axis=(1, 2))).std()
    for name, shift in (("null", 0.0), ("power", lead)):
        if shift:
            a, b = row_values(generator, *regime)
        _, pvalues = seed_tests(six_digits(a.mean(axis=2) + shift), six_digits(b.mean(axis=2)), paired)  # as recorded
        found[f"t {name}"] = float(np.mean(pvalues < LEVEL))  # NaN (no test) is no rejection
        chosen = range(BOOTSTRAP_NULLS)
        booted = [
            before.paired_bootstrap(a[i] + shift, b[i], paired_seeds=paired, resamples=BOOTSTRAP_RESAMPLES).pvalue
            for i in chosen
        ]
        found[f"bootstrap {name}"] = float(np.mean(np.array(booted) < LEVEL))
    return found


def main() -> None:
    before, generator = bootstrap_before(), np.random.default_rng(36)
    error = np.sqrt(LEVEL * (1 - LEVEL) / BOOTSTRAP_NULLS)
    print(
        f"| regime (null: no real difference) | t over seeds: null / power ({NULLS} draws) | {BEFORE}'s bootstrap: "
        f"null / power ({BOOTSTRAP_NULLS} draws, ±{error:.3f} at 5%) |"
    )
    print("|---|---|---|")
    for regime in REGIMES:
        rows, seeds, paired, ratio, hits, horizon = regime
        found = rates(regime, before, generator)
        said = f"{rows} {'windows' if horizon > 1 else 'rows'}, {seeds} seed{'s' * (seeds > 1)} a side"
        said += f", {'paired' if paired else 'unpaired'}, seed noise {ratio}x, {'hits' if hits else 'losses'}"
        said += f", horizon {horizon}" if horizon > 1 else ""
        t = f"{found['t null']:.3f} / {found['t power']:.3f}" if seeds > 1 else "no verdict (one seed)"
        print(f"| {said} | {t} | {found['bootstrap null']:.3f} / {found['bootstrap power']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
