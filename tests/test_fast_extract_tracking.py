"""The IMS tracking-log extractor against the full parser: ordinary records summed up, every kept event the same.

Written from Q173280/Q173364's record layout (ims-reference.md §3) with the verdicts stated before the run: a
Q178436 receipt loop (1017 SMTP Report Generated, then 1010/1011 transfers carrying the report's MTS-ID in field
12) among ordinary traffic. Only the report records, a report without recipients, and a record whose server only
the folder names may be built as Events; the ordinary records go into EventTally records, and everything the
later stages read is the same as with the full parser (`test_fast_extract.compare`).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imsdiag.models import Event, EventTally
from imsdiag.parsers.base import ParseContext
from imsdiag.parsers.ims_tracking import ImsTrackingParser
from imsdiag.settings import ScanSettings

from .conftest import SAMPLES
from .test_fast_extract import compare

UTC = timezone.utc
GATEWAY = "/o=Company/ou=Site1/cn=Configuration/cn=Connections/cn=Internet Mail Service (IMC1)"
MTA = "/o=Company/ou=Site1/cn=Configuration/cn=Servers/cn=IMC1/cn=Microsoft MTA"


def row(*fields: str) -> str:
    return "\t".join(fields) + "\n"


def mts(n: int) -> str:
    return f"c=US;a= ;p=Company;l=IMC1-9903151416Z-{n}"


def ordinary(n: int, event: str, when: str, partner: str, sender: str, rcpt: str) -> str:
    remote = f"<m{n}@imc1.company.com>[Q{n:07d}]"
    return row(mts(n), event, when, GATEWAY, partner, remote, sender, "0", "642", "0", "1", "", "1") + f"\t{rcpt}\n"


def receipt_pass(n: int, event: str, when: str) -> str:
    """A transfer of the delivery receipt: null sender, the report's MTS-ID in field 12 (Q178436's loop)."""
    remote = f"<dr{n}@imc1.company.com>[R{n:07d}]"
    fields = (mts(n), event, when, GATEWAY, "relay.company.com", remote, "", "0", "900", "0", "1", mts(100), "1")
    return row(*fields) + "\tuser2@company.com\t0\n"


LOG = (
    ordinary(1, "1010", "1999.3.15 14:12:40", "lawfirm.org", "user1@company.com", "support@lawfirm.org")
    + ordinary(2, "1011", "1999.3.15 14:12:41", "relay.company.com", "user1@company.com", "support@lawfirm.org")
    + row(mts(100), "1017", "1999.3.15 14:12:41", MTA, "", "<dr0@imc1.company.com>", "", "0", "900", "0", "0", mts(99))
    + "\tuser2@company.com\t0\n"
    + receipt_pass(101, "1010", "1999.3.15 14:12:42")
    + receipt_pass(102, "1011", "1999.3.15 14:12:43")
    # A report event that names no recipient: no candidate, but still a report (built whole, to be safe).
    + row(mts(103), "1007", "1999.3.15 14:12:44", MTA, "", "", "", "0", "0", "0", "0", "", "0")
    # No DN names the server: the folder does (`path`), which the tallies' events cannot say.
    + ordinary(
        4, "1012", "1999.3.15 14:12:45", "mail.partner-a.com", "j.doe@partner-a.com", "jsmith@company.com"
    ).replace(GATEWAY, "IMS")
    + ordinary(5, "1013", "1999.3.15 14:12:46", "10.1.2.3", "j.doe@partner-a.com", "jsmith@company.com")
)


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    path = tmp_path / "imc1" / "Tracking.log" / "19990315.log"
    path.parent.mkdir(parents=True)
    path.write_text(LOG)
    return path


def test_the_extractor_builds_only_the_events_detection_may_keep(log: Path) -> None:
    ctx = ParseContext(str(log), server_hint="imc1", server_hint_source="path")
    records = list(ImsTrackingParser().extract(io.BytesIO(log.read_bytes()), ctx))
    events = [r for r in records if isinstance(r, Event)]
    tallies = [r for r in records if isinstance(r, EventTally)]
    assert [e.event_code for e in events] == ["1017", "1010", "1011", "1007", "1012"]
    assert [e.sender for e in events] == ["", "", "", "", "j.doe@partner-a.com"]
    assert (events[-1].server, events[-1].server_source) == ("imc1", "path")
    # The three ordinary records with a DN, in two tallies: the two before the receipt, the one at the end.
    assert [t.events for t in tallies] == [2, 1]
    assert tallies[0].location.line == 4  # just before the receipt's record (line 5)
    peers = {(p.server, p.peer_host, p.peer_ip) for t in tallies for p in t.peers}
    assert peers == {
        ("imc1", "lawfirm.org", None),
        ("imc1", "relay.company.com", None),
        ("imc1", "10.1.2.3", "10.1.2.3"),
    }
    assert {a for t in tallies for g in t.addresses for a in g} == {
        "user1@company.com",
        "support@lawfirm.org",
        "j.doe@partner-a.com",
        "jsmith@company.com",
    }


def test_the_extractor_and_the_parser_tell_detection_the_same(log: Path) -> None:
    assert compare([log.parent.parent.parent]) == 1


def test_the_same_inside_a_time_window(log: Path) -> None:
    """Records outside --since/--until are counted, not learned from, both ways."""
    root = log.parent.parent.parent
    since, until = datetime(1999, 3, 15, 14, 12, 41, tzinfo=UTC), datetime(1999, 3, 15, 14, 12, 44, tzinfo=UTC)
    settings = ScanSettings(paths=(str(root),), since=since, until=until)
    assert compare([root], settings) == 1


def test_the_same_on_the_shipped_tracking_logs() -> None:
    logs = sorted(SAMPLES.glob("*/*/Exchsrvr/Tracking.log"))
    assert len(logs) >= 4
    assert compare(logs) >= 4
