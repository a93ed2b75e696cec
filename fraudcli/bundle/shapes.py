"""The declared shape of the JSON parts of a model bundle, checked before anything is built.

Checksums prove that the files agree with the manifest, not what is in them: whoever edits a file
can recompute them (and whoever holds the signing key can sign). So every part is checked against
what `fraud train` writes, and a part of another shape is a BundleError naming the part and the
key, never a traceback from deep inside the loader.

    manifest.json  thresholds {review, block}: numbers, 0 <= review <= block <= 1, or "off"; store
                   {label_delay, lateness}: finite numbers >= 0; files: exactly the files of
                   its schema version (`required_files`), each with a SHA-256; metrics,
                   training_data: tables; created: text
    model.json     kind "logistic_regression"; coef, scaler.mean, scaler.scale: one finite number
                   per feature (scale > 0); a finite intercept
    profile.json   version 1; per numeric input (features, fraud_probability, lat, lon) increasing
                   finite inner edges, one count more than edges, counts + missing = rows, a
                   sorted finite sample; per categorical field unique categories with counts
The state tables are checked in `fraudcli.bundle_state`. Unknown keys are ignored, except in
the tables that are passed on whole (thresholds, store).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any, NoReturn

import numpy as np

from fraudcli.errors import BundleError
from fraudcli.features.spec import FEATURE_NAMES

STATE_TABLES = ("merchant_entries", "user_entries", "user_last")
OPTIONAL_STATE_TABLES = ("label_changes", "transactions")  # a state with labels given, or ids
# the state tables' files by schema version: Arrow IPC from 3 (read without decoding), Parquet in 2
STATE_SUFFIX = {2: ".parquet", 3: ".arrow"}


def state_file(table: str, version: int) -> str:
    return f"state/{table}{STATE_SUFFIX[version]}"


def required_files(version: int) -> tuple[str, ...]:
    return ("model.json", "profile.json", *(state_file(t, version) for t in STATE_TABLES))


def optional_files(version: int) -> tuple[str, ...]:
    return tuple(state_file(t, version) for t in OPTIONAL_STATE_TABLES)


PROFILE_NUMERIC = (*FEATURE_NAMES, "fraud_probability", "lat", "lon")
PROFILE_CATEGORICAL = (
    "merchant_category",
    "country",
    "channel",
    "has_merchant_id",
    "has_device_id",
    "is_fraud",
)
DECISION_NAMES = ("ALLOW", "REVIEW", "BLOCK")
MAX_COUNT = 2**53  # counts beyond this cannot be exact in a float, nor real
_SHA256 = re.compile(r"[0-9a-f]{64}")


def shown(value: Any) -> str:
    """A short, printable picture of a value from a bundle for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Shape:
    """Checks on one part; each failure is a BundleError naming the part and the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, what: str) -> NoReturn:
        raise BundleError(f"{self.where}: {key} {what}; retrain with `fraud train`")

    def table(self, value: Any, key: str, required: Iterable[str] = (), exact: bool = False):
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, got {shown(value)}")
        missing = sorted(set(required) - set(value))
        if missing:
            self.fail(key, f"lacks {', '.join(missing)}")
        extra = sorted(set(value) - set(required)) if exact else []
        if extra:
            self.fail(key, f"has unknown keys {shown(extra)}")
        return value

    def number(self, value: Any, key: str, low: float = -math.inf, high: float = math.inf):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"must be a number, got {shown(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not (math.isfinite(number) and low <= number <= high):
            self.fail(key, f"must be a finite number in [{low:g}, {high:g}], got {shown(value)}")
        return number

    def optional_number(self, value: Any, key: str, low: float = -math.inf) -> None:
        if value is not None:
            self.number(value, key, low)

    def count(self, value: Any, key: str, high: int = MAX_COUNT) -> int:
        if type(value) is not int or not 0 <= value <= high:
            self.fail(key, f"must be a whole number in [0, {high}], got {shown(value)}")
        return value

    def numbers(self, value: Any, key: str, length: int | None = None) -> np.ndarray:
        if not isinstance(value, list) or (length is not None and len(value) != length):
            wanted = "a list" if length is None else f"a list of {length} numbers"
            self.fail(key, f"must be {wanted}, got {shown(value)[:40]}")
        if not all(type(v) is float or type(v) is int for v in value):
            self.fail(key, "must hold numbers only")
        try:
            array = np.asarray(value, dtype=np.float64)
        except OverflowError:
            self.fail(key, "holds a number too large for a float")
        if not np.isfinite(array).all():
            self.fail(key, "holds a number that is not finite")
        return array

    def counts(self, value: Any, key: str, length: int | None = None) -> int:
        """The total of a list of counts."""
        if not isinstance(value, list) or (length is not None and len(value) != length):
            self.fail(key, f"must be a list of {length} counts, got {shown(value)}")
        return sum(self.count(v, key) for v in value)

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            self.fail(key, f"must be text, got {shown(value)}")
        return value

    def digest(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not _SHA256.fullmatch(value):
            self.fail(key, f"must be a SHA-256 (64 lowercase hex digits), got {shown(value)}")
        return value


def check_manifest(manifest: dict, where: str) -> None:
    """The manifest's tables (its format, version, features and checksum are checked before)."""
    s = Shape(f"{where}: manifest.json")
    thresholds = s.table(manifest["thresholds"], "thresholds", ("review", "block"), exact=True)
    review = _threshold(s, thresholds["review"], "thresholds.review")
    block = _threshold(s, thresholds["block"], "thresholds.block")
    if review is not None and block is not None and review > block:
        s.fail("thresholds", f"need review <= block, got review {review:g} > block {block:g}")
    store = s.table(manifest["store"], "store", ("label_delay", "lateness"), exact=True)
    for key in ("label_delay", "lateness"):
        s.number(store[key], f"store.{key}", 0.0)
    for key in ("metrics", "training_data"):
        if key in manifest:
            s.table(manifest[key], key)
    if "created" in manifest:
        s.text(manifest["created"], "created")
    if "config_hash" in manifest:
        s.digest(manifest["config_hash"], "config_hash")
    check_files(s, s.table(manifest["files"], "files"), manifest["schema_version"])


def check_files(s: Shape, files: dict, version: int) -> None:
    """Exactly the files the format requires, by relative paths that stay inside the bundle."""
    for name, digest in files.items():
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or not parts:
            s.fail("files", f"names a path outside the bundle: {shown(name)}")
        s.digest(digest, f"files[{shown(name)}]")
    required = required_files(version)
    missing = sorted(set(required) - set(files))
    if missing:
        s.fail("files", f"does not list {', '.join(missing)}, which the format requires")
    unknown = sorted(set(files) - set(required) - set(optional_files(version)))
    if unknown:
        s.fail("files", f"lists files the format does not have: {shown(unknown)}")


def _threshold(s: Shape, value: Any, key: str) -> float | None:
    """A probability in [0, 1], or the word "off" (the model neither reviews nor blocks)."""
    if value == "off":
        return None
    return s.number(value, key, 0.0, 1.0)


def check_model(model: Any, where: str) -> None:
    """The binned logistic regression `fraud train` writes (or the plain linear one of older
    code): per feature increasing finite bin edges, one finite weight and a count per slot."""
    s = Shape(f"{where}: model.json")
    s.table(model, "the model", ("kind",))
    if model["kind"] == "logistic_regression":
        _linear(s, model)
        return
    if model["kind"] != "binned_logistic_regression":
        s.fail("kind", f"must be 'binned_logistic_regression', got {shown(model['kind'])}")
    s.table(model, "the model", ("kind", "edges", "weights", "counts", "intercept", "fit"))
    n = len(FEATURE_NAMES)
    for key in ("edges", "weights", "counts"):
        if not isinstance(model[key], list) or len(model[key]) != n:
            s.fail(key, f"must be a list of {n} lists, one per feature")
    for j, (edges, weights, counts) in enumerate(
        zip(model["edges"], model["weights"], model["counts"], strict=True)
    ):
        e = s.numbers(edges, f"edges[{j}]")
        if (np.diff(e) <= 0).any():
            s.fail(f"edges[{j}]", "must increase")
        s.numbers(weights, f"weights[{j}]", len(e) + 2)
        if (s.numbers(counts, f"counts[{j}]", len(e) + 2) < 0).any():
            s.fail(f"counts[{j}]", "must not be negative")
    s.number(model["intercept"], "intercept")
    s.table(model["fit"], "fit")


def _linear(s: Shape, model: Any) -> None:
    s.table(model, "the model", ("kind", "coef", "intercept", "scaler"))
    n = len(FEATURE_NAMES)
    s.numbers(model["coef"], "coef", n)
    s.number(model["intercept"], "intercept")
    scaler = s.table(model["scaler"], "scaler", ("mean", "scale"))
    s.numbers(scaler["mean"], "scaler.mean", n)
    if (s.numbers(scaler["scale"], "scaler.scale", n) <= 0).any():
        s.fail("scaler.scale", "must be positive")


def check_profile(profile: Any, where: str) -> None:
    s = Shape(f"{where}: profile.json")
    s.table(profile, "the profile", ("version", "n_rows", "numeric", "categorical"))
    if type(profile["version"]) is not int or profile["version"] != 1:
        s.fail("version", f"must be 1, got {shown(profile['version'])}")
    rows = s.count(profile["n_rows"], "n_rows")
    numeric = s.table(profile["numeric"], "numeric", PROFILE_NUMERIC, exact=True)
    for name in PROFILE_NUMERIC:
        _numeric(s, numeric[name], f"numeric.{name}", rows)
    categorical = s.table(profile["categorical"], "categorical", PROFILE_CATEGORICAL, exact=True)
    for name in PROFILE_CATEGORICAL:
        _categorical(s, categorical[name], f"categorical.{name}", rows)
    if "decisions" in profile:
        decisions = s.table(profile["decisions"], "decisions", ("decision",), exact=True)
        found = _categorical(s, decisions["decision"], "decisions.decision", None)
        if not set(found) <= set(DECISION_NAMES):
            s.fail("decisions.decision", f"has categories other than {', '.join(DECISION_NAMES)}")
    if "warmup_excluded" in profile:
        s.count(profile["warmup_excluded"], "warmup_excluded")


def _numeric(s: Shape, entry: Any, key: str, rows: int) -> None:
    keys = ("inner_edges", "counts", "n_rows", "n_missing", "mean", "std", "sample")
    s.table(entry, key, keys)
    edges = s.numbers(entry["inner_edges"], f"{key}.inner_edges")
    if (np.diff(edges) <= 0).any():
        s.fail(f"{key}.inner_edges", "must increase")
    total = s.counts(entry["counts"], f"{key}.counts", len(edges) + 1)
    _rows(s, entry, key, rows, total)
    s.optional_number(entry["mean"], f"{key}.mean")
    s.optional_number(entry["std"], f"{key}.std", 0.0)
    if (np.diff(s.numbers(entry["sample"], f"{key}.sample")) < 0).any():
        s.fail(f"{key}.sample", "must be sorted")


def _categorical(s: Shape, entry: Any, key: str, rows: int | None) -> list[str]:
    s.table(entry, key, ("categories", "counts", "n_rows", "n_missing"))
    categories = entry["categories"]
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        s.fail(f"{key}.categories", "must be a list of text")
    if len(set(categories)) != len(categories):
        s.fail(f"{key}.categories", "must not repeat a category")
    total = s.counts(entry["counts"], f"{key}.counts", len(categories))
    _rows(s, entry, key, rows, total)
    return categories


def _rows(s: Shape, entry: dict, key: str, rows: int | None, counted: int) -> None:
    n_rows = s.count(entry["n_rows"], f"{key}.n_rows")
    if rows is not None and n_rows != rows:
        s.fail(f"{key}.n_rows", f"is {n_rows}, the profile's is {rows}")
    missing = s.count(entry["n_missing"], f"{key}.n_missing", n_rows)
    if counted + missing != n_rows:
        s.fail(f"{key}.counts", f"add up to {counted} + {missing} missing, not {n_rows} rows")
