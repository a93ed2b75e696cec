"""The options every command shares for trust and audit (--signing-key, --expect-bundle,
--redact), opening the run's session, and printing its audit trail on stderr."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from fraudcli.cli.console import err

if TYPE_CHECKING:  # (they load NumPy and Arrow: when a command runs, not for `fraud --help`)
    from fraudcli.bundle.model_bundle import BundleInfo
    from fraudcli.commands.audit import Audit
    from fraudcli.commands.session import Session
    from fraudcli.config.load import Config


def _bundle_id(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9a-fA-F]{12,64}", value):
        raise typer.BadParameter("give 12 to 64 hex digits of the bundle's id")
    return value.lower() if value else value


SigningKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        metavar="FILE",
        help="Key file (32+ bytes): train signs the bundle with it, other commands refuse a "
        "bundle not signed with it [default: $FRAUD_SIGNING_KEY_FILE, else $FRAUD_SIGNING_KEY].",
    ),
]
ExpectOpt = Annotated[
    str | None,
    typer.Option(
        "--expect-bundle",
        metavar="ID",
        callback=_bundle_id,
        help="Refuse any bundle but this one (its id: 12+ hex digits of its manifest SHA-256).",
    ),
]
RedactOpt = Annotated[
    bool,
    typer.Option(
        "--redact",
        help="Replace ids (transaction, user, device, card-like) in rejects and messages with "
        "keyed hashes [key: $FRAUD_REDACT_KEY, else random for the run].",
    ),
]


def begin(
    ctx: typer.Context,
    config: Config,
    *,
    model: Path | None = None,
    signing_key: Path | None = None,
    expect: str | None = None,
    redact: bool = False,
    loads_bundle: bool = True,
) -> Session:
    """The run's session (the bundle verified and pinned); a signed bundle's overrides shown."""
    from fraudcli.commands.session import open_session

    session = open_session(
        ctx.info_name or ctx.command.name or "",
        config,
        model_dir=model,
        loads_bundle=loads_bundle,
        key_file=signing_key,
        expect_bundle=expect,
        redact=redact,
        arguments=_arguments(ctx.params),
    )
    for change in session.overrides:
        err.print(f"[yellow]note: fraud.toml overrides the signed bundle: {escape(change)}[/]")
    return session


def _arguments(params: dict) -> dict:
    """The options given (paths, numbers...; no secrets: a key is given by its file, and a
    Redis state's address without its password)."""
    from fraudcli.features.redis_url import shown as without_password

    shown = {}
    for name, value in params.items():
        if value in (None, False, [], ()):
            continue
        if isinstance(value, (list, tuple)):
            shown[name] = [without_password(str(v)) for v in value]
        else:
            shown[name] = without_password(str(value))
    return shown


def format_audit(audit: Audit, sidecar: Path | None = None) -> str:
    parts = []
    if audit.bundle is not None:
        parts.append(f"bundle {audit.bundle.id} ({audit.bundle.signature})")
    parts.append(f"config {audit.config_hash[:12]}")
    if audit.redaction:
        parts.append(f"redacted ({audit.redaction})")
    if sidecar is not None:
        parts.append(f"trail {sidecar}")
    return "audit: " + " · ".join(escape(p) for p in parts)


def print_audit(audit: Audit, sidecar: Path | None = None) -> None:
    err.print(format_audit(audit, sidecar), highlight=False)


def format_trained(info: BundleInfo, config_hash: str) -> str:
    """One line on the bundle `fraud train` wrote: its id, its config, signed or not."""
    head = f"bundle {info.id} (config {config_hash[:12]})"
    if info.signed:
        return f"{head} signed with HMAC-SHA256, key {info.key_id}"
    return f"{head} is unsigned: pass --signing-key FILE or set FRAUD_SIGNING_KEY_FILE to sign it"
