"""`fraud train`: point-in-time features through the pipeline, a time-based split, a fit,
thresholds chosen on the later slice, a refit on every labelled row, and a verified bundle.

    split      validation = the latest `validation_fraction` of time; training ends one label
               delay before it (no label it learns from comes from after validation begins)
    first      bins from the training slice, C from a grid on the validation slice
               (`fraudcli.model.select`); its validation metrics are the ones reported
    thresholds chosen on the first model's validation scores by `[policy]`
    refit      the same bins and C on every row whose label is known at the end of the data
               (all but the last label delay), unless `refit=False`; it is the model the bundle
               serves. Its thresholds flag as many of the last label delay's rows (which
               neither model learnt from) as the first model's thresholds do there: the same
               alert budget, the same number of blocks
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, Bundle, save_bundle, sha256_file
from fraudcli.commands.audit import config_hash
from fraudcli.commands.reference import reference_profile
from fraudcli.commands.train_labels import joined, read_labels, with_targets
from fraudcli.config.load import Config
from fraudcli.errors import InputError
from fraudcli.features.feature_table import FeatureTable, collect_features
from fraudcli.features.from_parquet import clean_parquet_table
from fraudcli.features.store import InMemoryStore
from fraudcli.files import check_distinct
from fraudcli.io.dataset import dataset_files, dataset_sha256, is_dataset
from fraudcli.io.formats import ensure_readable
from fraudcli.io.read import read_batches
from fraudcli.model.metrics import OFF, Metrics, carry_thresholds, choose_thresholds, evaluate
from fraudcli.model.select import Fitted, fit_first, refit
from fraudcli.model.split import check_enough, check_split
from fraudcli.records.accounting import RunSummary
from fraudcli.records.labels import Label
from fraudcli.records.rejects import Item, Reject, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.samples import TRAIN, sample_path
from fraudcli.scoring.load import build_engine


@dataclass(frozen=True)
class TrainResult:
    bundle: Bundle
    metrics: Metrics  # the first model's, on the validation slice
    summary: RunSummary
    n_train: int
    n_validation: int
    thresholds: dict[str, float | str]  # what the bundle serves (the refit model's)
    converged: bool
    first_thresholds: dict[str, float | str]  # chosen on the validation slice
    fit: dict  # C, how it was chosen, the grid
    n_refit: int = 0  # rows the served model was refitted on (0: no refit)

    def to_dict(self) -> dict:
        return {
            "metrics": self.metrics.to_dict(),
            "thresholds": self.thresholds,
            "validation_thresholds": self.first_thresholds,
            "rows": {"train": self.n_train, "validation": self.n_validation},
            "refit_rows": self.n_refit,
            "fit": self.fit,
            "converged": self.converged,
            "run": self.summary.to_dict(),
        }


def train(
    batches: Iterable[list[Item]],
    config: Config,
    rejects: RejectSink,
    *,
    C: float | None = None,
    refit: bool = True,
    fingerprint: dict | None = None,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    labels: dict[str, Label] | None = None,
) -> TrainResult:
    """Fit a model on labelled `batches` (or on `labels` joined to them,
    `fraudcli.commands.train_labels`) and return the bundle (not yet saved). C None: chosen on
    the validation slice."""
    store = InMemoryStore(config.store)
    if labels is None:
        stream, later = _labelled(batches), None
    else:
        later = {}
        stream = joined(batches, labels, config.store.label_delay, later)
    table, summary = collect_features(
        stream, store, rejects, on_batch, strict=strict, later_labels=later
    )
    if labels is not None:
        table = with_targets(table, labels)
    options = dict(C=C, refit=refit, fingerprint=fingerprint, on_stage=on_stage)
    return train_table(table, summary, store, config, **options)


def train_table(
    table: FeatureTable,
    summary: RunSummary,
    store: InMemoryStore,
    config: Config,
    *,
    C: float | None = None,
    refit: bool = True,
    fingerprint: dict | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> TrainResult:
    """Split by time, fit, choose thresholds, refit, profile: the bundle of a feature table and
    the store state it left."""
    _check_enough(table)
    stage = on_stage or (lambda _name: None)
    delay = config.store.label_delay
    train_rows, valid_rows = time_split(table.ts, config.policy.validation_fraction, delay)
    stage("fitting the model" if C is not None else "choosing C on the validation slice")
    X, y = table.X, table.y.astype(np.float64)
    first = fit_first(X[train_rows], y[train_rows], X[valid_rows], y[valid_rows], C, sample=refit)
    stage("choosing thresholds on the validation slice")
    first_scores = first.scorer.proba(X[valid_rows])
    metrics, chosen = _validate(table, valid_rows, first_scores, config)
    served, cutoffs, n_refit = first, chosen, 0
    if refit:
        stage("refitting on every labelled row")
        known = table.ts <= table.ts.max() - delay
        served = _refit(first, X[known], y[known])
        # carried on the rows neither model learnt from: the last label delay of the data
        # (validation rows themselves when there is no delay)
        held_out = ~known if (~known).any() else valid_rows
        old, new = (model.proba(X[held_out]) for model in (first.scorer, served.scorer))
        cutoffs = carry_thresholds(old, new, chosen)
        n_refit = int(known.sum())
    stage("profiling the training data for drift reports")
    return finished(
        Trained(first, served if refit else None, int(train_rows.sum()), int(valid_rows.sum()),
                n_refit),
        metrics, chosen, cutoffs, store.snapshot(),
        lambda scorer, engine: reference_profile(table, scorer, engine, delay),
        (fingerprint or {}) | table.fingerprint(), config, summary,
    )  # fmt: skip


@dataclass(frozen=True)
class Trained:
    """The models of a training run (`refitted` None under --no-refit) and its row counts."""

    first: Fitted
    refitted: Fitted | None
    n_train: int
    n_valid: int
    n_refit: int


def finished(trained: Trained, metrics, chosen, cutoffs, state, profile, fingerprint: dict,
             config: Config, summary: RunSummary) -> TrainResult:  # fmt: skip
    """The bundle of a training run on either engine: the served model with the thresholds
    `cutoffs`, the store's `state`, and the drift profile `profile(scorer, engine)` makes."""
    served = trained.refitted or trained.first
    thresholds = _cutoffs(cutoffs)
    engine = build_engine(config, thresholds)
    bundle = Bundle(
        model=served.scorer.to_dict(),
        thresholds=thresholds,
        store=config.store.to_dict(),
        state=state,
        profile=profile(served.scorer, engine),
        metrics=metrics.to_dict(),
        fingerprint=fingerprint,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        config_hash=config_hash(config),
    )
    refit = trained.refitted is not None
    fit = trained.first.to_dict() | {"refit": served.to_dict() if refit else None}
    return TrainResult(
        bundle, metrics, summary, trained.n_train, trained.n_valid, thresholds,
        served.converged, _cutoffs(chosen), fit, trained.n_refit,
    )  # fmt: skip


def _refit(first: Fitted, X: np.ndarray, y: np.ndarray) -> Fitted:
    if y.min() == y.max():  # cannot happen after the split's checks, but say so if it does
        raise InputError("the labelled rows hold a single class: cannot refit")
    return refit(X, y, first)


def _cutoffs(pair: tuple[float, float | None]) -> dict[str, float | str]:
    review, block = pair
    return {"review": review, "block": OFF if block is None else block}


def _validate(table: FeatureTable, rows: np.ndarray, score: np.ndarray, config: Config):
    return validate_scores(table.y[rows], table.ts[rows], table.amount[rows], score, config)


def validate_scores(y, ts, amount, score: np.ndarray, config: Config):
    """The metrics on the validation rows at the thresholds chosen there by the policy."""
    day = (ts // 86400).astype(np.int64)
    policy = config.policy
    review, block = choose_thresholds(
        y,
        score,
        day,
        review_budget_per_day=policy.review_budget_per_day,
        block_precision=policy.block_precision,
    )
    return evaluate(y, score, amount, day, review, block), (review, block)


def _labelled(batches: Iterable[list[Item]]) -> Iterable[list[Item]]:
    """Training needs a label: a record without `is_fraud` becomes a reject."""
    for batch in batches:
        yield [
            (line, raw, Reject(line, "missing label 'is_fraud' (needed to train)", raw or ""))
            if isinstance(item, Txn) and item.is_fraud is None
            else (line, raw, item)
            for line, raw, item in batch
        ]


def _check_enough(table: FeatureTable) -> None:
    check_enough(len(table.y), int(table.y.sum()))


def time_split(ts: np.ndarray, fraction: float, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Validation = the latest `fraction` of time; training ends `gap` (the label delay)
    before it, so no label the model learns from comes from after validation begins."""
    cutoff = float(np.quantile(ts, 1.0 - fraction))
    valid = ts > cutoff
    train_rows = ts <= cutoff - gap
    check_split(int(train_rows.sum()), int(valid.sum()))
    return train_rows, valid


def input_or_default(data: Path | None) -> Path:
    """`data`, or the shipped training sample (train.parquet) when None."""
    return sample_path(TRAIN) if data is None else data


def input_sha256(data: Path) -> str:
    """The SHA-256 of a file, or of a dataset's files one after the other in input order."""
    return dataset_sha256(dataset_files(data)) if is_dataset(data) else sha256_file(data)


def train_file(
    data: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    strict: bool = False,
    C: float | None = None,
    refit: bool = True,
    on_batch: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    labels_path: Path | None = None,
) -> TrainResult:
    """Train on `data` and save the verified bundle to `model_dir` (default ./fraud-model).

    A clean Parquet file goes from Arrow columns straight to the batch features; any other
    input (or a file with a bad row, or labels from `labels_path`) goes record by record,
    with a reject for each bad row.
    """
    data = ensure_readable(input_or_default(data))
    check_distinct([data, labels_path], [("--rejects", rejects_path), ("--model", model_dir)])
    labels = None if labels_path is None else read_labels(labels_path, config)
    fingerprint = {"source": data.name, "sha256": input_sha256(data)}
    options = dict(C=C, refit=refit, fingerprint=fingerprint, on_stage=on_stage)
    started, store = time.perf_counter(), InMemoryStore(config.store)
    with RejectSink(rejects_path) as sink:
        table = None
        if labels is None:
            table = clean_parquet_table(data, config.columns, store, need_labels=True)
        if table is not None:
            if on_batch is not None:
                on_batch(len(table))
            seconds = time.perf_counter() - started
            summary = RunSummary(len(table), len(table), 0, seconds=seconds)
            result = train_table(table, summary, store, config, **options)
        else:
            batches = read_batches(data, config.columns)
            result = train(
                batches, config, sink, strict=strict, on_batch=on_batch, labels=labels, **options
            )
    save_bundle(result.bundle, model_dir or DEFAULT_MODEL_DIR)
    return result
