"""Year-less syslog stamps take the year of the dated logs of their days: moved in memory, read once, and
explain through the index sees them where the scan put them."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imsdiag import engine, outcome
from imsdiag.explain import explain
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings

from .conftest import SAMPLES

SAMPLE = SAMPLES / "q178436-site-connector"
RELAY_LOG = "relay/maillog"
MESSAGE_ID = "47CE0B8704CBB1EB0296855D0288EA65@imc1.company.com"


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    """A fresh copy of the 1999 sample: every file's modification time is today, as after a copy or an unzip."""
    copy = tmp_path / "logs"
    shutil.copytree(SAMPLE, copy)
    return copy


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = outcome.parse_input

    def counting(f, settings, **kw):  # type: ignore[no-untyped-def]
        seen[f.display] += 1
        return real(f, settings, **kw)

    monkeypatch.setattr(outcome, "parse_input", counting)
    return seen


def test_year_less_relay_log_is_dated_1999_and_read_once(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _count_parses(monkeypatch)
    result = engine.scan(ScanSettings(paths=(str(bundle),), use_index=False))
    (finding,) = result.findings
    assert finding.first_seen is not None and finding.first_seen.year == 1999
    relay = [e for e in finding.evidence if e.location.path.endswith(RELAY_LOG)]
    assert relay, "the relay's log backs the finding"
    assert all(n == 1 for n in parses.values()), {p: n for p, n in parses.items() if n != 1}
    # Display paths are relative when the logs are near the working folder: compare by the file's own path.
    assert [(Path(p).parts[-2:], y) for p, y in result.context.file_years] == [(("relay", "maillog"), 1999)]
    shifts = {n for p, n in result.context.year_shifts if p.endswith(RELAY_LOG)}
    assert len(shifts) == 1 and shifts.pop() < 0  # moved back from this year


def test_since_until_read_the_year_less_log_again_with_its_year(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # --since/--until filter while reading, so a log read with the wrong year is read again, not moved.
    parses = _count_parses(monkeypatch)
    settings = ScanSettings(paths=(str(bundle),), use_index=False, since=datetime(1999, 3, 15, tzinfo=timezone.utc))
    result = engine.scan(settings)
    assert [f.rule_id for f in result.findings] == ["Q178436"]
    (relay_reads,) = [n for p, n in parses.items() if p.endswith(RELAY_LOG)]
    assert relay_reads == 2
    assert not result.context.year_shifts


def test_explain_through_the_index_sees_the_moved_year(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ScanSettings(paths=(str(bundle),), use_index=True, index_path=str(tmp_path / "i.sqlite"))
    monkeypatch.chdir(bundle)  # the scan shows paths relative to here ...
    engine.scan(settings)
    monkeypatch.chdir(tmp_path.parent)  # ... and explain runs from another folder, with the index only
    for given in ((), (str(bundle),)):  # the index alone, and the logs given from another folder
        expl = explain(MESSAGE_ID, ScanSettings(paths=given, use_index=True, index_path=settings.index_path))
        assert expl.used_index
        relay = [s.event for s in expl.sightings if s.event.location.path.endswith(RELAY_LOG)]
        assert relay and all(e.time is not None and e.time.year == 1999 for e in relay), given


def test_explain_without_the_index_sees_the_moved_year(bundle: Path) -> None:
    settings = ScanSettings(paths=(str(bundle),), use_index=False)
    searched = explain(MESSAGE_ID, settings)
    whole = explain(MESSAGE_ID, replace(settings, full_parse=True))  # every record during the scan's read
    relay = [s.event for s in searched.sightings if s.event.location.path.endswith(RELAY_LOG)]
    assert relay and all(e.time is not None and e.time.year == 1999 for e in relay)
    story = [(s.event.location.path, s.event.location.line, s.event.time, s.relation) for s in searched.sightings]
    assert story == [(s.event.location.path, s.event.location.line, s.event.time, s.relation) for s in whole.sightings]


PLUS_TWO = timezone(timedelta(hours=2))


def _set_year(path: Path, year: int) -> None:
    """Give a file a modification time in `year` (mid-June): its year-less stamps are first read in that year."""
    stamp = datetime(year, 6, 15, 12, tzinfo=timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))


def _times(result: ScanResult) -> list[tuple[object, ...]]:
    """Each finding's times: its span, and every pass of every hop."""
    return [(f.fingerprint, f.first_seen, f.last_seen, f.passes, f.edges) for f in result.findings]


def test_a_log_first_read_in_a_leap_year_is_moved_not_read_again(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Read first as 2024 (a leap year), dated 1999 (not one) from the IMS logs: no stamp of 28 February to
    # 1 March, so moving gives what reading with 1999 gives, and the log is read once.
    _set_year(bundle / RELAY_LOG, 2024)
    parses = _count_parses(monkeypatch)
    moved = engine.scan(ScanSettings(paths=(str(bundle),), use_index=False))
    assert all(n == 1 for n in parses.values()), {p: n for p, n in parses.items() if n != 1}
    assert {n for p, n in moved.context.year_shifts if p.endswith(RELAY_LOG)} == {1999 - 2024}
    direct = engine.scan(ScanSettings(paths=(str(bundle),), use_index=False, year_hint=1999))
    assert _times(moved) == _times(direct) and moved.findings


def test_a_log_with_stamps_near_29_february_is_read_again_across_leapness(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A local stamp on 1 March just after midnight is 29 February in UTC in a leap year, 28 February in
    # another: such a log is read again with its year, not moved.
    relay = bundle / RELAY_LOG
    early = "Mar  1 00:30:00 relay sendmail[100]: k1A0U0a00001: from=<a@b.example>, size=1, nrcpts=1\n"
    relay.write_text(early + relay.read_text(encoding="utf-8"), encoding="utf-8")
    _set_year(relay, 2024)
    parses = _count_parses(monkeypatch)
    result = engine.scan(ScanSettings(paths=(str(bundle),), use_index=False, tz=PLUS_TWO))
    (relay_reads,) = [n for p, n in parses.items() if p.endswith(RELAY_LOG)]
    assert relay_reads == 2
    assert not [n for p, n in result.context.year_shifts if p.endswith(RELAY_LOG)]
    # Same leapness (2026 -> 1999): moved, even with the stamp.
    _set_year(relay, 2026)
    parses.clear()
    engine.scan(ScanSettings(paths=(str(bundle),), use_index=False, tz=PLUS_TWO))
    assert [n for p, n in parses.items() if p.endswith(RELAY_LOG)] == [1]
