"""One command's run: the trust it requires of bundles, its redaction, and its audit trail.

`open_session` is called before any work (and before any output is opened): it reads the
signing key, verifies the bundle's manifest (and its signature when a key is set) and pins its
id, so the bundle the run then loads is the one its audit trail names; a bundle replaced in
between is refused. Inside `Session.active()` every bundle loaded must satisfy that trust
(`fraudcli.signing.trusting`), a bundle written is signed with the key, and every reject is
redacted under `--redact` (`fraudcli.redact.redacting`).

    session = open_session("score", config, model_dir=model, redact=True)
    with session.active():
        summary = score_file(...)
    audit = session.finish(summary.to_dict())
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, BundleInfo, inspect_bundle
from fraudcli.bundle.signing import Trust, signing_key, trusting
from fraudcli.commands.audit import Audit, config_hash, now, overrides
from fraudcli.config.load import Config
from fraudcli.errors import StrictRejectError
from fraudcli.records.redact import Redactor, redacting


@dataclass(frozen=True)
class Session:
    command: str
    config: Config
    trust: Trust
    bundle: BundleInfo | None
    redactor: Redactor | None
    started: str
    arguments: dict
    overrides: tuple[str, ...] = ()  # what fraud.toml changes in a signed bundle's decisions

    @contextmanager
    def active(self) -> Iterator[Session]:
        with trusting(self.trust), redacting(self.redactor):
            try:
                yield self
            except StrictRejectError as exc:
                if self.redactor is None:
                    raise
                raise StrictRejectError(self.redactor.text(str(exc))) from None

    def written(self, model_dir: str | Path | None) -> BundleInfo:
        """The bundle this run wrote, verified with the run's key."""
        return inspect_bundle(model_dir or DEFAULT_MODEL_DIR, Trust(self.trust.key))

    def finish(self, counts: dict, bundle: BundleInfo | None = None) -> Audit:
        """The run's audit trail; `bundle` for a command that wrote one (`fraud train`)."""
        return Audit(
            command=f"fraud {self.command}",
            config_hash=config_hash(self.config),
            config_sources=self.config.sources,
            bundle=bundle or self.bundle,
            started=self.started,
            finished=now(),
            counts=counts,
            arguments=self.arguments,
            redaction=None if self.redactor is None else self.redactor.source,
            overrides=self.overrides,
        )


def open_session(
    command: str,
    config: Config,
    *,
    model_dir: str | Path | None = None,
    loads_bundle: bool = True,
    key_file: Path | None = None,
    expect_bundle: str | None = None,
    redact: bool = False,
    arguments: dict | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Session:
    """Resolve the key (`key_file`, else the environment), verify and pin the bundle's manifest
    (when the command loads one), and make the redactor (with `redact`)."""
    arrow_memory(environ)
    key = signing_key(key_file, environ)
    trust, info = Trust(key, expect_bundle), None
    if loads_bundle:
        info = inspect_bundle(model_dir or DEFAULT_MODEL_DIR, trust)
        trust = Trust(key, info.sha256)
    redactor = Redactor.for_run(config.columns, environ) if redact else None
    changed = overrides(config, info.thresholds) if info is not None and info.signed else ()
    return Session(command, config, trust, info, redactor, now(), arguments or {}, changed)


def arrow_memory(environ: Mapping[str, str] = os.environ) -> None:
    """Arrow's allocations from jemalloc, where Arrow is built with it and
    ARROW_DEFAULT_MEMORY_POOL does not choose otherwise: here it reads a bundle's state in
    35 ms where mimalloc (Arrow's default) takes 50-110 ms, and scores files 10-30% faster."""
    if "ARROW_DEFAULT_MEMORY_POOL" in environ:
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a build without it (Windows)
        pass
