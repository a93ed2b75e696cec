"""Duplicate transaction ids across a cluster, by the rule of `fraudcli.records.id_registry`:
a record is a duplicate iff an earlier accepted record (input order) has its id and a
timestamp > N - W, N the newest timestamp accepted before it, W the window.

The rule is sequential (whether a record is accepted moves N for every later one), but only
through records whose id was seen before. So, exactly:

1. A shuffle by `transaction_id` finds every id seen more than once (`repeated`): its first
   occurrence is always accepted (no earlier record has its id), its later ones are the
   candidates. Every other row is a first occurrence, accepted.
2. Per input partition, the newest timestamp of its accepted first occurrences, and for each
   candidate in it the newest first occurrence before it there (`first_maxima`); a scan over
   the partitions in input order gives, for each candidate, P: the newest first occurrence
   before it in the whole input (and the stored state's newest, when continuing one).
3. One task walks the candidates in input order (`windowed`): N = max(P, the newest accepted
   candidate so far), and a candidate is a duplicate iff the latest accepted occurrence of its
   id has a timestamp > N - W (an earlier accepted one cannot match when a later one was
   accepted: that later one was, so N has passed it by W), as the registry decides it.

The third step holds every occurrence of a repeated id (24 bytes each): resends are few, so
this is small beside the data; a dataset in which most ids repeat puts all of them in that one
task's memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Occurrences:
    """Every occurrence of the ids seen more than once in one shuffled partition: `seq`
    (input order), `ts`, `group` (the id, as a number local to the partition), `first`."""

    seq: np.ndarray
    ts: np.ndarray
    group: np.ndarray
    first: np.ndarray

    @property
    def candidates(self) -> np.ndarray:
        return self.seq[~self.first]


def repeated(ids: pd.DataFrame) -> Occurrences:
    """The occurrences of the partition's repeated ids (`ids`: transaction_id, seq, ts; a
    state's accepted ids with seq < 0)."""
    ids = ids.sort_values("seq", kind="stable")
    again = ids.duplicated("transaction_id", keep=False).to_numpy()
    mine = ids[again]
    group = pd.factorize(mine["transaction_id"])[0].astype(np.int64)
    # a state's ids (seq < 0) were all accepted, a repeat among them too
    first = ~mine.duplicated("transaction_id", keep="first").to_numpy()
    first |= mine["seq"].to_numpy() < 0
    return Occurrences(
        mine["seq"].to_numpy(dtype=np.int64),
        mine["ts"].to_numpy(dtype=np.float64),
        group,
        first,
    )


def candidates(found: list[Occurrences]) -> np.ndarray:
    """The sorted sequence numbers of every candidate (a later occurrence of a seen id)."""
    values = [f.candidates for f in found]
    return np.sort(np.concatenate(values)) if values else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class FirstMaxima:
    """One input partition's newest first occurrence (`newest`, -inf when none), and for each
    of its candidates (`seq`, input order) the newest first occurrence before it there."""

    newest: float
    seq: np.ndarray
    before: np.ndarray
    first: float = math.nan  # the partition's first row's time


def first_maxima(keys: pd.DataFrame, candidate_seqs: np.ndarray) -> FirstMaxima:
    """`FirstMaxima` of an input partition's key columns (seq, ts; rows in input order)."""
    seq = keys["seq"].to_numpy(dtype=np.int64)
    ts = keys["ts"].to_numpy(dtype=np.float64)
    candidate = np.isin(seq, candidate_seqs)
    firsts = np.where(candidate, -np.inf, ts)
    if not len(seq):
        return FirstMaxima(-math.inf, seq, ts)
    before = np.concatenate(([-np.inf], np.maximum.accumulate(firsts)[:-1]))
    return FirstMaxima(float(firsts.max()), seq[candidate], before[candidate], float(ts[0]))


@dataclass(frozen=True)
class Walked:
    """`seqs`: the duplicates' sequence numbers, sorted; `newest`: the newest timestamp
    accepted at the end (N after the last row: the state's, the rows' accepted)."""

    seqs: np.ndarray
    newest: float
    first: float = math.nan  # the first row's time (NaN: no row)


def windowed(
    found: list[Occurrences], maxima: list[FirstMaxima], window: float, newest: float = -math.inf
) -> Walked:
    """The duplicates: `found` from every shuffled partition, `maxima` from every input
    partition in input order, `newest` the stored state's."""
    prior = _prior_newest(maxima, newest)
    end = max([newest, *(part.newest for part in maxima)])
    start = next((part.first for part in maxima if not math.isnan(part.first)), math.nan)
    seq = np.concatenate([f.seq for f in found]) if found else np.empty(0, np.int64)
    if not len(seq):
        return Walked(np.empty(0, dtype=np.int64), end, start)
    ts = np.concatenate([f.ts for f in found])
    group = np.concatenate([f.group for f in _numbered(found)])
    first = np.concatenate([f.first for f in found])
    order = np.argsort(seq, kind="stable")
    latest: dict[int, float] = {}  # id -> timestamp of its latest accepted occurrence
    accepted = -math.inf  # the newest accepted candidate
    out = []
    for s, t, g, is_first in zip(
        seq[order].tolist(), ts[order].tolist(), group[order].tolist(), first[order].tolist(),
        strict=True,
    ):  # fmt: skip
        if is_first:
            latest[g] = t
            continue
        bound = max(prior[s], accepted) - window
        if latest[g] > bound:
            out.append(s)
            continue
        latest[g] = t
        accepted = max(accepted, t)
    return Walked(np.asarray(out, dtype=np.int64), max(end, accepted), start)


def _numbered(found: list[Occurrences]) -> list[Occurrences]:
    """`found` with each partition's ids numbered after the ones of the partitions before."""
    out, offset = [], 0
    for f in found:
        out.append(Occurrences(f.seq, f.ts, f.group + offset, f.first))
        offset += int(f.group.max()) + 1 if len(f.group) else 0
    return out


def _prior_newest(maxima: list[FirstMaxima], newest: float) -> dict[int, float]:
    """For each candidate, P: the newest first occurrence before it, or the state's newest."""
    out: dict[int, float] = {}
    scan = newest
    for part in maxima:
        local = np.maximum(part.before, scan)
        out.update(zip(part.seq.tolist(), local.tolist(), strict=True))
        scan = max(scan, part.newest)
    return out
