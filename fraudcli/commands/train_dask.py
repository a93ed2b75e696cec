"""`fraud train DATASET --engine dask`: the features and the fits on a Dask cluster
(`fraudcli.engines.dask.train`), then the bundle as the embedded `fraud train` makes it: the
same thresholds chosen on the validation slice, carried to the refitted model, the same
bundle layout (`fraudcli.commands.train.finished`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, save_bundle
from fraudcli.commands.engine import PartitionProgress, check_dask_input, engine_progress
from fraudcli.commands.reference import steady_profile
from fraudcli.commands.train import (
    Trained,
    TrainResult,
    finished,
    input_or_default,
    input_sha256,
    validate_scores,
)
from fraudcli.config.load import Config
from fraudcli.errors import UsageError
from fraudcli.files import check_distinct
from fraudcli.io.formats import ensure_readable
from fraudcli.model.metrics import carry_thresholds


def train_dataset_file(
    data: Path | None,
    *,
    config: Config,
    dask,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    strict: bool = False,
    C: float | None = None,
    refit: bool = True,
    progress: PartitionProgress | None = None,
    on_stage: Callable[[str], None] | None = None,
    labels_path: Path | None = None,
) -> TrainResult:
    """Train on the Parquet dataset `data` on the cluster `dask` (`DaskOptions`) and save the
    verified bundle to `model_dir` (default ./fraud-model). Labels are the data's own
    (`is_fraud`): labels from a file of their own (`--labels`) are the embedded engine's."""
    from fraudcli.engines.dask.train import train_dataset

    if labels_path is not None:
        raise UsageError(
            "--labels is not supported with --engine dask: join the labels into the dataset's "
            "is_fraud column, or train on the embedded engine"
        )
    data = check_dask_input(ensure_readable(input_or_default(data)))
    check_distinct([data], [("--rejects", rejects_path), ("--model", model_dir)])
    fingerprint = {"source": data.name, "sha256": input_sha256(data)}
    trained = train_dataset(
        data, columns=config.columns, store=config.store,
        fraction=config.policy.validation_fraction, C=C, refit=refit, options=dask,
        rejects_dir=rejects_path, strict=strict, progress=engine_progress(progress),
        on_stage=on_stage,
    )  # fmt: skip
    valid = trained.validation
    metrics, chosen = validate_scores(valid["y"], valid["ts"], valid["amount"], valid["p0"], config)
    cutoffs = chosen
    if trained.held_out is not None:
        cutoffs = carry_thresholds(trained.held_out["p0"], trained.held_out["p1"], chosen)
    sample = trained.profile
    every = np.ones(len(sample), dtype=bool)
    result = finished(
        Trained(trained.first, trained.served if refit else None, trained.n_train,
                trained.n_valid, trained.n_refit),
        metrics, chosen, cutoffs, trained.state,
        lambda scorer, engine: steady_profile(sample, every, scorer, engine,
                                              trained.warmup_excluded),
        fingerprint | trained.fingerprint, config, trained.summary,
    )  # fmt: skip
    trained.summary.engine = trained.stats
    save_bundle(result.bundle, model_dir or DEFAULT_MODEL_DIR)
    return result
