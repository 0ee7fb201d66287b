"""Geometry for the HTML report's drawings: a ring of hosts on a circle and pass marks on a time axis.

Everything is computed here, in Python, so the templates only place numbers (and the output is the same on
every run: coordinates are rounded to one decimal). No text is escaped here: the templates do that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..humanize import utc

LABEL_LIMIT = 30
"""Host names longer than this are cut in the drawing (the full name is the node's tooltip and in the text)."""

_RING_WIDTH = 560
_WIDE_RING = 720  # three hosts or more: names beside the nodes need the room
_SIDE_LABEL = 24  # and are cut shorter
_NODE_RADIUS = 30
_TOP = 40  # room for the looping address above the ring


@dataclass(frozen=True)
class Node:
    """One host of the ring: a circle with its role inside and its name below."""

    x: float
    y: float
    r: float
    name: str
    label: str
    """The name as drawn (cut at LABEL_LIMIT)."""
    role: str
    """`IMS`, `relay` or `MTA` (also the CSS class that tells them apart)."""
    label_x: float
    label_y: float
    anchor: str
    """SVG text-anchor of the label: `middle` below (or above) the node, `start`/`end` beside it."""


@dataclass(frozen=True)
class Arrow:
    """One hop in the direction of travel: a curve, its arrowhead and its pass count."""

    source: str
    target: str
    path: str
    """SVG path data of the curve."""
    head: str
    """SVG polygon points of the arrowhead."""
    label_x: float
    label_y: float
    count: int | None


@dataclass(frozen=True)
class RingLayout:
    """The ring drawing: a view box, the nodes and the arrows between them."""

    width: int
    height: int
    nodes: tuple[Node, ...]
    arrows: tuple[Arrow, ...]


def _cut(name: str, limit: int = LABEL_LIMIT) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _fmt(v: float) -> str:
    # One decimal, and no "-0.0": the same text on every platform and run.
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def ring_layout(
    hosts: Sequence[str],
    edges: Sequence[tuple[str, str, int | None]],
    roles: Sequence[tuple[str, str]] = (),
    hub: bool = False,
) -> RingLayout | None:
    """Hosts evenly on a circle in travel order (a hub in the middle), one curved arrow per hop; None with no host.

    Each arrow bends to the right of its direction, so A → B and B → A are two separate curves.
    """
    if not hosts:
        return None
    role_of = dict(roles)
    spokes = list(hosts[1:]) if hub else list(hosts)
    # Two hosts sit side by side with their names below them. Three or more go on a circle with their names
    # beside them, away from the centre: a wider drawing, and names cut at _SIDE_LABEL, so none overlap.
    side = len(spokes) > 2
    width, height, radius = (_WIDE_RING, 414, 130) if side else (_RING_WIDTH, 210, 150)
    cx, cy = width / 2, _TOP + (height - _TOP) / 2 - 10
    start = math.pi if len(spokes) == 2 else -math.pi / 2
    places: dict[str, tuple[float, float]] = {}
    if hub:
        places[hosts[0]] = (cx, cy)
    for i, host in enumerate(spokes):
        angle = start + 2 * math.pi * i / len(spokes)
        places[host] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    if len(hosts) == 1:
        places[hosts[0]] = (cx, cy)
    nodes = tuple(
        Node(
            round(x, 1),
            round(y, 1),
            _NODE_RADIUS,
            h,
            _cut(h, _SIDE_LABEL if side else LABEL_LIMIT),
            role_of.get(h, "MTA"),
            *_label_place(x - cx, y - cy, x, y, side),
        )
        for h, (x, y) in places.items()
    )
    arrows = []
    for a, b, count in edges:
        if a in places and b in places:
            arrows.append(_self_arrow(places[a], count, a) if a == b else _arrow(places[a], places[b], count, a, b))
    return RingLayout(width, height, nodes, tuple(arrows))


def _label_place(dx: float, dy: float, x: float, y: float, side: bool) -> tuple[float, float, str]:
    """Where a node's name goes: below it, or (on a ring of three or more) outside the ring, away from the centre."""
    r = _NODE_RADIUS
    if side and abs(dx) > r:
        return (
            (round(x + r + 6, 1), round(y + 4, 1), "start") if dx > 0 else (round(x - r - 6, 1), round(y + 4, 1), "end")
        )
    if side and dy < 0:
        return round(x, 1), round(y - r - 8, 1), "middle"
    return round(x, 1), round(y + r + 18, 1), "middle"


def implied_edges(hosts: Sequence[str], hub: bool = False) -> list[tuple[str, str, int | None]]:
    """The hops a ring statement names when no hop was counted: a → b → ... → a, or hub ⇄ each spoke."""
    if len(hosts) < 2:
        return [(hosts[0], hosts[0], None)] if hosts else []
    if hub:
        return [e for spoke in hosts[1:] for e in ((hosts[0], spoke, None), (spoke, hosts[0], None))]
    return [(a, hosts[(i + 1) % len(hosts)], None) for i, a in enumerate(hosts)]


def _arrow(p: tuple[float, float], q: tuple[float, float], count: int | None, a: str, b: str) -> Arrow:
    (x1, y1), (x2, y2) = p, q
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx, ny = -uy, ux  # the normal to the right of travel in SVG's downward y
    bend = min(60.0, length / 4)
    mx, my = (x1 + x2) / 2 + nx * bend, (y1 + y2) / 2 + ny * bend
    # The curve leaves and reaches the circles' edges, aimed at the control point.
    sx, sy = _towards((x1, y1), (mx, my), _NODE_RADIUS + 2)
    ex, ey = _towards((x2, y2), (mx, my), _NODE_RADIUS + 6)
    path = f"M {_fmt(sx)} {_fmt(sy)} Q {_fmt(mx)} {_fmt(my)} {_fmt(ex)} {_fmt(ey)}"
    head = _head((ex, ey), (ex - mx, ey - my))
    # The label sits just outside the curve's middle (the curve's apex is halfway to the control point).
    lx, ly = (x1 + x2) / 2 + nx * (bend / 2 + 16), (y1 + y2) / 2 + ny * (bend / 2 + 16)
    return Arrow(a, b, path, head, round(lx, 1), round(ly + 4, 1), count)


def _self_arrow(p: tuple[float, float], count: int | None, host: str) -> Arrow:
    """A loop inside one MTA: an arc over its node."""
    x, y = p
    r = _NODE_RADIUS
    sx, sy, ex, ey = x - r * 0.7, y - r * 0.75, x + r * 0.7, y - r * 0.75
    path = f"M {_fmt(sx)} {_fmt(sy)} C {_fmt(x - 2 * r)} {_fmt(y - 3 * r)} {_fmt(x + 2 * r)} {_fmt(y - 3 * r)} "
    path += f"{_fmt(ex)} {_fmt(ey)}"
    head = _head((ex, ey), (ex - (x + 2 * r), ey - (y - 3 * r)))
    return Arrow(host, host, path, head, round(x, 1), round(y - 2.4 * r, 1), count)


def _towards(p: tuple[float, float], q: tuple[float, float], distance: float) -> tuple[float, float]:
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = math.hypot(dx, dy) or 1.0
    return p[0] + dx / length * distance, p[1] + dy / length * distance


def _head(tip: tuple[float, float], direction: tuple[float, float], size: float = 10.0) -> str:
    length = math.hypot(*direction) or 1.0
    ux, uy = direction[0] / length, direction[1] / length
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    left = (bx - uy * size / 2, by + ux * size / 2)
    right = (bx + uy * size / 2, by - ux * size / 2)
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in (tip, left, right))


# --- the time axis -------------------------------------------------------------------------------------------

_TIMELINE_WIDTH = 760
_PLOT_LEFT = 24
_ROW_HEIGHT = 44  # the row's label sits above its marks
_PLOT_RIGHT = _TIMELINE_WIDTH - 24

# Tick steps a reader counts in; the first that gives at most six ticks is used.
_STEPS = (
    1,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)


@dataclass(frozen=True)
class Mark:
    """One pass (or sighting) on a row: where it is drawn and what its tooltip says."""

    x: float
    title: str


@dataclass(frozen=True)
class Row:
    """One row of the time axis: a hop (or a server) and its marks."""

    y: float
    label: str
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimelineLayout:
    """The pass timeline: a view box, a plot area, one row per hop and the axis ticks under them."""

    width: int
    height: int
    x0: float
    x1: float
    axis_y: float
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]


def timeline_layout(rows: Sequence[tuple[str, Sequence[tuple[datetime, str]]]]) -> TimelineLayout | None:
    """Rows of (label, [(time, tooltip)]) on one shared time axis; None when no row has a time."""
    times = [utc(t) for _, marks in rows for t, _ in marks]
    if not times:
        return None
    first, last = min(times), max(times)
    seconds = (last - first).total_seconds()
    if seconds <= 0:  # one instant: a minute around it, so the marks sit in the middle
        first, last, seconds = first - timedelta(seconds=30), last + timedelta(seconds=30), 60.0
    x0, x1 = float(_PLOT_LEFT), float(_PLOT_RIGHT)

    def place(t: datetime) -> float:
        return round(x0 + (utc(t) - first).total_seconds() / seconds * (x1 - x0), 1)

    laid = tuple(
        Row(
            y=float(36 + i * _ROW_HEIGHT),
            label=label,
            marks=tuple(Mark(place(t), title) for t, title in sorted(marks, key=lambda m: utc(m[0]))),
        )
        for i, (label, marks) in enumerate(rows)
    )
    axis_y = float(24 + len(rows) * _ROW_HEIGHT)
    return TimelineLayout(_TIMELINE_WIDTH, int(axis_y + 40), x0, x1, axis_y, laid, _ticks(first, last, place))


def _ticks(first: datetime, last: datetime, place: Callable[[datetime], float]) -> tuple[Tick, ...]:
    """Round times (every N seconds since midnight UTC) between first and last, at most six."""
    seconds = (last - first).total_seconds()
    step = next((s for s in _STEPS if seconds / s <= 6), _STEPS[-1])
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    n = math.ceil((first - midnight).total_seconds() / step)
    ticks = []
    t = midnight + timedelta(seconds=n * step)
    while t <= last:
        ticks.append(Tick(place(t), _tick_label(t, step, first, last)))
        t += timedelta(seconds=step)
    return tuple(ticks)


def _tick_label(t: datetime, step: int, first: datetime, last: datetime) -> str:
    if first.date() != last.date():
        return f"{t:%m-%d %H:%M}"
    return f"{t:%H:%M:%S}" if step < 60 else f"{t:%H:%M}"
