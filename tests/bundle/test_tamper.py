"""A tampered bundle is refused (exit 4, one line naming what is wrong), never a traceback.

Each case edits a copy of a real bundle written by `fraud train` and then recomputes every
checksum, as someone editing it on purpose would: the shape checks must catch what the
checksums cannot.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fraudcli.bundle.model_bundle import load_bundle, write_arrow
from fraudcli.bundle.read import arrow_table
from fraudcli.cli import app
from fraudcli.errors import BundleError
from fraudcli.simulation.simulate import simulate

runner = CliRunner()
LINE = (
    '{"transaction_id": "t1", "user_id": "u1", "timestamp": "2026-02-10T00:00:00Z", '
    '"amount": 12.5}\n'
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("tamper")
    pq.write_table(simulate(6000, seed=5, start="2026-01-01", days=40), root / "small.parquet")
    result = runner.invoke(app, ["train", str(root / "small.parquet"), "--model", str(root / "m")])
    assert result.exit_code == 0, result.output
    return root / "m"


@pytest.fixture
def bundle(trained, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(trained, copy)
    return copy


def manifest_of(path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def rehash(path, edit=None) -> None:
    """Recompute every checksum of `path` after `edit(manifest)`, as a tamperer would."""
    manifest = manifest_of(path)
    for name in manifest["files"]:
        if (path / name).is_file():
            manifest["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    if edit is not None:
        edit(manifest)
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    manifest["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def edit_json(path, name: str, change) -> None:
    data = json.loads((path / name).read_text())
    change(data)
    (path / name).write_text(json.dumps(data))
    rehash(path)


def edit_table(path, name: str, change) -> None:
    file = path / "state" / f"{name}.arrow"
    write_arrow(change(arrow_table(file.read_bytes())), file)
    rehash(path)


def score(path):
    return runner.invoke(app, ["score", "--model", str(path)], input=LINE)


def drift_report(path):
    return runner.invoke(app, ["drift-report", "--model", str(path)])


def assert_refused(path, *say: str, command=score) -> None:
    """Exit 4 through the CLI with one plain line saying `say`; BundleError from the library."""
    result = command(path)
    assert result.exit_code == 4, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert all(words in result.stderr for words in say), result.stderr
    with pytest.raises(BundleError, match=re.escape(say[-1])):
        load_bundle(path)


def test_the_untouched_bundle_loads_and_scores(bundle):
    result = score(bundle)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["transaction_id"] == "t1"


def test_a_deeply_nested_manifest_is_exit_4_not_a_recursion_error(bundle):
    (bundle / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    assert_refused(bundle, "manifest.json is nested too deeply")


def test_a_huge_manifest_is_refused_before_it_is_parsed(bundle):
    (bundle / "manifest.json").write_text(" " * (2 << 20) + "{}")
    assert_refused(bundle, "manifest.json is larger than 1,048,576 bytes")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.update(thresholds={}), "thresholds lacks block, review"),
        (lambda m: m["thresholds"].update(review="0.5"), "thresholds.review must be a number"),
        (lambda m: m["thresholds"].update(block=1.5), "thresholds.block must be a finite number"),
        (lambda m: m["thresholds"].update(review=True), "thresholds.review must be a number"),
        (lambda m: m["thresholds"].update(review=1.0, block=0.5), "need review <= block"),
        (lambda m: m["thresholds"].update(extra=1), "thresholds has unknown keys"),
        (lambda m: m.update(store=[1]), "store must be a table"),
        (lambda m: m["store"].update(lateness=float("inf")), "store.lateness must be a finite"),
        (lambda m: m["store"].update(lateness=-1), "store.lateness must be a finite"),
        (lambda m: m["store"].update(speed=1), "store has unknown keys"),
        (lambda m: m.update(files=[]), "files must be a table"),
        (lambda m: m["files"].update({"model.json": 5}), "must be a SHA-256"),
        (lambda m: m.update(feature_names=5), "other features"),
        (lambda m: m.update(schema_version=True), "schema version True"),
        (lambda m: m.update(metrics=[1]), "metrics must be a table"),
        (lambda m: m.update(created=5), "created must be text"),
    ],
)
def test_a_manifest_of_another_shape_is_refused(bundle, edit, match):
    rehash(bundle, edit)
    assert_refused(bundle, match)


def test_a_path_outside_the_bundle_is_refused(bundle, tmp_path):
    secret = tmp_path / "x.jsonl"
    secret.write_text("not yours\n")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    rehash(bundle, lambda m: m["files"].update({"state/../../x.jsonl": digest}))
    assert_refused(bundle, "files names a path outside the bundle: 'state/../../x.jsonl'")


def test_a_symlink_out_of_the_bundle_is_refused_even_with_the_right_content(bundle, tmp_path):
    part = bundle / "state" / "user_last.arrow"
    outside = tmp_path / "elsewhere.arrow"
    shutil.move(part, outside)
    os.symlink(outside, part)
    assert_refused(bundle, "state/user_last.arrow leads outside the bundle")


def test_a_bundle_reached_through_a_symlink_loads(trained, tmp_path):
    os.symlink(trained, tmp_path / "current")
    assert load_bundle(tmp_path / "current").info.id == manifest_of(trained)["checksum"][:12]


def test_a_part_that_is_not_a_regular_file_is_refused(bundle):
    (bundle / "profile.json").unlink()
    os.mkfifo(bundle / "profile.json")  # reading it would wait forever
    assert_refused(bundle, "profile.json is not a regular file")


def test_required_files_are_verified_even_when_the_manifest_leaves_them_out(bundle):
    (bundle / "model.json").write_text("[]")
    rehash(bundle, lambda m: m["files"].pop("model.json"))
    assert_refused(bundle, "files does not list model.json, which the format requires")


def test_a_file_the_format_does_not_have_is_refused(bundle):
    (bundle / "state" / "extra.arrow").write_bytes(b"x")
    digest = hashlib.sha256(b"x").hexdigest()
    rehash(bundle, lambda m: m["files"].update({"state/extra.arrow": digest}))
    assert_refused(bundle, "lists files the format does not have")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(edges=[]), "edges must be a list of 26 lists"),
        (lambda d: d["weights"][0].pop(), "weights[0] must be a list of"),
        (lambda d: d["weights"][0].__setitem__(0, "1"), "weights[0] must hold numbers only"),
        (lambda d: d["edges"][0].reverse(), "edges[0] must increase"),
        (
            lambda d: d["weights"][0].__setitem__(0, float("nan")),
            "weights[0] holds a number that is not fin",
        ),
        (lambda d: d["counts"][0].__setitem__(0, -1), "counts[0] must not be negative"),
        (lambda d: d.update(intercept=None), "intercept must be a number"),
        (lambda d: d.update(kind="forest"), "kind must be 'binned_logistic_regression'"),
        (lambda d: d.pop("weights"), "the model lacks weights"),
    ],
)
def test_a_model_of_another_shape_is_refused(bundle, change, match):
    edit_json(bundle, "model.json", change)
    assert_refused(bundle, "model.json: ", match)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p: p["numeric"].pop("amount"), "numeric lacks amount"),
        (lambda p: p["numeric"].update(new={}), "numeric has unknown keys"),
        (lambda p: p["numeric"]["amount"]["counts"].append(1), "numeric.amount.counts must be"),
        (lambda p: p["numeric"]["amount"]["counts"].__setitem__(1, 10**30), "a whole number"),
        (lambda p: p["numeric"]["lat"]["sample"].reverse(), "numeric.lat.sample must be sorted"),
        (lambda p: p["numeric"]["lat"].update(n_missing=-1), "n_missing must be a whole"),
        (lambda p: p["numeric"]["amount"]["inner_edges"].reverse(), "must increase"),
        (lambda p: p.update(version="1"), "version must be 1"),
        (lambda p: p.update(categorical=[]), "categorical must be a table"),
        (lambda p: p["categorical"]["country"]["categories"].append(3), "a list of text"),
        (lambda p: p["decisions"]["decision"]["categories"].__setitem__(0, "X"), "categories oth"),
    ],
)
def test_a_profile_of_another_shape_is_refused(bundle, change, match):
    """By the commands that read the profile; deciding does not parse it (its checksum is
    checked all the same), so `score` decides with it."""
    edit_json(bundle, "profile.json", change)
    assert_refused(bundle, "profile.json: ", match, command=drift_report)
    assert score(bundle).exit_code == 0


def _set(table: pa.Table, name: str, values: list) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


@pytest.mark.parametrize(
    ("name", "change", "match"),
    [
        ("user_entries", lambda t: pa.table({"x": [1]}), "the table must have the columns"),
        ("user_entries", lambda t: t.drop_columns(["country"]), "must have the columns"),
        (
            "user_entries",
            lambda t: t.set_column(1, "ts", pc.cast(t["ts"], pa.string())),
            "must have the columns",
        ),
        ("user_entries", lambda t: _set(t, "ts", [None] * t.num_rows), "ts has nulls"),
        ("user_entries", lambda t: _set(t, "amount", [-1.0] * t.num_rows), "amount holds"),
        ("user_entries", lambda t: t.take(list(range(t.num_rows))[::-1]), "go back in time"),
        ("user_entries", lambda t: pa.concat_tables([t, t.slice(0, 1)]), "entries together"),
        ("merchant_entries", lambda t: _set(t, "is_fraud", [2] * t.num_rows), "must be 0 or 1"),
        ("merchant_entries", lambda t: _set(t, "ts", [float("nan")] * t.num_rows), "not finite"),
        ("user_last", lambda t: pa.concat_tables([t, t.slice(0, 1)]), "must not repeat a user"),
        ("user_last", lambda t: _set(t, "loc_lat", [1e9] * t.num_rows), "loc_lat holds"),
    ],
)
def test_state_of_another_shape_is_refused(bundle, name, change, match):
    edit_table(bundle, name, change)
    assert_refused(bundle, f"state/{name}: ", match)


def test_a_part_that_is_not_arrow_is_refused(bundle):
    (bundle / "state" / "user_last.arrow").write_text("not arrow")
    rehash(bundle)
    assert_refused(bundle, "state/user_last.arrow is not a readable Arrow IPC file")


def test_arrow_buffers_that_point_astray_are_refused_before_they_are_read(bundle):
    """An IPC file's buffers are used as they are: offsets that run backwards (each within
    the data, so only the full validation sees them) are refused, never read."""
    file = bundle / "state" / "user_last.arrow"
    table = arrow_table(file.read_bytes())
    n = table.num_rows
    offsets = pa.array([0, *[5] * (n - 1), 2], pa.int32()).buffers()[1]
    ids = pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(b"x" * 5)])
    write_arrow(table.set_column(0, "user_id", ids), file)
    rehash(bundle)
    assert_refused(bundle, "state/user_last.arrow is not a readable Arrow IPC file")


def test_a_bundle_of_schema_version_2_with_its_state_in_parquet_is_read_the_same(trained, bundle):
    """Bundles trained before the state was written as Arrow IPC load, and decide, the same."""
    manifest = manifest_of(bundle)
    for name in [n for n in manifest["files"] if n.endswith(".arrow")]:
        table = arrow_table((bundle / name).read_bytes())
        (bundle / name).unlink()
        pq.write_table(table, bundle / name.replace(".arrow", ".parquet"), compression="zstd")
        manifest["files"][name.replace(".arrow", ".parquet")] = manifest["files"].pop(name)
    (bundle / "manifest.json").write_text(json.dumps(manifest | {"schema_version": 2}))
    rehash(bundle)
    old, new = load_bundle(bundle), load_bundle(trained)
    assert sorted(old.state) == sorted(new.state)
    assert all(old.state[name].equals(new.state[name]) for name in new.state)
    assert score(bundle).stdout == score(trained).stdout


def test_a_bundle_of_an_unknown_schema_version_is_refused(bundle):
    rehash(bundle, lambda m: m.update(schema_version=4))
    assert_refused(bundle, "schema version 4, this fraudcli reads 2 and 3")


@pytest.mark.parametrize(
    "model",
    [
        {"C": 1.0, "coef": [float("nan")], "intercept": 0.0},
        {"C": float("inf"), "coef": [1.0], "intercept": 0.0},
        {"C": 1.0, "coef": [[1.0, 2.0], [3.0, 4.0]], "intercept": 0.0},
        {"C": 1.0, "coef": [1.0], "intercept": 10**400},
        [1, 2],
    ],
)
def test_a_malformed_logistic_regression_is_a_bundle_error(model):
    from fraudcli.model.logreg import LogisticRegression

    with pytest.raises(BundleError, match="model: "):
        LogisticRegression.from_dict(model)
