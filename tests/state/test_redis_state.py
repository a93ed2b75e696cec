"""`--state redis://...` through the real CLI against a real redis-server: the output of a state
directory, run after run (labels between them); the store settings checked; `fraud state show`,
`push` and `pull`; and a password that appears nowhere."""

from __future__ import annotations

import json

import pytest

from fraudcli.features.redis_url import parse_redis_url
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import StoreConfig
from fraudcli.state.directory import read_state
from fraudcli.state.redis_state import open_store
from tests.helpers import run
from tests.redis_server import RedisServer

PASSWORD = "s3cret-Pw-7731"


@pytest.fixture(scope="module")
def server(redis_binary):
    with RedisServer(redis_binary, tcp=True, password=PASSWORD) as started:
        yield started


@pytest.fixture(scope="module")
def days(world, tmp_path_factory):
    """The later sample cut in two days, the second resending five ids of the first, and a
    file of chargebacks for the first day (one reversed, one unknown)."""
    root = tmp_path_factory.mktemp("days")
    rows = [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()]
    first, second = rows[:600], rows[600:1100] + rows[100:105]
    for name, part in (("one.jsonl", first), ("two.jsonl", second)):
        (root / name).write_text("".join(json.dumps(row) + "\n" for row in part))
    legit = [row["transaction_id"] for row in first if row.get("is_fraud") == 0]
    fraud = [row["transaction_id"] for row in first if row.get("is_fraud") == 1]
    lines = ["transaction_id,is_fraud,label_time", *(f"{t},1," for t in legit[:20])]
    lines += [f"{fraud[0]},0,2026-02-20T00:00:00Z", "never-scored,1,"]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


def tcp(server, prefix: str) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0?prefix={prefix}"


def score(data, state, model_dir, out, *extra):
    result = run("score", data, "--model", model_dir, "--state", state, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_runs_on_a_redis_state_give_a_directory_states_output(server, days, model_dir, tmp_path):
    """Two days scored with labels given between them: the same output, the same label
    outcomes, the same rejects (the resent ids), over Redis as over a directory."""
    states = {"redis": tcp(server, "same:"), "dir": str(tmp_path / "state")}
    out, summaries = {}, {}
    for kind, state in states.items():
        one, two = tmp_path / f"{kind}-1.jsonl", tmp_path / f"{kind}-2.jsonl"
        score(days / "one.jsonl", state, model_dir, one)
        labelled = run("label", days / "labels.csv", "--state", state, "--model", model_dir,
                       "--json")  # fmt: skip
        assert labelled.exit_code == 0, labelled.output
        summaries[kind] = {k: v for k, v in json.loads(labelled.stdout).items() if k != "audit"}
        second = score(days / "two.jsonl", state, model_dir, two, "--with-features",
                       "--rejects", tmp_path / f"{kind}-r.jsonl")  # fmt: skip
        assert "read 505 = written 500 + rejected 5" in second.stderr
        out[kind] = (one.read_bytes(), two.read_text().splitlines())
    assert summaries["redis"] == summaries["dir"]
    assert summaries["dir"]["changed"] == 21 and summaries["dir"]["unknown"] == 1
    assert out["redis"][0] == out["dir"][0]  # the first day: byte for byte
    assert (tmp_path / "redis-r.jsonl").read_bytes() == (tmp_path / "dir-r.jsonl").read_bytes()
    for got, want in zip(*(map(json.loads, out[k][1]) for k in ("redis", "dir")), strict=True):
        assert list(got) == list(want)
        for name in FEATURE_NAMES:
            assert got[name] == pytest.approx(want[name], rel=1e-9, abs=1e-9), name
        assert {k: v for k, v in got.items() if k not in FEATURE_NAMES} == {
            k: v for k, v in want.items() if k not in FEATURE_NAMES
        }
    shown = {
        kind: json.loads(run("state", "show", state, "--json").stdout)
        for kind, state in states.items()
    }
    counted = ("users", "merchants", "transactions", "labelled", "labelled_fraud", "newest")
    assert {k: shown["redis"][k] for k in counted} == {k: shown["dir"][k] for k in counted}


def test_push_and_pull_carry_a_state(server, days, model_dir, tmp_path):
    """A directory state pushed into Redis and pulled back: the same state, and the same
    next day scored from each of the three."""
    directory, pulled = tmp_path / "state", tmp_path / "pulled"
    score(days / "one.jsonl", directory, model_dir, tmp_path / "one.jsonl")
    url = tcp(server, "pushed:")
    assert run("state", "push", directory, url).exit_code == 0
    again = run("state", "push", directory, url)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    assert run("state", "push", directory, url, "--overwrite").exit_code == 0
    assert run("state", "pull", url, pulled).exit_code == 0
    want, got = read_state(directory).tables, read_state(pulled).tables
    for name in ("user_last", "transactions"):
        assert sorted(map(repr, got[name].to_pylist())) == sorted(
            map(repr, want[name].to_pylist())
        ), name
    assert entries(got, "user_entries") == live(entries(want, "user_entries"), horizon="user")
    assert entries(got, "merchant_entries") == live(
        entries(want, "merchant_entries"), horizon="merchant"
    )
    outputs = []
    for state in (directory, url, pulled):
        out = tmp_path / f"two-{len(outputs)}.jsonl"
        score(days / "two.jsonl", state, model_dir, out)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def entries(tables, name: str) -> list[tuple]:
    """(key, ts, amount to 1e-9 or the label) of a state's entries, sorted."""
    rows = tables[name].to_pylist()
    if name == "user_entries":
        return sorted((r["user_id"], r["ts"], round(r["amount"], 9)) for r in rows)
    return sorted((r["merchant_id"], r["ts"], r["is_fraud"]) for r in rows)


def live(rows: list[tuple], horizon: str) -> list[tuple]:
    """The entries within their key's horizon of its newest (what a lookup can still see: the
    directory's store expires in chunks, a Redis snapshot holds those only)."""
    config = StoreConfig()
    width = config.user_horizon if horizon == "user" else config.merchant_horizon
    newest: dict = {}
    for key, ts, _ in rows:
        newest[key] = max(newest.get(key, ts), ts)
    return [row for row in rows if row[1] > newest[row[0]] - width]


def test_a_bundles_state_is_pushed_and_a_new_state_starts_from_it(server, model_dir, tmp_path):
    url = tcp(server, "bundle:")
    result = run("state", "push", model_dir, url, "--json")
    assert result.exit_code == 0, result.output
    pushed = json.loads(result.stdout)
    shown = json.loads(run("state", "show", "--model", model_dir, "--json").stdout)
    assert pushed["users"] == shown["users"] and pushed["transactions"] == shown["transactions"]


def test_other_store_settings_are_refused_with_exit_4(server, days, model_dir, tmp_path):
    url = tcp(server, "other:")
    open_store(parse_redis_url(url), StoreConfig(label_delay=DAY), None)
    result = run("score", days / "one.jsonl", "--model", model_dir, "--state", url)
    assert result.exit_code == 4 and "other store settings" in result.stderr
    assert not result.stdout


def test_fresh_state_over_a_redis_state_needs_overwrite(server, days, model_dir, tmp_path):
    url = tcp(server, "fresh:")
    score(days / "one.jsonl", url, model_dir, tmp_path / "a.jsonl")
    refused = run("score", days / "one.jsonl", "--model", model_dir, "--state", url,
                  "--fresh-state")  # fmt: skip
    assert refused.exit_code == 2 and "--overwrite-state" in refused.stderr
    again = score(days / "one.jsonl", url, model_dir, tmp_path / "b.jsonl", "--fresh-state",
                  "--overwrite-state")  # fmt: skip
    assert "read 600 = written 600 + rejected 0" in again.stderr  # empty again: no duplicate
    shown = json.loads(run("state", "show", url, "--json").stdout)
    assert shown["transactions"] == 600


def test_the_password_appears_nowhere(server, days, model_dir, tmp_path):
    """Not in stdout, stderr, reports, audit trails or errors: a good password, a wrong one,
    a server that is not there."""
    url = tcp(server, "secret:")
    texts = []
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    for args in (
        ("score", days / "one.jsonl", "--model", model_dir, "--state", url, "-o", out,
         "--report", report),
        ("label", days / "labels.csv", "--state", url, "--model", model_dir, "--json"),
        ("state", "show", url, "--json"),
        ("state", "pull", url, tmp_path / "pulled", "--json"),
        ("state", "push", tmp_path / "pulled", url, "--overwrite", "--json"),
        ("replay", days / "two.jsonl", "--model", model_dir, "--state", url, "--max",
         "--json"),
    ):  # fmt: skip
        result = run(*args)
        assert result.exit_code == 0, (args[0], result.output)
        texts += [result.stdout, result.stderr]
    texts += [report.read_text(), (tmp_path / "out.jsonl.audit.json").read_text()]
    assert url.replace(PASSWORD, "***") in report.read_text()  # the address, without it
    wrong = url.replace(PASSWORD, "not-the-" + PASSWORD)
    closed = f"redis://:{PASSWORD}@127.0.0.1:1/0"
    for bad in (wrong, closed, url.replace("redis://", "redis://user:")):
        result = run("state", "show", bad)
        assert result.exit_code == 1 and "error:" in result.stderr, result.output
        assert "Traceback" not in result.output
        texts += [result.stdout, result.stderr]
    assert all(PASSWORD not in text for text in texts)
    assert repr(parse_redis_url(url)).count("***") == 1 and PASSWORD not in repr(
        parse_redis_url(url)
    )


def test_a_pipe_and_read_only_commands_on_a_redis_state(server, days, model_dir, tmp_path):
    """Records piped in are decided as from a file; evaluate reads a Redis state as it reads
    a directory's, and writes neither."""
    url, directory = tcp(server, "piped:"), tmp_path / "state"
    piped = run("score", "--model", model_dir, "--state", url,
                input=(days / "one.jsonl").read_text())  # fmt: skip
    assert piped.exit_code == 0, piped.output
    score(days / "one.jsonl", directory, model_dir, tmp_path / "one.jsonl")
    assert piped.stdout == (tmp_path / "one.jsonl").read_text()
    reports = []
    for state in (url, directory):
        result = run("evaluate", days / "two.jsonl", "--model", model_dir, "--state", state,
                     "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        report = {k: v for k, v in json.loads(result.stdout).items() if k != "audit"}
        reports.append(report | {"run": report["run"] | {"seconds": 0}})
    assert reports[0] == reports[1]
    shown = [json.loads(run("state", "show", s, "--json").stdout) for s in (url, directory)]
    assert shown[0]["transactions"] == shown[1]["transactions"]  # evaluate wrote neither
