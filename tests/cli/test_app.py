"""What every command shares: help with an example, a place in the README, documented exit
codes and one-line errors instead of tracebacks."""

from __future__ import annotations

import pytest

from fraudcli.cli import app
from tests.helpers import run


def test_bad_config_is_exit_2(tmp_path, world, model_dir):
    bad = tmp_path / "fraud.toml"
    bad.write_text('[[rules]]\nname = "x"\nwhen = "__import__(\'os\')"\naction = "BLOCK"\n')
    result = run("score", world / "later.jsonl", "--model", model_dir, "--config", bad)
    assert result.exit_code == 2 and "x" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "command",
    ["simulate", "train", "score", "features", "evaluate", "replay", "drift-report", "label"],
)
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "fraud " in result.stdout


def test_every_command_appears_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert f"fraud {name}" in readme, name


@pytest.mark.parametrize("command", ["train", "score", "evaluate", "features"])
def test_missing_or_broken_input_is_exit_3_without_traceback(command, tmp_path, model_dir):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    for path in (tmp_path / "missing.parquet", broken):
        extra = ["--model", str(model_dir)] if command in ("score", "evaluate") else []
        if command == "train":
            extra = ["--model", str(tmp_path / "m")]
        result = run(command, path, *extra)
        assert result.exit_code == 3, (command, path, result.output)
        assert "error: cannot read" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("option", ["-o", "--rejects"])
@pytest.mark.parametrize("name", ["out.jsonl", "out.parquet"])
def test_an_output_in_a_missing_folder_is_a_one_line_error(
    world, model_dir, tmp_path, option, name
):
    """A usage error (exit 2) naming the missing folder, before anything is read, not the
    temporary file's name."""
    target = tmp_path / "no-such-folder" / name
    result = run("score", world / "later.jsonl", "--model", model_dir, option, target)
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert said.startswith("error:") and f"no directory {tmp_path / 'no-such-folder'}" in said
    assert ".tmp" not in said and "Traceback" not in said
    assert isinstance(result.exception, SystemExit) and not target.parent.exists()


def test_a_simulated_file_in_a_missing_folder_is_the_same_usage_error(tmp_path):
    result = run("simulate", "-n", "50", "-o", tmp_path / "no-such-folder" / "sim.jsonl")
    assert result.exit_code == 2 and "there is no directory" in " ".join(result.stderr.split())


@pytest.mark.parametrize("command", ["score", "drift-report", "state", "label"])
def test_a_named_command_runs_in_an_app_of_that_command_alone(command):
    from typer.testing import CliRunner

    from fraudcli.cli.app import only_the_command

    one = only_the_command(app, [command, "--help"])
    assert len(one.registered_commands) + len(one.registered_groups) == 1
    assert len(app.registered_commands) > 1  # the whole app is left as it was
    result = CliRunner().invoke(one, [command, "--help"], prog_name="fraud")
    assert result.exit_code == 0 and f"Usage: fraud {command} [OPTIONS]" in result.stdout


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["scor"], ["--model", "x"]])
def test_no_command_or_an_unknown_one_gets_the_whole_app(args):
    from fraudcli.cli.app import only_the_command

    assert only_the_command(app, args) is app


def test_the_cycle_collector_is_off_for_the_start_only(monkeypatch):
    import gc
    import time

    import fraudcli.cli
    from fraudcli import entry

    seen = []

    def command():
        seen.append(gc.isenabled())
        deadline = time.monotonic() + 20
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(gc.isenabled())

    monkeypatch.setattr(entry, "GC_AFTER", 1.0)
    monkeypatch.setattr(fraudcli.cli, "main", command)
    try:
        entry.main()
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen == [False, True]


@pytest.mark.parametrize(
    ("args", "environ", "threads"),
    [
        (["score", "x"], {}, "1"),
        (["train"], {}, None),
        (["score", "x"], {"OPENBLAS_NUM_THREADS": "4"}, "4"),
    ],
)
def test_openblas_runs_on_one_thread_but_for_train_unless_told(args, environ, threads):
    import os
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "import fraudcli.cli\n"
        "fraudcli.cli.main = lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'))\n"
        f"sys.argv = ['fraud', *{args!r}]\n"
        "from fraudcli.entry import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"} | environ
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == str(threads)
