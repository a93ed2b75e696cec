"""Engines other than the embedded one: the same features, fits and decisions computed across a
cluster. Only the commands layer imports them, and only when asked (`--engine dask`)."""
