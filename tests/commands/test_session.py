"""A command's session: Arrow's memory pool is chosen once, unless the environment chose."""

from __future__ import annotations

import subprocess
import sys

_POOL = """
import os, sys
import pyarrow as pa
from fraudcli.commands.session import arrow_memory
arrow_memory(os.environ)
print(pa.default_memory_pool().backend_name)
"""


def _pool(**environ: str) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | environ
    done = subprocess.run(
        [sys.executable, "-c", _POOL], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_arrow_allocates_from_jemalloc_where_it_is_built_in():
    import pyarrow as pa

    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        assert _pool() == pa.default_memory_pool().backend_name
    else:
        assert _pool() == "jemalloc"


def test_the_environment_chooses_the_pool_when_it_names_one():
    assert _pool(ARROW_DEFAULT_MEMORY_POOL="system") == "system"
