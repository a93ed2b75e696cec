"""The error tree of fraudcli and the exit codes the CLI maps them to.

    FraudError                    any error fraudcli raises on purpose (exit 1)
    ├── StateUnavailable          a Redis feature state cannot be reached or failed (exit 1)
    ├── UsageError                a bad option or argument combination          (exit 2)
    ├── ConfigError               fraud.toml or a rule is invalid               (exit 2)
    ├── InputError                an input file cannot be read at all           (exit 3)
    │   └── StrictRejectError     --strict: the first bad record stops the run  (exit 3)
    ├── BundleError               a model bundle is missing, corrupt, tampered  (exit 4)
    │   └── StateError            a feature-state directory is corrupt, edited, or
    │                             for other features or store settings          (exit 4)
    ├── SLOError                  replay p99 above --slo-p99-ms                 (exit 5)
    └── DriftDetected             drift-report --fail-on-drift found drift     (exit 6)

Anything else escaping is a bug and exits 70 with a traceback (a runtime failure).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_BUNDLE = 4
EXIT_SLO = 5
EXIT_DRIFT = 6
EXIT_BUG = 70


class FraudError(Exception):
    """Base of every error fraudcli raises on purpose."""

    exit_code = EXIT_RUNTIME


class StateUnavailable(FraudError):
    """A shared (Redis) feature state that cannot be reached, refused us, or failed a call."""


class UsageError(FraudError):
    exit_code = EXIT_USAGE


class ConfigError(FraudError):
    exit_code = EXIT_USAGE


class InputError(FraudError):
    exit_code = EXIT_BAD_INPUT


class StrictRejectError(InputError):
    """Raised under --strict at the first rejected record."""


class BundleError(FraudError):
    exit_code = EXIT_BUNDLE


class StateError(BundleError):
    """A `--state` directory that cannot be used (what is wrong, and what to do)."""


class SLOError(FraudError):
    exit_code = EXIT_SLO


class DriftDetected(FraudError):
    exit_code = EXIT_DRIFT
