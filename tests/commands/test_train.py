"""Training: the columnar fast path and the record path make the same bundle; the split."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from fraudcli.commands.train import time_split, train, train_file
from fraudcli.config.load import load_config
from fraudcli.errors import InputError
from fraudcli.io.read import read_batches
from fraudcli.records.rejects import RejectSink


def test_columnar_path_equals_the_record_path(world, tmp_path, monkeypatch):
    config = load_config()
    with monkeypatch.context() as patch:  # the clean file must not take the record path
        patch.setattr("fraudcli.commands.train.collect_features", None)
        fast = train_file(world / "train.parquet", config=config, model_dir=tmp_path / "m")
    slow = train(read_batches(world / "train.parquet"), config, RejectSink(None))
    assert fast.bundle.thresholds == slow.bundle.thresholds
    assert fast.bundle.metrics == slow.bundle.metrics
    assert fast.bundle.model["edges"] == slow.bundle.model["edges"]
    weights = fast.bundle.model["weights"], slow.bundle.model["weights"]
    for ours, theirs in zip(*weights, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    for name, table in slow.bundle.state.items():
        assert fast.bundle.state[name].equals(table), name
    assert fast.bundle.fingerprint["rows"] == slow.bundle.fingerprint["rows"]


def test_a_bad_row_falls_back_to_the_record_path_with_a_reject(world, tmp_path):
    table = pq.read_table(world / "train.parquet").to_pandas()
    table.loc[5, "amount"] = -1.0
    table.loc[9, "is_fraud"] = None
    path = tmp_path / "messy.parquet"
    table.to_parquet(path)
    rejects = tmp_path / "rejects.jsonl"
    result = train_file(path, config=load_config(), model_dir=tmp_path / "m", rejects_path=rejects)
    assert result.summary.read == len(table) and result.summary.rejected == 2
    lines = rejects.read_text().splitlines()
    assert '"line": 6' in lines[0] and "negative" in lines[0]
    assert '"line": 10' in lines[1] and "missing label" in lines[1]


def test_time_split_leaves_a_gap_of_the_label_delay():
    ts = np.arange(0, 100 * 86400, 600, dtype=np.float64)
    train_rows, valid = time_split(ts, 0.2, 7 * 86400)
    assert ts[train_rows].max() <= ts[valid].min() - 7 * 86400
    assert valid.mean() == pytest.approx(0.2, abs=0.01)
    with pytest.raises(InputError, match="too little time"):
        time_split(ts[:200], 0.2, 7 * 86400)
