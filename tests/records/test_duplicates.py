"""`SeenIds` gives exactly what a Python set of the ids seen gives, block after block."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fraudcli.records import duplicates as seen_ids
from fraudcli.records.duplicates import SeenIds, id_hashes


def _by_set(blocks: list[list[str | None]]) -> list[list[bool]]:
    seen: set = set()
    out = []
    for block in blocks:
        firsts = []
        for tid in block:
            firsts.append(tid not in seen)
            seen.add(tid)
        out.append(firsts)
    return out


def _by_seen_ids(blocks: list[list[str | None]]) -> list[list[bool]]:
    seen = SeenIds()
    out = []
    for block in blocks:
        firsts = seen.first_times(pa.array(block, pa.string()))
        out.append([True] * len(block) if firsts is None else firsts.tolist())
    return out


def _stream(rng: np.random.Generator, n_blocks: int, pool: list[str]) -> list[list[str]]:
    return [
        [pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(0, 40)))]
        for _ in range(n_blocks)
    ]


@pytest.mark.parametrize("seed", range(30))
def test_equal_to_a_set_on_random_streams(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # lengths 0 to 20, some sharing long prefixes, so hashes of several widths meet
    pool = ["", "a", "a\x00", "tx-1", "tx-10", "é", "x" * 17, "x" * 16 + "y"]
    pool += [f"tx-{i:0{int(rng.integers(1, 12))}d}" for i in range(60)]
    blocks = _stream(rng, 12, pool)
    assert _by_seen_ids(blocks) == _by_set(blocks)


@pytest.mark.parametrize("seed", range(10))
def test_exact_when_every_hash_collides(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The strings decide: with two hash values for all ids, every row is a candidate."""
    monkeypatch.setattr(
        seen_ids, "id_hashes", lambda ids: (id_hashes(ids) & np.uint64(1)).astype(np.uint64)
    )
    rng = np.random.default_rng(seed)
    blocks = _stream(rng, 10, [f"id{i}" for i in range(50)])
    assert _by_seen_ids(blocks) == _by_set(blocks)


def test_slices_chunks_and_nulls_of_arrays() -> None:
    seen = SeenIds()
    whole = pa.array(["p", "q", "r", "s", "q"])
    assert seen.first_times(whole.slice(1, 2)) is None  # q r
    chunked = pa.chunked_array([["a", "q"], [None, "b", None]])
    assert seen.first_times(chunked).tolist() == [True, False, True, True, False]
    assert seen.first_times(whole.slice(2)).tolist() == [False, True, False]  # r s q


def test_hashes_follow_the_bytes_and_the_length() -> None:
    ids = pa.array(["abc", "abc", "abc\x00", "", "abcdefghij", "abcdefghij"])
    h = id_hashes(ids).tolist()
    assert h[0] == h[1] and h[4] == h[5]
    assert len({h[0], h[2], h[3], h[4]}) == 4
    assert id_hashes(ids.slice(4)).tolist() == h[4:]
