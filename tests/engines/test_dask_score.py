"""`fraud score DATASET --engine dask -o DIR` on a real LocalCluster equals the embedded
`fraud score` of the same rows: every output row, reject and count, continuing from the
bundle's state (ids resent from the training data and within the dataset, late rows, a bad
row), from a `--state` directory that holds labels given after the fact, and with the state
it writes back scoring the next day as the embedded one's does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fraudcli.commands.label import label_file
from fraudcli.commands.score import score_file
from fraudcli.commands.score_dask import score_dataset_file
from fraudcli.config.load import load_config
from fraudcli.errors import UsageError
from fraudcli.simulation.simulate import simulate
from fraudcli.state.directory import read_state
from fraudcli.state.keeper import StateOptions
from tests.conftest import SEED
from tests.engines.conftest import DASK_WARNINGS
from tests.helpers import run

pytestmark = [pytest.mark.filterwarnings(w) for w in DASK_WARNINGS]
HOUR = 3600


def day(start: str, n: int, seed: int) -> pa.Table:
    return simulate(n, seed=seed, start=start, days=1)


def messy(table: pa.Table, train: pa.Table) -> pa.Table:
    """A few ids resent (from the training data's last days and from earlier rows), a few
    rows stamped up to 20 hours back (within the day of lateness), one negative amount."""
    rng = np.random.default_rng(3)
    ids = table["transaction_id"].to_pylist()
    old = train["transaction_id"].to_pylist()[-500:]
    for i, row in enumerate(rng.choice(len(ids), 8, replace=False).tolist()):
        ids[row] = old[i * 50] if i < 4 else ids[i]
    ts = table["timestamp"].to_numpy().astype("datetime64[us]").astype(np.int64)
    late = rng.choice(len(ts), 15, replace=False)
    ts[late] -= rng.integers(1, 20, len(late)) * HOUR * 1_000_000
    amount = table["amount"].to_numpy().copy()
    amount[7] = -1.0
    for name, values in (("transaction_id", pa.array(ids, pa.string())),
                         ("timestamp", pa.array(ts.astype("datetime64[us]"),
                                                table["timestamp"].type)),
                         ("amount", pa.array(amount))):  # fmt: skip
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table


def as_dataset(table: pa.Table, root: Path, cuts: list[int], group_rows: int) -> Path:
    root.mkdir(parents=True)
    bounds = [0, *cuts, len(table)]
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        pq.write_table(table.slice(a, b - a), root / f"{i}.parquet", row_group_size=group_rows)
    return root


def parts(directory: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(directory.glob("part-*.parquet"))])


def rejects_of(directory: Path) -> str:
    return "".join(p.read_text() for p in sorted(directory.glob("*.jsonl")))


def embedded(data: Path, out: Path, model_dir, state: Path | None = None):
    summary = score_file(
        data, out, config=load_config(), model_dir=model_dir,
        rejects_path=out.with_suffix(".rejects.jsonl"), state=StateOptions(state),
    )  # fmt: skip
    return summary, pq.read_table(out), out.with_suffix(".rejects.jsonl").read_text()


def on_cluster(data: Path, out: Path, model_dir, options, state: Path | None = None):
    summary = score_dataset_file(
        data, out, config=load_config(), dask=options, model_dir=model_dir,
        rejects_path=out.with_name(out.name + "-rejects"), state=StateOptions(state),
    )  # fmt: skip
    return summary, parts(out), rejects_of(out.with_name(out.name + "-rejects"))


def assert_same_run(got, want) -> None:
    (summary, table, rejects), (want_summary, want_table, want_rejects) = got, want
    assert table.schema.equals(want_table.schema)
    assert table.equals(want_table)
    assert rejects == want_rejects
    assert (summary.read, summary.written, summary.rejected) == (
        want_summary.read, want_summary.written, want_summary.rejected,
    )  # fmt: skip
    assert summary.decisions == want_summary.decisions
    assert summary.reject_reasons == want_summary.reject_reasons


def test_backfill_from_the_bundle_s_state_is_the_embedded_run(
    dask_options, world, model_dir, tmp_path
):
    train = pq.read_table(world / "train.parquet")
    table = messy(day("2026-02-10", 4_000, SEED), train)
    pq.write_table(table, tmp_path / "whole.parquet")
    data = as_dataset(table, tmp_path / "ds", [1_500, 2_600], 400)
    want = embedded(tmp_path / "whole.parquet", tmp_path / "e.parquet", model_dir)
    got = on_cluster(data, tmp_path / "out", model_dir, dask_options(1_000))
    assert_same_run(got, want)
    # four ids from the training data, three repeated within the data, a negative amount
    assert want[0].rejected == 8
    assert sum(n for r, n in want[0].reject_reasons.items() if r.startswith("duplicate")) == 7
    assert got[0].engine.partitions == 6


def sorted_table(table: pa.Table, keys: list[str]) -> pa.Table:
    """A state table in a canonical order (keys, then time): the order of keys in a state is
    the order of their first appearance, which the column path counts from its own coding."""
    return table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))


def test_a_state_with_later_labels_continues_and_is_written_back(
    dask_options, world, model_dir, tmp_path
):
    """Day one scored with --state, labels for it arriving on day ten (after t + d: label
    changes, undone for the rows before they arrive), day eight scored on the cluster and
    embedded from copies of that state: the same rows, and states that score day eleven
    alike."""
    first = day("2026-02-10", 2_500, SEED + 1)
    pq.write_table(first, tmp_path / "d1.parquet")
    state = tmp_path / "state"
    score_file(tmp_path / "d1.parquet", tmp_path / "d1.jsonl", config=load_config(),
               model_dir=model_dir, state=StateOptions(state))  # fmt: skip
    ids = first["transaction_id"].to_pylist()
    labels = [{"transaction_id": ids[i], "is_fraud": i % 3 == 0, "label_time":
               "2026-02-20T12:00:00Z"} for i in range(0, 600, 7)]  # fmt: skip
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))
    label_file(tmp_path / "labels.jsonl", state_path=state, config=load_config(),
               model_dir=model_dir)  # fmt: skip
    assert read_state(state).tables["label_changes"].num_rows
    second = day("2026-02-18", 2_500, SEED + 2)
    pq.write_table(second, tmp_path / "d2.parquet")
    data = as_dataset(second, tmp_path / "ds2", [1_000], 300)
    shutil.copytree(state, tmp_path / "s-emb")
    shutil.copytree(state, tmp_path / "s-dask")
    want = embedded(tmp_path / "d2.parquet", tmp_path / "e2.parquet", model_dir, tmp_path / "s-emb")
    got = on_cluster(data, tmp_path / "out2", model_dir, dask_options(700), tmp_path / "s-dask")
    assert_same_run(got, want)
    ours, theirs = read_state(tmp_path / "s-dask").tables, read_state(tmp_path / "s-emb").tables
    keys = {"user_entries": ["user_id", "ts"], "user_last": ["user_id"],
            "merchant_entries": ["merchant_id", "ts"], "label_changes": ["merchant_id", "ts"],
            "transactions": ["transaction_id"]}  # fmt: skip
    for name, by in keys.items():
        assert sorted_table(ours[name], by).equals(sorted_table(theirs[name], by)), name
    third = day("2026-02-21", 1_500, SEED + 3)
    pq.write_table(third, tmp_path / "d3.parquet")
    after_dask = embedded(tmp_path / "d3.parquet", tmp_path / "x.parquet", model_dir,
                          tmp_path / "s-dask")  # fmt: skip
    after_emb = embedded(tmp_path / "d3.parquet", tmp_path / "y.parquet", model_dir,
                         tmp_path / "s-emb")  # fmt: skip
    assert after_dask[1].equals(after_emb[1])


def test_the_cli_scores_on_the_cluster(dask_cluster, world, model_dir, tmp_path):
    table = day("2026-02-10", 1_200, SEED)
    data = as_dataset(table, tmp_path / "ds", [600], 300)
    address = dask_cluster.scheduler_address
    result = run("score", data, "--engine", "dask", "--scheduler", address,
                 "--model", model_dir, "-o", tmp_path / "out")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "read 1,200 = written 1,200 + rejected 0" in result.output
    assert "dask: 2 partitions on 2 workers" in result.output
    assert parts(tmp_path / "out").num_rows == 1_200
    featured = run("score", data, "--engine", "dask", "--scheduler", address, "--model",
                   model_dir, "-o", tmp_path / "f", "--with-features")  # fmt: skip
    assert featured.exit_code == 0, featured.output
    assert "user_txn_count_24h" in parts(tmp_path / "f").column_names
    refused = run("score", data, "--engine", "dask", "--scheduler", address, "--model",
                  model_dir, "-o", tmp_path / "o2", "--shadow", model_dir)  # fmt: skip
    assert refused.exit_code == 2 and "--shadow" in refused.output
    shared = run("score", data, "--engine", "dask", "--scheduler", address, "--model",
                 model_dir, "-o", tmp_path / "o4", "--state", "redis://localhost:1/0")  # fmt: skip
    assert shared.exit_code == 2 and "redis" in shared.output
    assert not (tmp_path / "o4").exists()
    with pytest.raises(UsageError):
        score_dataset_file(None, tmp_path / "o3", config=load_config(), dask=None)


def test_data_from_before_the_state_ends_is_warned_about_and_still_exact(
    dask_options, model_dir, tmp_path
):
    """Days the bundle's state already covers (by more than the lateness): said so, and
    decided as the embedded run decides them, record by record from that state."""
    table = simulate(600, seed=SEED + 4, start="2026-02-05", days=2)
    pq.write_table(table, tmp_path / "whole.parquet")
    data = as_dataset(table, tmp_path / "ds", [250], 100)
    want = embedded(tmp_path / "whole.parquet", tmp_path / "e.parquet", model_dir)
    got = on_cluster(data, tmp_path / "out", model_dir, dask_options(200))
    assert_same_run(got, want)
    assert got[0].warnings == want[0].warnings and "before the feature state" in got[0].warnings[0]
