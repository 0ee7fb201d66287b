"""The one statement of a loop's hosts: a ring in travel order, or a hub with spokes (never an invented hop)."""

from __future__ import annotations

from collections import Counter

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from imsdiag.graph import ring_order, ring_shape, strongly_connected
from imsdiag.humanize import ring_text
from imsdiag.models import RingShape


def _both(a: str, b: str, n: int = 3) -> dict[tuple[str, str], int]:
    return {(a, b): n, (b, a): n}


def test_two_hosts_are_a_ring() -> None:
    edges = _both("imc1", "relay", 42)
    (comp,) = strongly_connected(edges)
    hosts, shape = ring_shape(comp, edges, "imc1")
    assert (hosts, shape) == (("imc1", "relay"), RingShape.RING)
    assert ring_text(hosts, shape) == "imc1 → relay → imc1"


def test_three_host_ring_keeps_travel_order() -> None:
    edges = {("a", "b"): 5, ("b", "c"): 5, ("c", "a"): 5}
    (comp,) = strongly_connected(edges)
    hosts, shape = ring_shape(comp, edges, "b")
    assert (hosts, shape) == (("b", "c", "a"), RingShape.RING)


def test_two_rings_sharing_a_hub_are_a_hub_not_an_invented_ring() -> None:
    # a <-> relay and b <-> relay; a and b never exchanged mail. Drawn as a ring it would need b -> a.
    edges = {**_both("a", "relay", 10), **_both("b", "relay", 4)}
    (comp,) = strongly_connected(edges)
    hosts, shape = ring_shape(comp, edges, "a")
    assert shape is RingShape.HUB
    assert hosts == ("relay", "a", "b")  # the hub first, then the spokes, busiest first
    assert ring_text(hosts, shape) == "relay ⇄ a, b"


def test_unknown_and_one_host_statements() -> None:
    assert ring_text((), RingShape.UNKNOWN, "mx.example.org") == "unknown (reported by mx.example.org)"
    assert ring_text((), RingShape.UNKNOWN) == "unknown"
    assert ring_text(("example.com",), RingShape.ONE_HOST) == "inside example.com"


# -- against networkx (a test-only dependency), on random graphs ------------------------------------

HOSTS = st.sampled_from(["imc1", "imc2", "relay", "mx", "hub", "a", "b", "c"])
EDGES = st.lists(st.tuples(HOSTS, HOSTS), max_size=30)


@given(EDGES)
def test_strongly_connected_matches_networkx(edges: list[tuple[str, str]]) -> None:
    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    expected = {frozenset(c) for c in nx.strongly_connected_components(graph) if len(c) >= 2}
    got = strongly_connected(edges)
    assert {frozenset(c) for c in got} == expected
    assert all(len(c) == len(set(c)) for c in got)  # each host once per component


@given(EDGES, st.data())
def test_ring_order_visits_every_member_once_along_edges(edges: list[tuple[str, str]], data: st.DataObject) -> None:
    counts = Counter(edges)
    for component in strongly_connected(edges):
        start = data.draw(st.sampled_from([None, *component]))
        ring = ring_order(component, counts, start)
        assert sorted(ring) == sorted(component)
        assert ring[0] == (start if start is not None else min(component))
        # The walk follows real edges until it can go no further; the rest are appended in name order.
        walked = next((i for i in range(1, len(ring)) if (ring[i - 1], ring[i]) not in counts), len(ring))
        assert list(ring[walked:]) == sorted(ring[walked:])
