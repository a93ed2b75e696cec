"""What a hostile or careless user tries (issue 11): one record never ends a run, a file is
never destroyed or faked, user text never breaks the terminal. Through the real `fraud`
command (a subprocess where signals, pipes and stdin matter)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fraudcli.files import Staged, remove_leftovers
from tests.helpers import run

FRAUD = [sys.executable, "-m", "fraudcli"]
BASE = {"timestamp": "2026-02-11T00:00:00Z", "user_id": "u1", "amount": 5.0}


def line(tid: str, **fields) -> str:
    return json.dumps(BASE | {"transaction_id": tid} | fields)


def decisions(text: str) -> list[dict]:
    return [json.loads(row) for row in text.splitlines()]


def fraud(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*FRAUD, *map(str, args)], capture_output=True, text=True, **kwargs)


def test_an_integer_of_5000_digits_is_a_reject_on_both_paths(model_dir, tmp_path):
    source = tmp_path / "long.jsonl"
    huge = '{"transaction_id": "b", "timestamp": 1770768000, "user_id": "u", "amount": 1, '
    source.write_text(line("a") + "\n" + huge + '"x": ' + "9" * 5000 + "}\n" + line("c") + "\n")
    for args, stdin in (((source,), None), ((), source.read_text())):
        result = run("score", *args, "--model", model_dir, input=stdin)
        assert result.exit_code == 0, result.output
        assert [r["transaction_id"] for r in decisions(result.stdout)] == ["a", "c"]
        assert "read 3 = written 2 + rejected 1" in result.stderr
        assert "malformed JSON" in result.stderr


def test_markup_and_control_characters_in_data_and_names_are_shown_not_parsed(model_dir, tmp_path):
    source = tmp_path / "[red]x.jsonl"
    source.write_text(
        line("a", country="[/x]") + "\n" + line("[/b]") + "\n" + line("[/b]") + "\n"
        + line("d", is_fraud="[/b]\x1b[31m") + "\n"
    )  # fmt: skip
    result = run("score", source, "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert "'[/x]'" in result.stderr and "duplicate transaction_id '[/b]'" in result.stderr
    assert "\x1b" not in result.stderr
    for option in ("--model", "--config", "-o"):
        target = tmp_path / "[/nope]" / "f.jsonl"
        result = run("score", source, *(["--model", model_dir] if option != "--model" else []),
                     option, target)  # fmt: skip
        assert result.exit_code in (1, 2, 3, 4) and "[/nope]" in result.stderr, result.output
        assert "Traceback" not in result.output


def test_a_parquet_amount_above_2_to_the_53_is_a_reject(model_dir, tmp_path):
    source = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({
            "transaction_id": ["a", "b"], "timestamp": [1770768000.0, 1770768001.0],
            "user_id": ["u", "u"], "amount": pa.array([5, 2**60], pa.int64()),
        }),
        source,
    )  # fmt: skip
    result = run("score", source, "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert "read 2 = written 1 + rejected 1" in result.stderr and "absurdly large" in result.stderr


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_pass_through_values_no_type_holds_are_written_as_they_came(model_dir, tmp_path, suffix):
    """An out-of-order file goes record by record; 2**70 and 1e400 pass through."""
    rows = [line(f"o{i}", timestamp=1770768010 - i, extra=2**70 if i == 3 else i, big=1e400)
            for i in range(6)]  # fmt: skip
    source = tmp_path / "late.jsonl"
    source.write_text("\n".join(rows) + "\n")
    out = tmp_path / f"out{suffix}"
    result = run("score", source, "--model", model_dir, "-o", out)
    assert result.exit_code == 0, result.output
    if suffix == ".jsonl":
        text = out.read_text()
        assert "Infinity" not in text and "NaN" not in text
        got = decisions(text)
        assert got[3]["extra"] == 2**70 and got[0]["big"] is None
    elif suffix == ".parquet":
        assert pq.read_table(out)["extra"].to_pylist()[3] == str(2**70)
    else:
        assert str(2**70) in out.read_text()


def test_an_output_that_is_an_input_or_another_output_is_refused(model_dir, tmp_path):
    source = tmp_path / "a.jsonl"
    source.write_text(line("a") + "\n")
    before = source.read_bytes()
    for extra in (["-o", source], ["--rejects", source], ["-o", tmp_path / "o.parquet",
                  "--rejects", tmp_path / "o.parquet"], ["--report", source]):  # fmt: skip
        result = fraud("score", source, "--model", model_dir, *extra)
        assert result.returncode == 2 and "is the same file as" in result.stderr, result.stderr
        assert source.read_bytes() == before
    with open(source) as stdin:  # stdin redirected from the very file
        result = fraud("score", "--model", model_dir, "-o", source, stdin=stdin)
    assert result.returncode == 2 and source.read_bytes() == before
    link = tmp_path / "link.jsonl"
    link.symlink_to(source)
    assert fraud("score", source, "--model", model_dir, "-o", link).returncode == 2


def test_nothing_is_truncated_before_everything_is_checked(model_dir, tmp_path):
    source, keep = tmp_path / "a.jsonl", tmp_path / "keep.jsonl"
    source.write_text(line("a") + "\n")
    keep.write_text("precious\n")
    bad_rule = tmp_path / "fraud.toml"
    bad_rule.write_text('[[rules]]\nname = "x"\nwhen = "open(1)"\naction = "BLOCK"\n')
    assert run("score", source, "--model", "/typo", "-o", keep).exit_code == 4
    assert (
        run("score", source, "--model", model_dir, "--config", bad_rule, "-o", keep).exit_code == 2
    )
    assert run("score", source, "--model", "/typo", "--rejects", keep).exit_code == 4
    assert keep.read_text() == "precious\n"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_leaves_no_partial_file_and_the_next_run_cleans_up(
    world, model_dir, tmp_path, sig
):
    """A run scoring a stream into out.csv is killed mid-run: out.csv is what it was."""
    rows = (world / "later.jsonl").read_text().splitlines()
    out = tmp_path / "out.csv"
    out.write_text("the previous output\n")
    process = subprocess.Popen(
        [*FRAUD, "score", "--model", model_dir, "-o", out],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.stdin.write(("\n".join(rows[:500]) + "\n").encode())
    process.stdin.flush()  # and the stream stays open: the run is mid-way
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.csv.fraud-*.tmp")):
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.02)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (-signal.SIGKILL, 143), stderr
    assert out.read_text() == "the previous output\n"
    if sig == signal.SIGTERM:  # unwound: nothing left behind
        assert not list(tmp_path.glob(".out.csv*")) and b"terminated" in stderr
    small = tmp_path / "small.jsonl"
    small.write_text(rows[0] + "\n")
    assert fraud("score", small, "--model", model_dir, "-o", out).returncode == 0
    assert len(out.read_text().splitlines()) == 2  # header and one row
    assert not list(tmp_path.glob(".out.csv*"))  # the dead run's leftovers went with it


def test_a_live_run_s_temporary_file_is_never_removed(tmp_path):
    final = tmp_path / "out.jsonl"
    staged = Staged(final)  # this process holds its lock: a concurrent run
    staged.path.write_text("in progress")
    child = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path; from fraudcli.files import "
         f"remove_leftovers; print(len(remove_leftovers(Path({str(final)!r}))))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert child.stdout.strip() == "0" and staged.path.read_text() == "in progress"
    staged.commit()
    assert final.read_text() == "in progress" and remove_leftovers(final) == []


def test_a_dead_train_s_bundle_directory_is_removed_by_the_next(world, tmp_path):
    """A writer killed while it holds its temporary bundle directory: the next train removes
    it (its lock died with it)."""
    code = (
        "import os, sys; from pathlib import Path; from fraudcli.files import Staged; "
        f"Staged(Path({str(tmp_path / 'm')!r}), directory=True); os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert list(tmp_path.glob(".m.fraud-*.tmp"))
    result = fraud("train", world / "train.parquet", "--model", tmp_path / "m")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_csv_cells_that_would_run_as_formulas_are_neutralised(model_dir, tmp_path):
    source = tmp_path / "a.jsonl"
    source.write_text(
        line("=HYPERLINK(\"http://x\")", note="+cmd|' /C calc'!A0") + "\n"
        + line("b", note="-5", other=-7, at="@SUM(A1)") + "\n"
    )  # fmt: skip
    out = tmp_path / "out.csv"
    assert run("score", source, "--model", model_dir, "-o", out).exit_code == 0
    table = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    rows = table.to_pylist()
    assert rows[0]["transaction_id"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["note"] == "'+cmd|' /C calc'!A0" and rows[1]["at"] == "'@SUM(A1)"
    assert str(rows[1]["note"]) == "-5" and rows[1]["other"] == -7  # numbers left alone
    assert run("score", source, "--model", model_dir, "-o", out, "--csv-raw").exit_code == 0
    assert pacsv.read_csv(out).to_pylist()[0]["transaction_id"] == '=HYPERLINK("http://x")'


@pytest.mark.parametrize("how", ["file", "pipe"])
def test_a_closed_stdout_says_what_was_written_and_exits_141(world, model_dir, tmp_path, how):
    source = tmp_path / "big.jsonl"
    rows = (world / "later.jsonl").read_text().splitlines()
    source.write_text("\n".join(rows) + "\n")
    fraud_score = f"{' '.join(FRAUD)} score --model {model_dir}"
    command = f"{fraud_score} < {source}" if how == "file" else f"cat {source} | {fraud_score}"
    shell = subprocess.run(
        ["bash", "-c", f"{command} 2>{tmp_path / 'err'} | head -n 1; echo ${{PIPESTATUS[-2]}}"],
        capture_output=True, text=True,
    )  # fmt: skip
    first, status = shell.stdout.splitlines()
    assert json.loads(first)["transaction_id"] and status == "141"
    err = (tmp_path / "err").read_text()
    assert "(the reader closed the output first)" in err and "Traceback" not in err
    numbers = re.search(r"read ([\d,]+) = written ([\d,]+) \+ rejected ([\d,]+) \+ not "
                        r"written ([\d,]+)", err)  # fmt: skip
    read, written, rejected, unwritten = (int(n.replace(",", "")) for n in numbers.groups())
    assert read == written + rejected + unwritten and written < len(rows)


def test_a_2_mib_csv_cell_is_one_reject_and_a_500_kib_one_is_kept(model_dir, tmp_path):
    source = tmp_path / "long.csv"
    source.write_text(
        "transaction_id,timestamp,user_id,amount,note\n"
        f"c1,2026-02-11T00:00:00Z,u,5,{'x' * (2 << 20)}\n"
        f"c2,2026-02-11T00:00:01Z,u,6,{'y' * (500 << 10)}\n"
    )
    for args in ((source,), (source, "-o", tmp_path / "o.csv")):
        result = run("score", *args, "--model", model_dir, "--rejects", tmp_path / "r.jsonl")
        assert "read 2 = written 1 + rejected 1" in result.stderr, result.output
    rejects = decisions((tmp_path / "r.jsonl").read_text())
    assert rejects == [{"line": 2, "reason": "line longer than 1 MiB", "raw": ""}]


def test_a_duplicate_keeps_its_line_on_the_column_path_as_in_a_pipe(model_dir, tmp_path):
    source = tmp_path / "dup.jsonl"
    source.write_text(line("a") + "\n" + line("a", amount=9.5) + "\n")
    for args, stdin in (((source,), None), ((), source.read_text())):
        result = run("score", *args, "--model", model_dir, "--rejects", tmp_path / "r.jsonl",
                     input=stdin)  # fmt: skip
        assert result.exit_code == 0 and "rejected records written to" in result.stderr
        assert "write them to a file" not in result.stderr
        (reject,) = decisions((tmp_path / "r.jsonl").read_text())
        assert reject["raw"] == line("a", amount=9.5)


def test_a_device_needs_no_format(model_dir, tmp_path):
    source = tmp_path / "a.jsonl"
    source.write_text(line("a") + "\n")
    assert run("score", source, "--model", model_dir, "-o", "/dev/null").exit_code == 0
    assert Path("/dev/null").exists()
