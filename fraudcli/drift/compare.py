"""Compare current data with the reference profile, one feature at a time.

Numeric: PSI on the reference bins (exact, all rows), KS statistic and p-value and the
Wasserstein distance between the reference sample and the current values (all of them here;
the reservoir sample when streaming, see `stream.py`), scaled by the reference standard
deviation. For a constant reference (std 0) the distance is left in the feature's own units:
any spread-based scale is 0 there (the IQR of a constant is 0 too), and PSI already measures
mass moving off the constant.

Categorical: Jensen-Shannon distance (base 2) of the category shares, unseen categories listed
and counted; a chi-squared test of the current counts against the reference shares smoothed
like PSI (every category, unseen ones included, gets `eps` of share before renormalising).
Missing values are excluded from the distributions and reported as missing rates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fraudcli.drift._json import num, nums
from fraudcli.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    as_float_array,
    bin_index,
    count_categories,
)
from fraudcli.drift.stats import (
    PSI_EPS,
    chi2_test,
    js_distance,
    ks_and_wasserstein,
    ks_pvalue,
    psi,
    psi_rows,
    smoothed_shares,
)

TOP_CATEGORIES = 10


@dataclass(frozen=True)
class NumericDrift:
    psi: float
    ks_stat: float
    ks_pvalue: float
    wasserstein_scaled: float
    missing_rate_ref: float
    missing_rate_cur: float
    edges: tuple[float, ...]  # bin edges, -inf first and +inf last
    ref_hist: tuple[float, ...]  # proportions of non-missing rows per bin (unsmoothed)
    cur_hist: tuple[float, ...]
    n_rows_ref: int
    n_rows_cur: int
    ks_n_ref: int  # sizes of the samples KS and Wasserstein were computed on
    ks_n_cur: int

    def to_dict(self) -> dict[str, Any]:
        d = {k: num(v) if isinstance(v, float) else v for k, v in asdict(self).items()}
        d["edges"] = nums(self.edges)  # the outer edges become null
        d["ref_hist"], d["cur_hist"] = list(self.ref_hist), list(self.cur_hist)
        return d


@dataclass(frozen=True)
class CategoryShare:
    category: str
    ref_share: float
    cur_share: float


@dataclass(frozen=True)
class CategoricalDrift:
    js_distance: float
    chi2: float
    chi2_pvalue: float
    unseen: tuple[str, ...]  # current categories absent from the reference, most frequent first
    unseen_share: float  # share of current non-missing rows in unseen categories
    missing_rate_ref: float
    missing_rate_cur: float
    top: tuple[CategoryShare, ...]  # largest max(ref, cur) share first
    n_rows_ref: int
    n_rows_cur: int

    def to_dict(self) -> dict[str, Any]:
        d = {k: num(v) if isinstance(v, float) else v for k, v in asdict(self).items()}
        d["unseen"] = list(self.unseen)
        d["top"] = [
            {"category": s.category, "ref_share": s.ref_share, "cur_share": s.cur_share}
            for s in self.top
        ]
        return d


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = counts.sum()
    return tuple(float(s) for s in (counts / total if total else np.zeros(len(counts))))


def numeric_drift(
    ref: NumericProfile, cur_counts: np.ndarray, n_rows: int, n_missing: int, cur_sorted: np.ndarray
) -> NumericDrift:
    """Assemble the result from current bin counts and a sorted current sample."""
    ks, distance = ks_and_wasserstein(ref.sample, cur_sorted)
    spread = ref.std if ref.std > 0 else 1.0
    return NumericDrift(
        psi=psi(ref.counts, cur_counts) if cur_counts.sum() and ref.counts.sum() else math.nan,
        ks_stat=ks,
        ks_pvalue=ks_pvalue(ks, ref.sample, cur_sorted),
        wasserstein_scaled=distance / spread,
        missing_rate_ref=ref.missing_rate,
        missing_rate_cur=_rate(n_missing, n_rows),
        edges=tuple(float(e) for e in ref.edges),
        ref_hist=_shares(ref.counts),
        cur_hist=_shares(cur_counts),
        n_rows_ref=ref.n_rows,
        n_rows_cur=n_rows,
        ks_n_ref=len(ref.sample),
        ks_n_cur=len(cur_sorted),
    )


def compare_numeric(ref: NumericProfile, current: Any) -> NumericDrift:
    """Drift statistics of one numeric column against its reference profile (NaN = missing)."""
    x = as_float_array(current)
    cur = np.sort(x[np.isfinite(x)])
    # the current values are sorted anyway: bin counts are differences of edge positions
    below = np.searchsorted(cur, ref.edges[1:-1], side="right")
    counts = np.diff(np.concatenate([[0], below, [len(cur)]]))
    return numeric_drift(ref, counts, len(x), len(x) - len(cur), cur)


def psi_by_period(
    ref: NumericProfile, values: Any, period_ids: Any, eps: float = PSI_EPS
) -> dict[Any, float]:
    """PSI of each period's values against the reference ({period: psi}, periods sorted).

    One bincount over (period, bin); a period with no non-missing value gets NaN.
    """
    x = as_float_array(values)
    periods, codes = np.unique(np.asarray(period_ids).reshape(-1), return_inverse=True)
    if len(codes) != len(x):
        raise ValueError(f"{len(x)} values but {len(codes)} period ids")
    finite = np.isfinite(x)
    n_bins = len(ref.counts)
    cells = codes[finite] * n_bins + bin_index(ref.edges, x[finite])
    counts = np.bincount(cells, minlength=len(periods) * n_bins).reshape(len(periods), n_bins)
    return dict(zip(periods.tolist(), psi_rows(ref.counts, counts, eps).tolist(), strict=True))


def categorical_drift(
    ref: CategoricalProfile, found: Mapping[str, int], n_rows: int, n_missing: int
) -> CategoricalDrift:
    """Assemble the result from the current {category: count}."""
    known = set(ref.categories)
    unseen = sorted((c for c in found if c not in known), key=lambda c: (-found[c], c))
    names = [*ref.categories, *unseen]
    ref_counts = np.array([*ref.counts, *[0] * len(unseen)], dtype=np.float64)
    cur_counts = np.array([found.get(c, 0) for c in names], dtype=np.float64)
    statistic, pvalue = chi2_test(cur_counts, smoothed_shares(ref_counts))
    n_cur = cur_counts.sum()
    return CategoricalDrift(
        js_distance=js_distance(ref_counts, cur_counts),
        chi2=statistic,
        chi2_pvalue=pvalue,
        unseen=tuple(unseen),
        unseen_share=float(sum(found[c] for c in unseen) / n_cur) if n_cur else math.nan,
        missing_rate_ref=ref.missing_rate,
        missing_rate_cur=_rate(n_missing, n_rows),
        top=_top_shares(names, ref_counts, cur_counts),
        n_rows_ref=ref.n_rows,
        n_rows_cur=n_rows,
    )


def _top_shares(names: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple:
    ref_share = np.array(_shares(ref_counts))
    cur_share = np.array(_shares(cur_counts))
    order = np.argsort(-np.maximum(ref_share, cur_share), kind="stable")[:TOP_CATEGORIES]
    return tuple(CategoryShare(names[i], float(ref_share[i]), float(cur_share[i])) for i in order)


def compare_categorical(ref: CategoricalProfile, current: Any) -> CategoricalDrift:
    """Drift statistics of one categorical column against its reference profile."""
    found, n_missing, n_rows = count_categories(current)
    return categorical_drift(ref, found, n_rows, n_missing)
