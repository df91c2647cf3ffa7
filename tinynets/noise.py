"""Is one experiment's lead over another larger than noise? A paired bootstrap over the validation rows and the
seeds, the two sources of noise behind a validation metric of nets this small.

Each resample draws the seeds (the same draw for both sides where they share seeds: they are compared as
pairs) and the validation rows (always the same rows for both sides: each row is a pair), and recomputes the
difference of the two metrics. The p-value is the two-sided bootstrap p: twice the share of resamples on the
far side of zero, counted with the observed difference, so it is never 0. A difference seen on one row of 24
is rarely far from zero once rows are resampled, however often the seeds repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 4000
CHUNK = 500  # resamples drawn at once: the row weights of one chunk are CHUNK x rows floats
SEED = 0  # the bootstrap's own: the same verdict on every run


@dataclass(frozen=True)
class Lead:
    """A difference of two metrics (a minus b), its bootstrap standard error and two-sided p-value."""

    difference: float
    error: float
    pvalue: float


def paired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    paired_seeds: bool,
    finish: Callable[[np.ndarray], np.ndarray] = np.asarray,
    resamples: int = RESAMPLES,
) -> Lead:
    """The lead of `a` over `b`, each (seeds, rows): one value per seed and validation row whose mean over the
    rows is the figure (a row's correctness for accuracy, its absolute error for MAE, ...); `finish` turns
    such means into the figure (np.sqrt for RMSE). The rows are the same rows on both sides; with
    `paired_seeds` so are the seeds, in the same order."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the two sides hold {a.shape[1]} and {b.shape[1]} rows: not the same validation rows")
    if paired_seeds and len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} seeds cannot be paired")
    rows = a.shape[1]
    generator = np.random.default_rng(SEED)
    observed = float(finish(a.mean()) - finish(b.mean()))
    differences = []
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        row_weights = generator.multinomial(rows, np.full(rows, 1 / rows), size=size) / rows  # (size, rows)
        seeds_a = _seed_weights(generator, len(a), size)
        seeds_b = seeds_a if paired_seeds else _seed_weights(generator, len(b), size)
        mean_a = np.einsum("rs,sn,rn->r", seeds_a, a, row_weights)
        mean_b = np.einsum("rs,sn,rn->r", seeds_b, b, row_weights)
        differences.append(finish(mean_a) - finish(mean_b))
    drawn = np.concatenate(differences)
    below, above = np.count_nonzero(drawn <= 0), np.count_nonzero(drawn >= 0)
    pvalue = min(1.0, 2 * (min(below, above) + 1) / (resamples + 1))
    return Lead(observed, float(drawn.std(ddof=1)), pvalue)


def _seed_weights(generator: np.random.Generator, seeds: int, size: int) -> np.ndarray:
    """Each resample's share of every seed: (size, seeds), rows summing to 1."""
    return generator.multinomial(seeds, np.full(seeds, 1 / seeds), size=size) / seeds
