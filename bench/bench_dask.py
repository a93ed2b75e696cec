"""The Dask engine (`--engine dask`) beside the embedded one: rows a second of `fraud features`,
`fraud train` and `fraud score` on the same Parquet dataset, and peak memory per worker.

The dataset is the bench's 1M transactions (`common.big_table`, after the sample's 60 days)
cut into FILES files, so the Dask engine has FILES partitions. Each figure is a whole CLI run
(`python -m fraudcli ...`, its start-up of about a second included), best of `--repeats`:
- embedded: the default engine, one process; its peak RSS;
- dask, N workers: `--scheduler` at a LocalCluster of N single-threaded worker processes
  (`--memory-limit 3GB` each) that this bench started and warmed up with one run first (as a
  cluster that is already up); the peak RSS of each worker process over the run;
- dask, fraud's own cluster: `--dask-workers 2 --memory-limit 3GB`, what one command costs
  when it starts its cluster (features only, once).
`fraud score` scores the dataset with a bundle trained on the sample (its state continues into
the dataset); `fraud train` fits a bundle of its own on the dataset.
Memory is sampled every 0.1 s with psutil (`bench.rss`): a lower bound of the true peak.

    python -m bench dask                    # 4.5-11 minutes on 2 cores, by their load
    python -m bench.bench_dask --data big/ --commands features --workers 2 --repeats 1

`--data` runs on a dataset of your own (then only `features` and `train`: `score` needs data
after the bundle's state). The README's 20M-row figures are not rerun here: they came from
one run of `python -m bench.rss -- fraud features big/ --engine dask --dask-workers 2
--memory-limit 3GB -o feats/` on `fraud simulate -n 2000000 --days 600` written ten times,
for ten consecutive periods, into big/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import common
from bench.rss import Sampler, gib

FILES = 4
REPEATS = 2
WORKERS = (1, 2)
COMMANDS = ("features", "train", "score")
MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class Run:
    seconds: float
    driver: int  # peak RSS of the command's own process
    workers: tuple[int, ...]  # peak RSS of each worker process (largest first)


def dataset(files: int = FILES) -> Path:
    """The bench's 1M transactions as `files` Parquet files of consecutive rows, cached."""
    import pyarrow.parquet as pq

    path = common.CACHE / f"big-{files}-files"
    if not (path / f"part-{files - 1}.parquet").exists():
        table = pq.read_table(common.big_table())
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        size = -(-table.num_rows // files)
        for i in range(files):
            pq.write_table(table.slice(i * size, size), path / f"part-{i}.parquet")
    return path


def command(name: str, data: Path, out: Path, engine: list[str]) -> list[str]:
    """The CLI run of `name` on `data`, its output under `out`, with `engine`'s options."""
    dask = bool(engine)
    if name == "features":
        target = ["-o", str(out / ("feats" if dask else "feats.parquet"))]
    elif name == "train":
        target = ["--model", str(out / "model")]
    else:
        model = common.trained_model()
        target = ["--model", str(model), "-o", str(out / ("scored" if dask else "scored.parquet"))]
    return [sys.executable, "-m", "fraudcli", name, str(data), *target, *engine]


def timed_run(argv: list[str], out: Path) -> Run:
    """One CLI run in a fresh `out`, its wall time and the peak RSS of the process tree of
    this bench (the command, and the workers of a cluster this bench started)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with Sampler(os.getpid(), every=0.1) as peaks:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, stderr = proc.communicate()
        seconds = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return Run(seconds, peaks.rss.get(proc.pid, 0), tuple(peaks.workers()))


def best(runs: list[Run]) -> Run:
    """The fastest run's time; the largest peaks seen over all runs."""
    workers = [max(w) for w in zip(*(r.workers for r in runs), strict=False)] if runs else []
    return Run(
        min(r.seconds for r in runs),
        max(r.driver for r in runs),
        tuple(sorted(workers, reverse=True)),
    )


def local_cluster(workers: int):
    import logging

    from distributed import LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, memory_limit=MEMORY_LIMIT,
        dashboard_address=None, env={"DASK_LOGGING__DISTRIBUTED": "error"},
    )  # fmt: skip


def measure(data: Path, commands, workers, repeats: int) -> dict[tuple[str, str], Run]:
    out = common.CACHE / "dask-out"
    got: dict[tuple[str, str], Run] = {}
    for name in commands:
        runs = [timed_run(command(name, data, out, []), out) for _ in range(repeats)]
        got[(name, "embedded")] = best(runs)
    for n in workers:
        with local_cluster(n) as cluster:
            engine = ["--engine", "dask", "--scheduler", cluster.scheduler_address]
            timed_run(command("features", sample(), out, engine), out)  # warm up
            for name in commands:
                runs = [timed_run(command(name, data, out, engine), out) for _ in range(repeats)]
                got[(name, f"dask, {n} worker{'s' * (n > 1)}")] = best(runs)
    if "features" in commands:
        own = ["--engine", "dask", "--dask-workers", "2", "--memory-limit", MEMORY_LIMIT]
        got[("features", "dask, 2 started by fraud")] = timed_run(
            command("features", data, out, own), out
        )
    shutil.rmtree(out, ignore_errors=True)
    return got


def sample() -> Path:
    from fraudcli.samples import TRAIN, sample_path

    return Path(sample_path(TRAIN))


def rows_of(data: Path) -> int:
    import pyarrow.parquet as pq

    files = sorted(data.glob("*.parquet")) if data.is_dir() else [data]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def report(got: dict[tuple[str, str], Run], rows: int) -> None:
    engines = list(dict.fromkeys(engine for _, engine in got))
    commands = list(dict.fromkeys(name for name, _ in got))
    print(f"  {rows:,} rows; rows/s (best run), then peak RSS: the command's process "
          "(embedded) or each worker (dask)")  # fmt: skip
    for name in commands:
        print(f"  {name}")
        embedded = got.get((name, "embedded"))
        for engine in engines:
            run = got.get((name, engine))
            if run is None:
                continue
            memory = gib(run.driver) if not run.workers else " + ".join(map(gib, run.workers))
            ratio = f"{embedded.seconds / run.seconds:.2f}x embedded" if embedded else ""
            print(f"    {engine:<28}{rows / run.seconds:>12,.0f}/s {run.seconds:>8.1f} s"
                  f"  {ratio:<16} {memory}")  # fmt: skip


def run(
    data: Path | None = None,
    commands=COMMANDS,
    workers=WORKERS,
    repeats: int = REPEATS,
) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("  skipped: the dask extra is not installed (pip install -e '.[dask]')")
        return
    if data is not None and "score" in commands:
        commands = tuple(c for c in commands if c != "score")  # needs data after the bundle
    data = data or dataset()
    load = os.getloadavg()
    got = measure(data, commands, workers, repeats)
    after = os.getloadavg()
    report(got, rows_of(data))
    print(f"  load average (1 min) {load[0]:.2f} before, {after[0]:.2f} after; "
          f"{os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a Parquet dataset [the bench's 1M rows]")
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--workers", default=",".join(map(str, WORKERS)))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args(sys.argv[1:])
    run(
        args.data,
        tuple(args.commands.split(",")),
        tuple(int(n) for n in args.workers.split(",")),
        args.repeats,
    )
