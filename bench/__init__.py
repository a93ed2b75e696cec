"""Benchmarks for `make bench`: figures and ratios printed, never asserted in `make test`."""
