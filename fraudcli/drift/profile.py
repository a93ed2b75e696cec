"""The reference profile: what the training data looked like, stored in the model bundle.

Numeric feature: quantile bins with their reference counts, the missing count, mean and
standard deviation, and a deterministic sample of values (for KS and Wasserstein).
Categorical field: category counts and the missing count.

Bins. The edges are -inf, then the distinct values among (the reference minimum nudged one ulp
down, the minimum, the quantiles 1/b .. (b-1)/b with method "inverted_cdf", so edges are
observed values), then +inf; bin i holds edges[i] < x <= edges[i+1]. So ten bins of decile
mass for a continuous column, plus two almost empty ones: "below the reference minimum" and
"exactly the minimum". Ties collapse edges: a constant column c gets three bins (x < c,
x == c, x > c) and PSI measures only mass moving off c; a count that is mostly 0 keeps its
zeros in a bin of their own.

Missing = NaN or +-inf for numbers; None/null (and NaN in pandas input) for categories.

JSON: `to_dict` writes only the finite inner edges ("inner_edges"); the outer -inf/+inf edges
are implied and restored by `from_dict`. Undefined numbers (the mean of an all-missing column)
are null. Categories are strings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.drift._json import num, unnum
from fraudcli.drift.sample import bottom_k_sample

PROFILE_VERSION = 1


def _frozen(values: Any, dtype: type) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class NumericProfile:
    edges: np.ndarray  # float64, edges[0] = -inf, edges[-1] = +inf
    counts: np.ndarray  # int64 reference rows per bin (missing excluded)
    n_rows: int
    n_missing: int
    mean: float
    std: float  # population standard deviation of the non-missing values
    sample: np.ndarray  # sorted float64, at most sample_size values

    @property
    def missing_rate(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else math.nan

    @property
    def shares(self) -> np.ndarray:
        total = self.counts.sum()
        return self.counts / total if total else np.zeros(len(self.counts))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "numeric",
            "inner_edges": [float(e) for e in self.edges[1:-1]],
            "counts": [int(c) for c in self.counts],
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "mean": num(self.mean),
            "std": num(self.std),
            "sample": [float(v) for v in self.sample],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NumericProfile:
        return cls(
            edges=_frozen([-math.inf, *d["inner_edges"], math.inf], np.float64),
            counts=_frozen(d["counts"], np.int64),
            n_rows=int(d["n_rows"]),
            n_missing=int(d["n_missing"]),
            mean=unnum(d["mean"]),
            std=unnum(d["std"]),
            sample=_frozen(d["sample"], np.float64),
        )


@dataclass(frozen=True)
class CategoricalProfile:
    categories: tuple[str, ...]  # most frequent first, ties by name
    counts: tuple[int, ...]
    n_rows: int
    n_missing: int

    @property
    def missing_rate(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "categories": list(self.categories),
            "counts": list(self.counts),
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CategoricalProfile:
        return cls(
            tuple(str(c) for c in d["categories"]),
            tuple(int(c) for c in d["counts"]),
            int(d["n_rows"]),
            int(d["n_missing"]),
        )


@dataclass(frozen=True)
class Profile:
    n_rows: int
    numeric: dict[str, NumericProfile]
    categorical: dict[str, CategoricalProfile]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PROFILE_VERSION,
            "n_rows": self.n_rows,
            "numeric": {name: p.to_dict() for name, p in self.numeric.items()},
            "categorical": {name: p.to_dict() for name, p in self.categorical.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Profile:
        if d.get("version") != PROFILE_VERSION:
            raise ValueError(f"unsupported profile version {d.get('version')!r}")
        return cls(
            n_rows=int(d["n_rows"]),
            numeric={k: NumericProfile.from_dict(v) for k, v in d["numeric"].items()},
            categorical={k: CategoricalProfile.from_dict(v) for k, v in d["categorical"].items()},
        )


def as_float_array(values: Any) -> np.ndarray:
    """1-D float64 view of numbers (NumPy, pandas, pyarrow, lists); nulls become NaN."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64).reshape(-1)


def bin_edges(finite: np.ndarray, bins: int = 10) -> np.ndarray:
    """Edges (see the module docstring) from the finite reference values; (-inf, inf) if none."""
    if len(finite) == 0:
        return np.array([-math.inf, math.inf])
    low = float(finite.min())
    levels = np.arange(1, bins) / bins
    quantiles = np.quantile(finite, levels, method="inverted_cdf") if bins > 1 else []
    inner = np.unique(np.concatenate([[np.nextafter(low, -math.inf), low], quantiles]))
    return np.concatenate([[-math.inf], inner, [math.inf]])


def bin_index(edges: np.ndarray, finite: np.ndarray) -> np.ndarray:
    """Bin of each finite value: i such that edges[i] < x <= edges[i + 1]."""
    return np.searchsorted(edges[1:-1], finite, side="left")


def profile_numeric(
    values: Any, *, bins: int = 10, sample_size: int = 5000, seed: int = 0
) -> NumericProfile:
    """Profile one numeric column (NaN/inf = missing). Deterministic for a given seed."""
    x = as_float_array(values)
    finite = x[np.isfinite(x)]
    edges = bin_edges(finite, bins)
    counts = np.bincount(bin_index(edges, finite), minlength=len(edges) - 1)
    return NumericProfile(
        edges=_frozen(edges, np.float64),
        counts=_frozen(counts, np.int64),
        n_rows=len(x),
        n_missing=len(x) - len(finite),
        mean=float(finite.mean()) if len(finite) else math.nan,
        std=float(finite.std()) if len(finite) else math.nan,
        sample=_frozen(bottom_k_sample(x, sample_size, seed), np.float64),
    )


def as_string_array(values: Any) -> pa.Array:
    """A pyarrow string array from a pyarrow (chunked, dictionary) array, pandas or a sequence."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def count_categories(values: Any) -> tuple[dict[str, int], int, int]:
    """({category: count}, missing count, row count) of one categorical column."""
    array = as_string_array(values)
    counted = pc.value_counts(array.drop_null())
    names, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
    return dict(zip(names, counts, strict=True)), array.null_count, len(array)


def profile_categorical(values: Any) -> CategoricalProfile:
    """Profile one categorical column (None/null = missing; "" is a category)."""
    found, n_missing, n_rows = count_categories(values)
    ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
    return CategoricalProfile(
        tuple(c for c, _ in ranked), tuple(int(n) for _, n in ranked), n_rows, n_missing
    )


def build_profile(
    numeric: Mapping[str, Any],
    categorical: Mapping[str, Any],
    *,
    bins: int = 10,
    sample_size: int = 5000,
    seed: int = 0,
) -> Profile:
    """Profile every column; all columns must have the same number of rows."""
    num_profiles = {
        name: profile_numeric(v, bins=bins, sample_size=sample_size, seed=seed)
        for name, v in numeric.items()
    }
    cat_profiles = {name: profile_categorical(v) for name, v in categorical.items()}
    lengths = {p.n_rows for p in [*num_profiles.values(), *cat_profiles.values()]}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    return Profile(lengths.pop() if lengths else 0, num_profiles, cat_profiles)
