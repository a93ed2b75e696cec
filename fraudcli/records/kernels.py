"""Arrow's compute kernels by name, for the code a one-record start runs.

`kernel("max", column)` is `pyarrow.compute.max(column)` with its default options. Importing
`pyarrow.compute` wraps each of its 286 kernels in a Python function (0.1 s of every start
here); calling a kernel by name needs only the extension module that runs them.
"""

from __future__ import annotations

from pyarrow._compute import call_function

__all__ = ["cast", "kernel"]


def kernel(name: str, *args):
    """The kernel `name` on `args` (arrays, chunked arrays or scalars), default options."""
    return call_function(name, list(args))


def cast(array, to):
    """`array.cast(to)`: without a kernel (nor `pyarrow.compute`) when of that type already."""
    return array if array.type == to else array.cast(to)
