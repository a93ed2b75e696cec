"""The statistics behind drift reports, as plain functions over NumPy arrays.

- PSI on shared bins, with add-epsilon smoothing: each histogram becomes proportions, `eps`
  (1e-4) is added to every bin and the result renormalised, so an empty bin gives a large but
  finite term instead of infinity.
- Kolmogorov-Smirnov statistic and p-value: the same numbers as `scipy.stats.ks_2samp`
  (method "auto"); the statistic is computed here from sorted samples in one merge, which also
  gives the Wasserstein-1 distance (`scipy.stats.wasserstein_distance`).
- Jensen-Shannon distance in base 2 (`scipy.spatial.distance.jensenshannon(p, q, base=2)`).
- Chi-squared goodness of fit of current counts against reference proportions.
- Benjamini-Hochberg adjusted p-values (`scipy.stats.false_discovery_control`, method "bh").
A quantity that cannot be computed (an empty sample) is NaN, never an exception or a warning.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import chi2 as chi2_distribution
from scipy.stats import ks_2samp, kstwo

PSI_EPS = 1e-4
# scipy.stats.ks_2samp (method "auto") computes an exact p-value up to this sample size
KS_EXACT_MAX_N = 10_000


def smoothed_shares(counts: np.ndarray, eps: float = PSI_EPS) -> np.ndarray:
    """Proportions along the last axis with `eps` added to each and renormalised (NaN if empty)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / total + eps
        return shares / shares.sum(axis=-1, keepdims=True)


def psi_rows(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> np.ndarray:
    """PSI of each row of `cur_counts` (periods x bins) against `ref_counts`; NaN if empty."""
    p = smoothed_shares(ref_counts, eps)
    q = smoothed_shares(cur_counts, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum((q - p) * np.log(q / p), axis=-1)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = PSI_EPS) -> float:
    """Population stability index sum((q - p) ln(q / p)) of two histograms on the same bins.

    Counts or proportions both work (each is normalised). eps=0 gives the unsmoothed PSI.
    """
    return float(psi_rows(ref_counts, np.asarray(cur_counts)[np.newaxis], eps)[0])


def ks_and_wasserstein(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float]:
    """(KS statistic, Wasserstein-1 distance) of two sorted, finite samples; NaN if one is empty.

    Both are functions of the two empirical CDFs on the pooled values. A stable sort of the two
    sorted runs is a linear merge; tied values are read at the end of their run, like SciPy's
    searchsorted(side="right").
    """
    m, n = len(ref_sorted), len(cur_sorted)
    if m == 0 or n == 0:
        return math.nan, math.nan
    pooled = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(pooled, kind="stable")
    values = pooled[order]
    from_ref = np.cumsum(order < m, dtype=np.int32 if m + n < 2**31 else np.int64)
    seen = np.arange(1, m + n + 1)
    last_of_tie = np.append(values[1:] != values[:-1], True)
    if not last_of_tie.all():
        values, from_ref, seen = values[last_of_tie], from_ref[last_of_tie], seen[last_of_tie]
    gap = np.abs(from_ref / m - (seen - from_ref) / n)
    return float(gap.max()), float(np.sum(gap[:-1] * np.diff(values)))


def ks_pvalue(statistic: float, ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> float:
    """Two-sided p-value as `scipy.stats.ks_2samp(method="auto")` gives it.

    Large samples: Smirnov's asymptotic distribution, `kstwo.sf(d, round(m n / (m + n)))`, as
    SciPy does. Small samples (either <= 10,000): SciPy's exact computation (a few ms), whose
    occasional fallback warning is silenced because the fallback is the documented answer.
    """
    m, n = len(ref_sorted), len(cur_sorted)
    if m == 0 or n == 0 or math.isnan(statistic):
        return math.nan
    if max(m, n) <= KS_EXACT_MAX_N:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(ks_2samp(ref_sorted, cur_sorted).pvalue)
    big, small = max(m, n), min(m, n)
    return float(np.clip(kstwo.sf(statistic, round(big * small / (big + small))), 0.0, 1.0))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance, base 2 (in [0, 1]), of two histograms on the same categories."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return math.nan
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    divergence = (_kl_bits(p, m) + _kl_bits(q, m)) / 2.0
    return math.sqrt(max(divergence, 0.0))


def _kl_bits(a: np.ndarray, m: np.ndarray) -> float:
    """KL(a || m) in bits; 0 log 0 = 0 (m > 0 wherever a > 0 since m = (a + b) / 2)."""
    on = a > 0
    return float(np.sum(a[on] * np.log2(a[on] / m[on])))


def chi2_test(cur_counts: np.ndarray, ref_shares: np.ndarray) -> tuple[float, float]:
    """(statistic, p-value) of current counts against expected n * ref_shares, k - 1 d.o.f.

    `ref_shares` must be positive (smooth it first, see `smoothed_shares`). Fewer than two
    categories or no current rows: (NaN, NaN).
    """
    observed = np.asarray(cur_counts, dtype=np.float64)
    n = observed.sum()
    if len(observed) < 2 or n <= 0:
        return math.nan, math.nan
    expected = n * np.asarray(ref_shares, dtype=np.float64)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(chi2_distribution.sf(statistic, len(observed) - 1))


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, in the input order; NaN entries stay NaN and are
    not counted among the tests.

    adjusted_(i) = min over k >= i of p_(k) m / k, capped at 1 (p sorted ascending).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted
