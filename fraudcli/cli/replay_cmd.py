"""`fraud replay`: history replayed at a target rate through the real pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudcli.cli.app import (
    ConfigOpt,
    JsonOpt,
    MapOpt,
    ModelOpt,
    RejectsOpt,
    ReportOpt,
    app,
    handled,
)
from fraudcli.cli.render import emit
from fraudcli.config import load_config
from fraudcli.replay.options import PERCENTILE_DEFINITION, ReplayOptions

Float = float | None


@app.command(epilog=f"Percentiles: {PERCENTILE_DEFINITION}.")
@handled
def replay(
    data: Annotated[Path | None, typer.Argument(help="Input file [default: the sample].")] = None,
    tps: Annotated[Float, typer.Option("--tps", help="Fixed rate, records/s.")] = None,
    speed: Annotated[
        Float, typer.Option("--speed", help="Recorded timestamps, X times faster.")
    ] = None,
    max_rate: Annotated[bool, typer.Option("--max", help="As fast as possible.")] = False,
    duration: Annotated[Float, typer.Option("--duration", help="Seconds to run.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Records to decide.")] = None,
    warmup: Annotated[
        float, typer.Option("--warmup", help="First seconds left out of the figures.")
    ] = 0.0,
    loop: Annotated[
        bool, typer.Option("--loop", help="Replay the data again (shifted in time) until done.")
    ] = False,
    deadline_ms: Annotated[
        Float, typer.Option("--deadline-ms", help="Per-record deadline; late -> rules only.")
    ] = None,
    inject_latency: Annotated[
        str | None,
        typer.Option("--inject-latency", help="MS@FRACTION: slow feature lookups, e.g. 5@0.01."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault injection.")] = 0,
    slo_p99_ms: Annotated[
        Float, typer.Option("--slo-p99-ms", help="Exit 5 when the p99 latency is above this.")
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
) -> None:
    """Replay transactions on a clock through the scoring pipeline; report latency and rate.

    Records are due on an absolute schedule (record i at start + i/TPS, or at its recorded
    time / SPEED); latency = decision ready - due time, so queueing behind a slow record is
    counted. It covers lookup -> model -> decision -> state update: the file is read and
    validated before the clock starts (not JSON parsing). Service time (inside the pipeline)
    is shown beside it. Without --tps/--speed/--max the rate is 1,000/s. With no DATA it
    replays the shipped sample (txns.jsonl) with --loop for 10 s unless told otherwise.
    --deadline-ms: a record not decided by then gets a rules-only (degraded) decision.
    Ctrl-C stops early and still reports.

    Example: fraud replay --tps 10000 --duration 30 --report replay.json --slo-p99-ms 200
    """
    from fraudcli.cli.render_replay import live_view, print_report
    from fraudcli.replay.faults import Fault
    from fraudcli.replay.report import check_slo
    from fraudcli.replay.run import replay_file

    options = ReplayOptions(
        tps=tps,
        speed=speed,
        max_rate=max_rate,
        duration=duration,
        limit=limit,
        warmup=warmup,
        loop=loop,
        deadline_ms=deadline_ms,
        fault=Fault.parse(inject_latency) if inject_latency else None,
        seed=seed,
    )
    cfg = load_config(config, map_)
    with live_view() as on_progress:
        result = replay_file(
            data,
            options,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            fresh_state=fresh_state,
            on_progress=on_progress,
        )
    print_report(result)
    emit(result.to_dict(), json_, report)
    if result.interrupted:
        raise typer.Exit(130)
    check_slo(result, slo_p99_ms)
