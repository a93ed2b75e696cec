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
    target = tmp_path / "no-such-folder" / name
    result = run("score", world / "later.jsonl", "--model", model_dir, option, target)
    assert result.exit_code == 1
    assert result.stderr.startswith("error:") and "No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr and isinstance(result.exception, SystemExit)
