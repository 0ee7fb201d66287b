"""The policy: --select/--ignore, --severity and the baseline applied in one place, findings in one order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from imsdiag.errors import ConfigError
from imsdiag.models import Evidence, Location, Severity
from imsdiag.policy import Policy, in_order
from imsdiag.rules import all_rules, rule_infos
from imsdiag.settings import ScanSettings
from tests.factories import finding, scan_result

RING = finding("Q178436", passes=42, fingerprint="fp-ring", evidence=(Evidence(Location("imc1/L1.LOG", 3), "x"),))
BOUNCE = finding("LOOP003", severity=Severity.WARNING, passes=1, fingerprint="fp-bounce")
VOLLEY = finding("LOOP006", fingerprint="")


def settings(**kw: object) -> ScanSettings:
    return ScanSettings(paths=("logs",), **kw)  # type: ignore[arg-type]


def test_every_rule_is_shown_by_default() -> None:
    policy = Policy.from_settings(settings(), rule_infos())
    assert policy == Policy()
    shown = policy.apply([VOLLEY, BOUNCE, RING])
    assert shown.findings == (RING, BOUNCE, VOLLEY)  # worst first, then the busiest
    assert (shown.known, shown.filtered, shown.suppressed) == ((), 0, 0)


def test_select_and_ignore_take_ids_and_slugs_in_any_case() -> None:
    policy = Policy.from_settings(settings(select=("q178436", "hop-limit-exceeded"), ignore=("LOOP003",)), rule_infos())
    assert policy.hidden == {r.id for r in all_rules()} - {"Q178436"}
    shown = policy.apply([RING, BOUNCE, VOLLEY])
    assert shown.findings == (RING,)
    assert shown.filtered == 2


def test_severity_override_is_applied_before_the_order() -> None:
    policy = Policy.from_settings(settings(severity_overrides=(("ims-receipt-loop", Severity.INFO),)), rule_infos())
    assert policy.severities == (("Q178436", Severity.INFO),)
    shown = policy.apply([RING, BOUNCE])
    assert [(f.rule_id, f.severity) for f in shown.findings] == [
        ("LOOP003", Severity.WARNING),
        ("Q178436", Severity.INFO),
    ]


def test_baseline_sets_known_findings_aside_but_keeps_them() -> None:
    policy = Policy.from_settings(settings(baseline=frozenset({"fp-ring", ""})), rule_infos())
    shown = policy.apply([RING, BOUNCE, VOLLEY])
    assert shown.findings == (BOUNCE, VOLLEY)  # an empty fingerprint is never matched
    assert shown.known == (RING,) and shown.suppressed == 1
    assert set(shown.found) == {RING, BOUNCE, VOLLEY}
    # The baseline given to from_settings (a loaded file) replaces the settings' own.
    assert Policy.from_settings(settings(baseline=frozenset({"fp-ring"})), rule_infos(), ()).baseline == frozenset()


@pytest.mark.parametrize(
    "kw",
    [{"select": ("LOOP999",)}, {"ignore": ("nope",)}, {"severity_overrides": (("LOOP999", Severity.INFO),)}],
)
def test_unknown_rule_name_is_a_config_error_naming_the_known_ones(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"no such rule: .*; known rules: Q178436 \(ims-receipt-loop\), LOOP001"):
        Policy.from_settings(settings(**kw), rule_infos())


def test_a_result_is_always_in_the_policy_order() -> None:
    result = scan_result(VOLLEY, BOUNCE, replace(RING, severity=Severity.WARNING, passes=2))
    assert result.findings == in_order(result.findings)
    assert [f.rule_id for f in result.findings] == ["Q178436", "LOOP003", "LOOP006"]


def test_a_result_carries_the_rule_metadata_reporters_need() -> None:
    info = {r.id: r for r in scan_result().rules}["Q178436"]
    assert (info.slug, info.default_severity) == ("ims-receipt-loop", Severity.ERROR)
    assert info.summary and info.doc.startswith(info.summary.split(" (")[0])
