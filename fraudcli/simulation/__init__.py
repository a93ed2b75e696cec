"""Synthetic labelled transactions: the world, its population, and the transactions
(`simulate`). Modules: `world` (cities and merchant categories), `population` (users and
merchants, fixed by the seed), `rows` (the columnar row buffer and its Arrow table), `legit`
(everyday spending), `fraud` (the fraud patterns), `simulate` (the entry point)."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "DRIFT": "simulate",
    "FRAUD_PATTERNS": "simulate",
    "SCHEMA": "simulate",
    "simulate": "simulate",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
