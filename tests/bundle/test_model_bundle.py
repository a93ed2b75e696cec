"""Bundles are data: checksummed, verified on load, written atomically."""

from __future__ import annotations

import json

import pytest

from fraudcli.bundle.model_bundle import Bundle, load_bundle, save_bundle
from fraudcli.bundle.shapes import PROFILE_CATEGORICAL, PROFILE_NUMERIC
from fraudcli.drift.profile import build_profile
from fraudcli.errors import BundleError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore


def make_bundle() -> Bundle:
    """The smallest bundle of the declared shape: an empty store, a profile of three rows."""
    n = len(FEATURE_NAMES)
    numeric = {name: [0.0, 1.0, 2.0] for name in PROFILE_NUMERIC}
    categorical = {name: ["a", "b", None] for name in PROFILE_CATEGORICAL}
    profile = build_profile(numeric, categorical).to_dict()
    profile["decisions"] = build_profile({}, {"decision": ["ALLOW"] * 3}).to_dict()["categorical"]
    return Bundle(
        model={
            "kind": "logistic_regression",
            "coef": [0.5] * n,
            "intercept": 0.1,
            "scaler": {"mean": [0.0] * n, "scale": [1.0] * n},
        },
        thresholds={"review": 0.5, "block": 0.9},
        store={"label_delay": 604800.0, "lateness": 86400.0},
        state=InMemoryStore().snapshot(),
        profile=profile,
        metrics={"auc_roc": 0.9},
        fingerprint={"rows": 3},
    )


def test_round_trip(tmp_path):
    path = save_bundle(make_bundle(), tmp_path / "model")
    loaded = load_bundle(path)
    assert loaded.model == make_bundle().model
    assert loaded.thresholds == {"review": 0.5, "block": 0.9}
    assert all(loaded.state[n].equals(t) for n, t in make_bundle().state.items())
    assert loaded.profile == make_bundle().profile and loaded.fingerprint == {"rows": 3}
    assert not list(tmp_path.glob(".model-*"))  # no temporary directory left behind


def test_overwrites_an_existing_bundle_atomically(tmp_path):
    save_bundle(make_bundle(), tmp_path / "model")
    other = make_bundle().__class__(
        **{**make_bundle().__dict__, "thresholds": {"review": 0.1, "block": 0.2}}
    )
    save_bundle(other, tmp_path / "model")
    assert load_bundle(tmp_path / "model").thresholds["review"] == 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_refuses_to_overwrite_a_directory_that_is_not_a_bundle(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "precious.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not a model bundle"):
        save_bundle(make_bundle(), tmp_path / "model")
    assert (tmp_path / "model" / "precious.txt").read_text() == "keep me"


def test_missing_bundle(tmp_path):
    with pytest.raises(BundleError, match="run `fraud train` first"):
        load_bundle(tmp_path / "nothing")


def test_tampered_file_is_refused(tmp_path):
    path = save_bundle(make_bundle(), tmp_path / "model")
    model = json.loads((path / "model.json").read_text())
    model["coef"][0] = 50.0
    (path / "model.json").write_text(json.dumps(model))
    with pytest.raises(BundleError, match="model.json does not match its checksum"):
        load_bundle(path)


def test_edited_manifest_is_refused(tmp_path):
    path = save_bundle(make_bundle(), tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["thresholds"]["block"] = 0.01
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json does not match"):
        load_bundle(path)


def test_corrupt_manifest_other_schema_and_other_features(tmp_path):
    path = save_bundle(make_bundle(), tmp_path / "model")
    good = (path / "manifest.json").read_text()
    (path / "manifest.json").write_text(good[:40])
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(path)
    manifest = json.loads(good)
    manifest["schema_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema version 99"):
        load_bundle(path)
    manifest = json.loads(good)
    manifest["feature_names"] = manifest["feature_names"][:-1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="other features"):
        load_bundle(path)


def test_missing_part(tmp_path):
    path = save_bundle(make_bundle(), tmp_path / "model")
    (path / "state" / "user_entries.arrow").unlink()
    with pytest.raises(BundleError, match="missing state/user_entries.arrow"):
        load_bundle(path)
