"""Each package's `__all__` is exactly what it exports, and each name is defined where it says."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "fraudcli.commands",
    "fraudcli.config",
    "fraudcli.decision",
    "fraudcli.drift",
    "fraudcli.features",
    "fraudcli.io",
    "fraudcli.model",
    "fraudcli.records",
    "fraudcli.replay",
    "fraudcli.scoring",
    "fraudcli.simulation",
    "fraudcli.state",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_what_the_package_exports(name):
    package = importlib.import_module(name)
    assert package.__all__ == sorted(set(package.__all__)) == dir(package)
    for export in package.__all__:
        value = getattr(package, export)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__module__.startswith(f"{name}."), (export, value.__module__)
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_cli_exports_the_app():
    import fraudcli.cli

    assert fraudcli.cli.__all__ == ["app", "main"]
    assert {"train", "score", "replay", "drift-report"} <= {
        command.name or command.callback.__name__
        for command in fraudcli.cli.app.registered_commands
    }
