"""Is one experiment's lead over another larger than the noise of its seeds? A t-test over the seeds.

The figure the table ranks is each experiment's mean over its seeds of the seed's validation metric, so the
seeds are what is tested: a paired t-test over the per-seed differences where both ran the same seeds
(scipy.stats.ttest_rel), Welch's t-test otherwise (ttest_ind, unequal variances). A seed's metric already holds
the noise of which validation rows its net got right, so nothing is counted twice, and rows that are not
independent (overlapping forecast windows) need no model of their own. Two-sided: p is the probability, were
the two configurations equally good, of a difference at least this large either way. Its rate under a true
null is the level it states (bench/calibration.py; tests/test_noise.py). One seed a side shows no seed noise,
and seeds that all differ by the same amount show none either: then there is no test, and the verdict says
why instead of giving a p-value.

With cross-validation (data.split.folds) two experiments validated on the same folds (the same seeds, so the same
rows in each fold) are tested over their per-fold differences. Repeated K-fold (train.repeats above 1) validates
every row once per repeat, so its differences are far from independent: Nadeau and Bengio's corrected resampled
t-test, as Bouckaert and Frank's repeated 10-fold CV uses it, widens their variance by the validation-to-train
ratio, 1/(K-1). A single K-fold's folds hold disjoint rows, and the correction would make it timid (0.4-2.2%
"unlikely" under a true null, where the plain paired t over the K folds says 4.1-6.6%: tests/test_noise.py), so
there the test is the paired t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LEAST_SEEDS = 2  # each side's, for any test; 3 or more for one that can see a lead of a few standard errors
ROUNDING = 1e-5  # metrics JSON keeps 6 significant digits: a spread below this share of the figures is none


@dataclass(frozen=True)
class Lead:
    """A difference of two experiments' mean metrics (a minus b), its standard error and two-sided p-value over
    the seeds; `untested` says why there is no test (then error and p-value are None)."""

    difference: float
    error: float | None
    pvalue: float | None
    test: str = ""  # which test, in words
    untested: str = ""
    over: str = "seeds"  # what the test's figures are: the seeds' or the folds'


def seed_test(a: Sequence[float], b: Sequence[float], paired: bool) -> Lead:
    """The lead of `a` over `b`, each one experiment's per-seed validation metric; `paired`: the same seeds, in
    the same order."""
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    if min(len(a), len(b)) < LEAST_SEEDS:
        return Lead(difference, None, None, untested="one seed shows no seed noise")
    if paired and len(a) != len(b):
        raise ValueError(f"{len(a)} and {len(b)} seeds cannot be paired")
    test = f"paired t over {len(a)} seeds" if paired else f"Welch's t over {len(a)} and {len(b)} seeds"
    [error], [pvalue] = seed_tests(a[np.newaxis], b[np.newaxis], paired)
    if np.isnan(pvalue):  # the seeds' noise is unseen, not absent
        return Lead(difference, None, None, test, untested="the seeds show no spread, so their noise is unseen")
    return Lead(difference, float(error), float(pvalue), test)


def fold_test(a: Sequence[float], b: Sequence[float], folds: int) -> Lead:
    """The lead of `a` over `b`, each one experiment's per-fold validation metric over the same folds (every
    seed's K folds, in the same order): the paired t over one K-fold's differences; Nadeau-Bengio's corrected
    resampled t over repeated K-fold's; df = n - 1."""
    import numpy as np
    from scipy import stats

    spread = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    count, difference = len(spread), float(spread.mean())
    once = count == folds
    test = f"paired t over {count} folds" if once else f"corrected t over {count // folds}x{folds} folds"
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()))
    variance = float(spread.var(ddof=1))
    if not np.sqrt(variance) > ROUNDING * scale:
        return Lead(
            difference, None, None, test, untested="the folds show no spread, so their noise is unseen", over="folds"
        )
    error = float(np.sqrt((1 / count + (0 if once else 1 / (folds - 1))) * variance))
    pvalue = float(2 * stats.t.sf(abs(difference) / error, count - 1))
    return Lead(difference, error, pvalue, test, over="folds")


def seed_tests(a: np.ndarray, b: np.ndarray, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `a` and the same row of `b` (a row: one experiment's per-seed figures), the standard error
    of the difference of their means and its two-sided p-value: scipy's paired t-test, or Welch's; NaN where the
    seeds show no spread. Whole batches at once, as the calibration simulates them."""
    import warnings

    import numpy as np
    from scipy import stats

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # no spread: scipy divides by zero
        if paired:
            spread = a - b
            error = spread.std(axis=-1, ddof=1) / np.sqrt(spread.shape[-1])
            pvalue = stats.ttest_rel(a, b, axis=-1).pvalue
        else:
            error = np.sqrt(a.var(axis=-1, ddof=1) / a.shape[-1] + b.var(axis=-1, ddof=1) / b.shape[-1])
            pvalue = stats.ttest_ind(a, b, axis=-1, equal_var=False).pvalue
    scale = np.maximum(np.abs(a).max(axis=-1), np.abs(b).max(axis=-1))
    unseen = ~(error > ROUNDING * scale)  # a spread only the rounding made is none
    return np.where(unseen, np.nan, error), np.where(unseen, np.nan, pvalue)
