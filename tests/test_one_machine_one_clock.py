"""The founding case from the evidence real sites have: one name per machine, one clock (issue 10)."""

from __future__ import annotations

import shutil
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from imsdiag.engine import scan
from imsdiag.models import Severity
from imsdiag.settings import ScanSettings

from .conftest import SAMPLES

Q = SAMPLES / "q178436-site-connector"


def run(*paths: Path, **kw: object) -> object:
    return scan(ScanSettings(paths=tuple(str(p) for p in paths), use_index=False, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def without_archives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped scenario as most sites had it: Message Archival is off by default, so no In/Out\\Archive."""
    root = tmp_path_factory.mktemp("noarch") / "q"
    shutil.copytree(Q, root)
    for folder in root.rglob("Archive"):
        shutil.rmtree(folder)
    assert not list(root.rglob("Archive"))
    return root


def test_sample_without_archives_is_still_q178436(without_archives: Path) -> None:
    r = run(without_archives)
    (f,) = r.findings  # type: ignore[attr-defined]
    assert (f.rule_id, f.severity) == ("Q178436", Severity.ERROR)
    assert f.addresses == ("user2@company.com",)
    assert f.hosts == ("imc1.company.com", "relay.company.com")
    assert f.passes == 42
    assert ("imc1.company.com", "5.5.1960.3") in f.builds
    assert "needs 5.5.2186.0" in f.build_verdict


def test_each_machine_is_one_row_of_the_servers_table() -> None:
    r = run(Q)
    assert [s.name for s in r.servers] == ["imc1.company.com", "imc2.company.com", "relay.company.com"]  # type: ignore[attr-defined]
    # and every file row names the machine, not the folder or the syslog host
    assert {f.server for f in r.files if f.format} == {"imc1.company.com", "imc2.company.com", "relay.company.com"}  # type: ignore[attr-defined]
    joins = {(a, b) for a, b, _ in r.host_joins}  # type: ignore[attr-defined]
    assert ("relay", "relay.company.com") in joins and ("120.120.120.5", "relay.company.com") in joins


def test_relay_log_alone_names_both_hosts_and_q178436() -> None:
    r = run(Q / "relay" / "maillog")
    (f,) = r.findings  # type: ignore[attr-defined]
    assert f.rule_id == "Q178436" and f.severity is Severity.ERROR
    assert f.addresses == ("user2@company.com",)
    assert set(f.hosts) == {"imc1.company.com", "relay"}
    assert f.passes == 42
    assert f.confidence == "medium"  # the IMS is recognised only from its Message-IDs
    assert any("looks like an Exchange IMS" in reason for reason in f.confidence_reasons)


def test_server_tz_applies_under_any_of_the_hosts_names() -> None:
    inferred = run(Q).findings[0]  # type: ignore[attr-defined]
    assert inferred.first_seen.hour == 14  # relay and imc1 inferred at UTC-05:00
    # The relay's syslog calls itself `relay`; the user names it by its FQDN and (wrongly, on purpose) UTC.
    told = run(Q, server_tz=(("relay.company.com", timezone.utc),))
    notes = " ".join(told.notes)  # type: ignore[attr-defined]
    assert "local times of relay.company.com" not in notes  # the user's zone wins over inference
    first = told.findings[0].first_seen  # type: ignore[attr-defined]
    assert first.hour == 9 and first.minute == 12  # the relay's 09:12 local stamp, read as UTC as told


def test_two_ims_logs_hours_apart_are_put_on_one_clock() -> None:
    r = run(SAMPLES / "q178436-two-ims")
    (f,) = r.findings  # type: ignore[attr-defined]
    assert f.last_seen - f.first_seen < timedelta(minutes=90)
    note = next(n for n in r.notes if "imc2.company.com" in n)  # type: ignore[attr-defined]
    assert "clock of imc1.company.com" in note and "-03:00" in note


def test_host_alias_option_joins_what_no_log_ties() -> None:
    r = run(SAMPLES / "q178436-relay-only", host_aliases=(("gate", "gate.example.com"),))
    (f,) = r.findings  # type: ignore[attr-defined]
    assert set(f.hosts) == {"exch1.example.com", "gate.example.com"}
