"""JSON rendering of an Explanation: a versioned document with the same data as the terminal view."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from ..hops import Q178436_NOTE, ChainAnalysis, HopRow
from ..jsontext import dumps, iso_stamp
from .base import Reporter
from .records import finding_dict

if TYPE_CHECKING:  # the explain module brings the index (sqlite) in: only explain's command needs it
    from ..explain import Explanation, Sighting

EXPLAIN_SCHEMA_VERSION = 2
"""2: findings in the scan document's form (`records.finding_dict`), checked by docs/schema/explain-v2.schema.json."""


def sighting_dict(s: Sighting) -> dict[str, Any]:
    e = s.event
    return {
        "pass": s.pass_number,
        "relation": s.relation,
        "via": s.via,
        "time": iso_stamp(e.time),
        "time_quality": e.time_quality.value,
        "server": e.server,
        "direction": e.direction.value,
        "peer_host": e.peer_host,
        "peer_ip": e.peer_ip,
        "sender": e.sender,
        "recipients": list(e.recipients),
        "message_id": e.message_id,
        "queue_id": e.queue_id,
        "mts_id": e.mts_id,
        "about_id": e.about_id,
        "next_id": e.next_id,
        "subject": e.subject,
        "size": e.size,
        "report_kind": e.report_kind.value,
        "status": e.status,
        "dsn": e.dsn,
        "source": e.source,
        "path": e.location.path,
        "line": e.location.line,
        "text": e.text,
    }


def hop_dict(row: HopRow) -> dict[str, Any]:
    h = row.hop
    return {
        "hop": row.number,
        "from_host": h.from_host,
        "from_helo": h.from_helo,
        "from_ip": h.from_ip,
        "by": h.by_host,
        "with": h.with_proto,
        "id": h.id,
        "for": h.for_addr,
        "via": h.via,
        "date": iso_stamp(h.date),
        "date_text": h.date_text,
        "delay_seconds": row.delay_seconds,
        "share": row.share,
        "clock_skew": row.skew,
        "in_cycle": row.in_cycle,
        "software": row.software,
        "defects": list(h.defects),
        "raw": h.raw,
    }


def cycle_dict(chain: ChainAnalysis | None) -> dict[str, Any] | None:
    if chain is None or chain.cycle is None:
        return None
    c = chain.cycle
    return {
        "ring": list(c.hosts),
        "count": c.passes,
        "one_way": not c.closed,
        "rows": [chain.rows[i].number for i in c.rows],
        "repeat_rows": [chain.rows[i].number for i in c.repeat_rows],
        "edges": [{"from": a, "by": b, "count": n} for a, b, n in chain.edges],
    }


def explanation_dict(expl: Explanation) -> dict[str, Any]:
    """The whole explanation as a JSON-ready dict (version 2 of the explain document)."""
    chain = expl.chain
    return {
        "version": EXPLAIN_SCHEMA_VERSION,
        "query": expl.query,
        "matches": [
            {"kind": m.kind, "server": m.server, "path": m.location.path, "line": m.location.line} for m in expl.matches
        ],
        "sightings": [sighting_dict(s) for s in expl.sightings],
        "received": [hop_dict(r) for r in chain.rows] if chain else [],
        "received_source": str(expl.chain_location) if expl.chain_location else None,
        "total_seconds": chain.total_seconds if chain else None,
        "cycle": cycle_dict(chain),
        "returned_originals": [
            {"received": [hop_dict(r) for r in c.rows], "total_seconds": c.total_seconds, "cycle": cycle_dict(c)}
            for c in expl.embedded
        ],
        "headroom": [h._asdict() for h in expl.headroom],
        "headroom_note": Q178436_NOTE,
        "loops": [
            {
                "rule_id": lv.finding.rule_id,
                "ring": list(lv.ring),
                "passes": lv.passes,
                "period_seconds": lv.period_seconds,
                "first_seen": iso_stamp(lv.first_seen),
                "first_pass": str(lv.first_pass) if lv.first_pass else None,
                "pass_sightings": list(lv.pass_sightings),
            }
            for lv in expl.loops
        ],
        "findings": [finding_dict(f) for f in expl.findings],
        "notes": list(expl.notes),
        "index": expl.used_index,
    }


class ExplainJsonReporter(Reporter["Explanation"]):
    """`--format json` for explain: one JSON document on stdout."""

    name: ClassVar[str] = "json"
    description: ClassVar[str] = "versioned JSON document for scripts"

    def report(self, expl: Explanation, out: TextIO) -> None:
        out.write(dumps(explanation_dict(expl)) + "\n")
