"""`fraud replay`: history replayed at a target rate through the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudcli import ranges
from fraudcli.cli.app import (
    ConfigOpt,
    JsonOpt,
    MapOpt,
    ModelOpt,
    OverwriteStateOpt,
    RejectsOpt,
    ReportOpt,
    StatePathOpt,
    app,
    handled,
)
from fraudcli.cli.audit_opts import ExpectOpt, RedactOpt, SigningKeyOpt, begin, print_audit
from fraudcli.cli.options import finite, ranged
from fraudcli.cli.render import emit
from fraudcli.config.load import load_config
from fraudcli.errors import UsageError
from fraudcli.files import check_distinct
from fraudcli.replay.options import PERCENTILE_DEFINITION, ReplayOptions

Float = float | None


def _fault(text: str | None):  # -> Fault | None (Typer evaluates the annotations)
    """--inject-latency MS@FRACTION, parsed (and range-checked) while Typer reads the options."""
    from fraudcli.replay.faults import Fault

    try:
        return Fault.parse(text) if text else None
    except UsageError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--inject-latency ")) from None


@app.command(epilog=f"Percentiles: {PERCENTILE_DEFINITION}.")
@handled
def replay(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Argument(help="Input file [default: the sample].")] = None,
    tps: Annotated[
        Float,
        typer.Option(
            "--tps", callback=finite(ranges.TPS), help=ranged("Fixed rate, records/s.", ranges.TPS)
        ),
    ] = None,
    speed: Annotated[
        Float,
        typer.Option(
            "--speed",
            callback=finite(ranges.SPEED),
            help=ranged("Recorded timestamps, X times faster.", ranges.SPEED),
        ),
    ] = None,
    max_rate: Annotated[bool, typer.Option("--max", help="As fast as possible.")] = False,
    duration: Annotated[
        Float,
        typer.Option(
            "--duration",
            callback=finite(ranges.DURATION),
            help=ranged("Seconds to run.", ranges.DURATION),
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=ranges.MAX_LIMIT, help="Records to decide."),
    ] = None,
    warmup: Annotated[
        float,
        typer.Option(
            "--warmup",
            callback=finite(ranges.WARMUP),
            help=ranged("First seconds left out of the figures.", ranges.WARMUP),
        ),
    ] = 0.0,
    loop: Annotated[
        bool, typer.Option("--loop", help="Replay the data again (shifted in time) until done.")
    ] = False,
    deadline_ms: Annotated[
        Float,
        typer.Option(
            "--deadline-ms",
            callback=finite(ranges.DEADLINE_MS),
            help=ranged("Per-record deadline; late -> rules only.", ranges.DEADLINE_MS),
        ),
    ] = None,
    inject_latency: Annotated[
        str | None,
        typer.Option(
            "--inject-latency",
            callback=_fault,
            help="MS@FRACTION: slow feature lookups, e.g. 5@0.01 "
            f"[MS {ranges.INJECT_MS}, FRACTION {ranges.INJECT_FRACTION}].",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault injection.")] = 0,
    slo_p99_ms: Annotated[
        Float,
        typer.Option(
            "--slo-p99-ms",
            callback=finite(ranges.SLO_P99_MS),
            help=ranged("Exit 5 when the p99 latency is above this.", ranges.SLO_P99_MS),
        ),
    ] = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    model: ModelOpt = None,
    fresh_state: Annotated[
        bool, typer.Option("--fresh-state", help="Start from an empty feature store.")
    ] = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    signing_key: SigningKeyOpt = None,
    expect_bundle: ExpectOpt = None,
    redact: RedactOpt = False,
    state: StatePathOpt = None,
    overwrite_state: OverwriteStateOpt = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes sharing a --state redis://... (records split by user_id).",
        ),
    ] = None,
) -> None:
    """Replay transactions on a clock through the scoring pipeline; report latency and rate.

    Records are due on an absolute schedule (record i at start + i/TPS, or at its recorded
    time / SPEED); latency = decision ready - due time, so queueing behind a slow record is
    counted. It covers lookup -> model -> decision -> state update: the file is read and
    validated before the clock starts (not JSON parsing). Service time (inside the pipeline)
    is shown beside it. Without --tps/--speed/--max the rate is 1,000/s. With no DATA it
    replays the shipped sample (txns.jsonl) with --loop for 10 s unless told otherwise.
    --deadline-ms: a record not decided by then gets a rules-only (degraded) decision.
    Ctrl-C stops early and still reports. --state PATH continues from that feature state and
    writes it back at the end (Ctrl-C and SIGTERM included). --workers N (with a
    --state redis://...): N processes, each deciding the records of its users on the same
    schedule; one report over all of them (a killed worker is restarted; Redis away: rules).

    Example: fraud replay --tps 10000 --duration 30 --report replay.json --slo-p99-ms 200
    """
    check_distinct([data], [("--report", report), ("--rejects", rejects)])
    from fraudcli.cli.render_replay import live_view, print_report
    from fraudcli.replay.report import check_slo, run_counts
    from fraudcli.replay.run import replay_file
    from fraudcli.replay.workers import check_workers
    from fraudcli.state.keeper import StateOptions

    options = ReplayOptions(
        tps=tps,
        speed=speed,
        max_rate=max_rate,
        duration=duration,
        limit=limit,
        warmup=warmup,
        loop=loop,
        deadline_ms=deadline_ms,
        fault=inject_latency,  # a Fault: parsed by its callback
        seed=seed,
    )
    # usage errors (exit 2) before the bundle is looked at
    options.with_defaults(sample=data is None).check()
    state_options = StateOptions(state, fresh_state, overwrite_state)
    check_workers(workers, state_options, options)
    cfg = load_config(config, map_)
    session = begin(
        ctx, cfg, model=model, signing_key=signing_key, expect=expect_bundle, redact=redact
    )
    with session.active(), live_view() as on_progress:
        result = replay_file(
            data,
            options,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            state=state_options,
            on_progress=on_progress,
            workers=workers,
        )
    print_report(result)
    audit = session.finish(run_counts(result))
    print_audit(audit)
    emit(result.to_dict() | {"audit": audit.to_dict()}, json_, report)
    if result.interrupted:
        raise typer.Exit(130)
    check_slo(result, slo_p99_ms)
