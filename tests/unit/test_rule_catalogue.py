"""The rule catalogue: stable ids, complete metadata, and docs/rules.md generated from the docstrings."""

from __future__ import annotations

import pytest

from imsdiag.models import Severity
from imsdiag.rules import RETIRED_IDS, RULE_ID, all_rules, get_rule
from tools.gen_rules_doc import DOC, render

# Ids are a public contract (baselines, SARIF, CI configs). This list only ever grows.
KNOWN_IDS = {
    "Q178436": "ims-receipt-loop",
    "LOOP001": "null-sender-ping-pong",
    "LOOP002": "received-chain-cycle",
    "LOOP003": "hop-limit-exceeded",
    "LOOP004": "loops-back-to-myself",
    "LOOP005": "forwarding-loop",
    "LOOP006": "auto-reply-volley",
    "LOOP007": "routing-loop-reported",
}


def test_ids_are_stable_unique_and_well_formed() -> None:
    rules = all_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert len({r.slug for r in rules}) == len(rules)
    for r in rules:
        assert RULE_ID.match(r.id), r.id
        assert r.id not in RETIRED_IDS
    # An id keeps its slug forever; a removed rule's id goes to RETIRED_IDS, never to a new rule.
    for rid, slug in KNOWN_IDS.items():
        assert rid in ids or rid in RETIRED_IDS
        if rid in ids:
            assert get_rule(rid).slug == slug


def test_every_rule_is_documented() -> None:
    for r in all_rules():
        doc = r.doc()
        for section in ("**What it means.**", "**Evidence.**", "**Fix.**", "**References.**", "**Example.**"):
            assert section in doc, (r.id, section)
        assert isinstance(r.default_severity, Severity)
        assert r.title and r.references


def test_lookup_by_slug_and_case() -> None:
    assert get_rule("q178436").id == "Q178436"
    assert get_rule("forwarding-loop").id == "LOOP005"
    with pytest.raises(KeyError, match="known rules"):
        get_rule("LOOP999")


def test_rules_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m tools.gen_rules_doc"
