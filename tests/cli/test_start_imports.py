"""What a start loads: the one-record path decides without pandas, SciPy or `pyarrow.compute`
(0.25 s, 0.1 s and 0.1 s of a start here), nor `numpy.ma` or `pyarrow.dataset` (30 ms each)
or `pyarrow.parquet` (10 ms: `pyarrow.fs` and its TLS),
and `fraud --help` without NumPy or Arrow."""

from __future__ import annotations

import json
import subprocess
import sys

_RUN = """
import sys
from fraudcli.cli import main
sys.argv = ["fraud", *{args!r}]
try:
    main()
except SystemExit:
    pass
heavy = ("pandas", "scipy", "pyarrow.compute", "numpy", "pyarrow", "numpy.ma", "pyarrow.dataset",
         "pyarrow.parquet")
print({{name: name in sys.modules for name in heavy}}, file=sys.stderr)
"""


def _loaded(*args: str) -> dict[str, bool]:
    code = _RUN.format(args=[str(a) for a in args])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    return json.loads(last.replace("'", '"').replace("True", "true").replace("False", "false"))


def test_one_record_is_decided_without_pandas_scipy_or_the_compute_wrappers(
    world, model_dir, tmp_path
):
    one = tmp_path / "one.jsonl"
    one.write_text((world / "later.jsonl").read_text().splitlines()[0] + "\n")
    loaded = _loaded("score", one, "--model", model_dir, "-o", tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1
    assert loaded["pyarrow"] and loaded["numpy"]  # (it did read the bundle's state)
    assert not loaded["pandas"] and not loaded["scipy"] and not loaded["pyarrow.compute"]
    assert not loaded["numpy.ma"] and not loaded["pyarrow.dataset"]  # (np.unique, read_table)
    assert not loaded["pyarrow.parquet"]  # (it loads pyarrow.fs: S3, GCS, TLS)


def test_one_piped_record_is_decided_without_pandas_or_the_compute_wrappers(world, model_dir):
    line = (world / "later.jsonl").read_text().splitlines()[0] + "\n"
    code = _RUN.format(args=["score", "--model", str(model_dir)])
    done = subprocess.run(
        [sys.executable, "-c", code], input=line, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.count("\n") == 1 and '"decision"' in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    loaded = json.loads(last.replace("'", '"').replace("True", "true").replace("False", "false"))
    assert not loaded["pandas"] and not loaded["scipy"] and not loaded["pyarrow.compute"]


def test_help_loads_neither_numpy_nor_arrow():
    loaded = _loaded("--help")
    assert not any(loaded.values())
