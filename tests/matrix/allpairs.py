"""A small deterministic greedy all-pairs (pairwise covering array) builder that skips excluded pairs."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

Pair = tuple[tuple[str, str], tuple[str, str]]


def _pairs_of(row: Mapping[str, str], names: Sequence[str]) -> set[Pair]:
    out: set[Pair] = set()
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a in row and b in row:
                out.add(((a, row[a]), (b, row[b])))
    return out


def all_pairs(
    knobs: Mapping[str, Sequence[str]],
    excluded: Callable[[tuple[str, str], tuple[str, str]], str | None] = lambda a, b: None,
) -> list[dict[str, str]]:
    """Rows (knob -> value) such that every allowed pair of values of two knobs occurs in some row.

    Greedy: each row starts from the first uncovered pair, then every other knob takes the value that covers
    the most uncovered pairs with the values chosen so far (ties: the value used least so far, then the value
    listed first, so that filler values spread over every value). No row holds an excluded pair. Deterministic
    for a given `knobs` order.
    """
    names = list(knobs)
    uncovered: list[Pair] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for va in knobs[a]:
                for vb in knobs[b]:
                    if not excluded((a, va), (b, vb)):
                        uncovered.append(((a, va), (b, vb)))
    todo = set(uncovered)
    used: dict[tuple[str, str], int] = {}
    rows: list[dict[str, str]] = []
    while todo:
        seed = next(p for p in uncovered if p in todo)
        row = {seed[0][0]: seed[0][1], seed[1][0]: seed[1][1]}
        for name in names:
            if name in row:
                continue
            best: tuple[int, int, int] | None = None
            best_value: str | None = None
            for idx, value in enumerate(knobs[name]):
                if any(excluded((name, value), (k, v)) for k, v in row.items()):
                    continue
                gain = 0
                for k, v in row.items():
                    pair = ((k, v), (name, value)) if names.index(k) < names.index(name) else ((name, value), (k, v))
                    gain += pair in todo
                score = (gain, -used.get((name, value), 0), -idx)
                if best is None or score > best:
                    best, best_value = score, value
            if best_value is None:
                raise ValueError(f"no allowed value for {name} beside {row}")
            row[name] = best_value
        ordered = {n: row[n] for n in names}
        covered = _pairs_of(ordered, names) & todo
        if not covered:  # cannot happen: the seed pair is always new
            raise AssertionError("all-pairs made no progress")
        todo -= covered
        for item in ordered.items():
            used[item] = used.get(item, 0) + 1
        rows.append(ordered)
    return rows


def random_rows(
    knobs: Mapping[str, Sequence[str]],
    count: int,
    seed: int,
    excluded_row: Callable[[dict[str, str]], str | None] = lambda row: None,
) -> list[dict[str, str]]:
    """`count` distinct full combinations drawn with a seeded generator, none excluded."""
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        row = {name: rng.choice(list(values)) for name, values in knobs.items()}
        key = tuple(row.values())
        if key in seen or excluded_row(row):
            continue
        seen.add(key)
        rows.append(row)
    return rows


def missing_pairs(
    rows: Sequence[Mapping[str, str]],
    knobs: Mapping[str, Sequence[str]],
    excluded: Callable[[tuple[str, str], tuple[str, str]], str | None] = lambda a, b: None,
) -> list[Pair]:
    """Allowed pairs that no row covers (empty for a correct covering array)."""
    names = list(knobs)
    have: set[Pair] = set()
    for row in rows:
        have |= _pairs_of(row, names)
    out: list[Pair] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for va in knobs[a]:
                for vb in knobs[b]:
                    pair = ((a, va), (b, vb))
                    if not excluded(*pair) and pair not in have:
                        out.append(pair)
    return out
