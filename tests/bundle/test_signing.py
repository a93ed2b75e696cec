"""Signed bundles: `fraud train` signs with a key, every command that loads a bundle refuses an
unsigned or forged one when it has the key, and nothing changes for those without one."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fraudcli.bundle.model_bundle import inspect_bundle, load_bundle, save_bundle
from fraudcli.bundle.signing import SigningKey, Trust, signing_key, trusting
from fraudcli.cli import app
from fraudcli.commands.session import open_session
from fraudcli.config.load import load_config
from fraudcli.errors import BundleError, UsageError
from fraudcli.simulation.simulate import simulate

runner = CliRunner()
KEY = "9f" * 32  # 64 bytes of key text, as `openssl rand -hex 32` writes
OTHER = "a1" * 32
LINE = (
    '{"transaction_id": "t1", "user_id": "u1", "timestamp": "2026-02-10T00:00:00Z", '
    '"amount": 12.5}\n'
)


def invoke(*args, env=None, input=None):
    return runner.invoke(app, [str(a) for a in args], env=env, input=input)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A signed bundle (`--signing-key FILE`), an unsigned one, their key and data."""
    root = tmp_path_factory.mktemp("signing")
    (root / "key").write_text(KEY + "\n")
    pq.write_table(simulate(6000, seed=5, start="2026-01-01", days=40), root / "train.parquet")
    later = simulate(300, seed=6, start="2026-02-10", days=1).to_pylist()
    with open(root / "later.jsonl", "w") as out:
        for row in later:
            row["timestamp"] = row["timestamp"].isoformat()
            out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    train = ["train", root / "train.parquet", "--model"]
    signed = invoke(*train, root / "signed", "--signing-key", root / "key")
    unsigned = invoke(*train, root / "unsigned")
    assert signed.exit_code == 0 and unsigned.exit_code == 0, signed.output + unsigned.output
    return root, signed, unsigned


@pytest.fixture
def copy(made, tmp_path):
    shutil.copytree(made[0] / "signed", tmp_path / "bundle")
    return tmp_path / "bundle"


def keyed(root) -> dict:
    return {"FRAUD_SIGNING_KEY_FILE": str(root / "key")}


def rehash(path, edit) -> None:
    """Edit the manifest and recompute every checksum, as a tamperer without the key would."""
    manifest = json.loads((path / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    edit(manifest)
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    manifest["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_train_signs_with_the_key_and_never_shows_it(made):
    root, signed, unsigned = made
    manifest = json.loads((root / "signed" / "manifest.json").read_text())
    key_id = SigningKey(KEY.encode()).key_id
    assert manifest["signature"]["algorithm"] == "HMAC-SHA256"
    assert manifest["signature"]["key_id"] == key_id
    assert f"signed with HMAC-SHA256, key {key_id}" in signed.stderr
    assert KEY not in signed.output and KEY[:16] not in signed.output
    for part in (root / "signed").rglob("*"):
        assert not part.is_file() or KEY.encode() not in part.read_bytes()


def test_train_without_a_key_says_the_bundle_is_unsigned_in_one_line(made):
    root, _, unsigned = made
    said = [line for line in unsigned.stderr.splitlines() if "is unsigned" in line]
    assert len(said) == 1 and "is unsigned: pass --signing-key FILE" in said[0]
    assert "signature" not in json.loads((root / "unsigned" / "manifest.json").read_text())


def command_args(root, command: str, model) -> list:
    data = root / "later.jsonl"
    return {
        "score": ["score", data, "--model", model],
        "evaluate": ["evaluate", data, "--model", model],
        "replay": ["replay", data, "--model", model, "--max", "--limit", "20"],
        "drift-report": ["drift-report", "--current", data, "--model", model],
    }[command]


@pytest.mark.parametrize("command", ["score", "evaluate", "replay", "drift-report"])
def test_every_command_with_the_key_refuses_an_unsigned_bundle(made, command):
    root = made[0]
    result = invoke(*command_args(root, command, root / "unsigned"), env=keyed(root))
    assert result.exit_code == 4, result.output
    assert "is not signed, and a signing key is set" in result.stderr
    accepted = invoke(*command_args(root, command, root / "signed"), env=keyed(root))
    assert accepted.exit_code == 0, accepted.output
    assert "(verified)" in accepted.stderr


def test_without_a_key_a_signed_bundle_loads_as_before(made):
    root = made[0]
    result = invoke("score", "--model", root / "signed", input=LINE)
    assert result.exit_code == 0, result.output
    assert "signed, not checked: no key set" in result.stderr


def test_an_edited_bundle_with_recomputed_checksums_is_refused(made, copy):
    model = json.loads((copy / "model.json").read_text())
    model["intercept"] = -100.0  # allow everything
    (copy / "model.json").write_text(json.dumps(model))
    rehash(copy, lambda m: None)
    assert invoke("score", "--model", copy, input=LINE).exit_code == 0  # checksums alone: fooled
    result = invoke("score", "--model", copy, env=keyed(made[0]), input=LINE)
    assert result.exit_code == 4 and "the signature does not match" in result.stderr


def test_a_stripped_signature_is_refused(made, copy):
    rehash(copy, lambda m: m.pop("signature"))
    result = invoke("score", "--model", copy, "--signing-key", made[0] / "key", input=LINE)
    assert result.exit_code == 4 and "is not signed" in result.stderr


def test_a_bundle_signed_with_another_key_is_refused_and_the_key_named(made, copy, tmp_path):
    bundle = load_bundle(copy)
    save_bundle(bundle, copy, key=SigningKey(OTHER.encode()))
    result = invoke("score", "--model", copy, env=keyed(made[0]), input=LINE)
    assert result.exit_code == 4
    assert f"it names key {SigningKey(OTHER.encode()).key_id}" in result.stderr
    assert OTHER not in result.output and KEY not in result.output


def test_a_malformed_signature_is_refused(made, copy):
    rehash(copy, lambda m: m.update(signature={"algorithm": "none", "value": ""}))
    result = invoke("score", "--model", copy, env=keyed(made[0]), input=LINE)
    assert result.exit_code == 4 and "signature is malformed" in result.stderr


def test_the_signature_covers_meaning_not_layout(made, copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(dict(reversed(manifest.items()))))
    result = invoke("score", "--model", copy, env=keyed(made[0]), input=LINE)
    assert result.exit_code == 0, result.output


def test_keys_from_the_environment(made, tmp_path):
    model = ["score", "--model", made[0] / "signed"]
    inline = invoke(*model, env={"FRAUD_SIGNING_KEY": KEY}, input=LINE)
    assert inline.exit_code == 0 and "(verified)" in inline.stderr
    env = {"FRAUD_SIGNING_KEY": KEY, "FRAUD_SIGNING_KEY_FILE": str(made[0] / "key")}
    both = invoke(*model, env=env, input=LINE)
    assert both.exit_code == 2 and "not both" in both.stderr
    (tmp_path / "short").write_text("too short")
    short = invoke(*model, "--signing-key", tmp_path / "short", input=LINE)
    assert short.exit_code == 2 and "must be 32 to 4096 bytes" in short.stderr
    assert "too short" not in short.output
    missing = invoke(*model, "--signing-key", tmp_path / "nope", input=LINE)
    assert missing.exit_code == 2 and "cannot read the signing key file" in missing.stderr


def test_signing_key_precedence():
    env = {"FRAUD_SIGNING_KEY": KEY}
    assert signing_key(None, env).secret == KEY.encode()
    assert signing_key(None, {}) is None
    with pytest.raises(UsageError):
        signing_key(None, {"FRAUD_SIGNING_KEY": "x" * 31})
    assert "9f9f" not in repr(signing_key(None, env))


def test_overrides_of_a_signed_bundle_are_named(made, tmp_path):
    root = made[0]
    config = tmp_path / "fraud.toml"
    config.write_text(
        '[thresholds]\nreview = 0.6\nblock = 0.95\n\n[[rules]]\nname = "big"\n'
        'when = "amount > 5000"\naction = "BLOCK"\n\n[blocklists]\ncountries = ["KP"]\n'
    )
    result = invoke("score", "--model", root / "signed", "--config", config, input=LINE)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 3, result.stderr
    assert "thresholds review" in notes[0] and "-> 0.6, block" in notes[0]
    assert "rule big added" in notes[1] and "blocklists changed" in notes[2]
    plain = invoke("score", "--model", root / "unsigned", "--config", config, input=LINE)
    assert plain.exit_code == 0 and "note:" not in plain.stderr  # unsigned: as before


def test_expect_bundle_pins_one_bundle(made):
    root = made[0]
    bundle_id = inspect_bundle(root / "signed").id
    ok = invoke("score", "--model", root / "signed", "--expect-bundle", bundle_id, input=LINE)
    assert ok.exit_code == 0, ok.output
    other = invoke("score", "--model", root / "unsigned", "--expect-bundle", bundle_id, input=LINE)
    assert other.exit_code == 4 and f"not the expected {bundle_id}" in other.stderr
    bad = invoke("score", "--model", root / "signed", "--expect-bundle", "xyz", input=LINE)
    assert bad.exit_code == 2


def test_a_bundle_swapped_after_it_was_verified_is_refused(made, copy):
    session = open_session("score", load_config(), model_dir=copy, environ=keyed(made[0]))
    shutil.rmtree(copy)
    shutil.copytree(made[0] / "unsigned", copy)
    with session.active(), pytest.raises(BundleError):
        load_bundle(copy)
    with trusting(Trust(None, session.bundle.sha256)), pytest.raises(BundleError, match="not the"):
        load_bundle(copy)
