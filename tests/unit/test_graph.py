"""The one statement of a loop's hosts: a ring in travel order, or a hub with spokes (never an invented hop)."""

from __future__ import annotations

from imsdiag.graph import ring_shape, strongly_connected
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
