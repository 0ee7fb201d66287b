"""The real third-party corpus end to end: every file read without a crash, the loop examples found with
the right kind, and the ordinary bounces, list mail and long-but-healthy chains left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from imsdiag.engine import scan
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings

# (rule id, file the first evidence points at, address or domain in the title). Every loop example in the
# corpus, and nothing else: an ordinary bounce reported here is a false positive, and this test says so.
EXPECTED = [
    ("LOOP003", "sisimai/maildir_bsd/lhost-x2-07.eml"),  # Exchange Online 5.4.14 hop count exceeded
    ("LOOP003", "sisimai/maildir_bsd/lhost-x6-01.eml"),  # "Hop count exceeded - possible mail loop"
    ("LOOP005", "flufl_bounce/dsn_11.txt"),  # aliasing/forwarding loop broken (11 aliases deep)
    ("LOOP007", "flufl_bounce/simple_18.txt"),  # LSMTP "554 Message looping (received 6 times)"
    ("LOOP007", "sisimai/maildir_bsd/lhost-domino-03.eml"),  # Domino "routing loop"
    # The GitHub issue snippets: one finding per issue thread, whatever form the user pasted.
    ("LOOP004", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # mailcow #1138 (Postfix log)
    ("LOOP004", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # mailcow #182 (Postfix log)
    ("LOOP004", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # mailcow #246 (DSN fields)
    ("LOOP004", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # mailcow #614 (DSN line)
    ("LOOP003", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # Haraka #1150 (552 reply)
    ("LOOP007", "github_issue_loop_snippets/loop_log_lines_from_issues.txt"),  # Postal #1074 (550 reply)
]


@pytest.fixture(scope="module")
def corpus_result() -> ScanResult:
    from .conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return scan(ScanSettings(paths=(str(CORPUS),), jobs=1))


def _rel(path: str) -> str:
    return path.split("corpus/", 1)[1]


def test_every_file_is_read_without_a_crash(corpus_result: ScanResult) -> None:
    codes = dict(corpus_result.issue_counts)
    assert "internal-error" not in codes and "parser-error" not in codes
    assert corpus_result.files_read >= 1040
    # What is skipped is known and explained: the index files and a handful of header-less fragments.
    skipped = sorted(_rel(f.path) for f in corpus_result.files if f.format is None)
    assert "EMAIL_INDEX.tsv" in skipped and "PROVENANCE.md" in skipped
    assert len(skipped) <= 15, skipped


def test_loop_examples_are_found_and_nothing_else(corpus_result: ScanResult) -> None:
    got = sorted((f.rule_id, _rel(str(f.evidence[0].location.path))) for f in corpus_result.findings)
    assert got == sorted(EXPECTED)


def test_forwarding_loop_names_the_looping_address(corpus_result: ScanResult) -> None:
    fwd = [f for f in corpus_result.findings if f.rule_id == "LOOP005"]
    assert fwd[0].addresses == ("joem@example.com",)


def test_long_healthy_chains_are_not_loops(corpus_result: ScanResult, corpus: Path) -> None:
    # lhost-x5-01 has 25 Received lines, office365 bounces 12-18: long, but no hop repeats.
    flagged = {_rel(str(e.location.path)) for f in corpus_result.findings for e in f.evidence}
    for name in ("sisimai/maildir_bsd/lhost-x5-01.eml", "flanker/bounce/office365.eml", "flufl_bounce/dsn_04.txt"):
        assert (corpus / name).is_file()
        assert name not in flagged


def test_two_jobs_find_exactly_what_one_job_finds(corpus_result: ScanResult, corpus: Path) -> None:
    # The corpus mixes dated logs with year-less syslog whose year is first guessed and then corrected:
    # a re-read file must replace, not add to, what its first reading gave, also inside worker chunks.
    two = scan(ScanSettings(paths=(str(corpus),), jobs=2))
    assert sorted(f.fingerprint for f in two.findings) == sorted(f.fingerprint for f in corpus_result.findings)
    assert two.events == corpus_result.events
