"""Tests for the parser registry: format names, declared capabilities, one syslog parser, no import cycles."""

from __future__ import annotations

import ast
import io
from pathlib import Path

from imsdiag.models import Event
from imsdiag.parsers import PARSERS, ParseContext, by_name, detect, local_time_formats, yearless_formats
from imsdiag.parsers.syslog import SyslogParser

PARSERS_DIR = Path(__file__).resolve().parents[2] / "imsdiag" / "parsers"

MIXED = (
    b"Mar  1 12:00:00 relay sm-mta[1]: p75Ej6eu010817: from=<a@x.org>, size=1, nrcpts=1, msgid=<m@x>,"
    b" relay=h [1.2.3.4]\n"
    b"Mar  1 12:00:01 relay postfix/smtp[2]: ABCDEF123: to=<b@y.org>, relay=h[5.6.7.8]:25, dsn=2.0.0,"
    b" status=sent (250 ok)\n"
)


def test_format_names_are_unchanged() -> None:
    assert [p.name for p in PARSERS] == [
        "ims-protocol",
        "ims-tracking",
        "ims-archive",
        "mbox",
        "message",
        "postfix",
        "sendmail",
        "exim",
        "exchange-tracking",
    ]


def test_capability_sets_match_what_the_engine_hard_coded() -> None:
    assert yearless_formats() == {"postfix", "sendmail"}
    assert local_time_formats() == {"ims-protocol", "postfix", "sendmail", "exim"}


def test_one_syslog_parser_class_reads_every_mta_and_names_the_file_after_its_own() -> None:
    postfix, sendmail = by_name("postfix"), by_name("sendmail")
    assert type(postfix) is type(sendmail) is SyslogParser
    for parser in (postfix, sendmail):
        events = [r for r in parser.parse(io.BytesIO(MIXED), ParseContext(path="maillog")) if isinstance(r, Event)]
        assert [e.source for e in events] == ["sendmail", "postfix"]
    # Equal shares: the registry order decides, Postfix first.
    assert postfix.sniff(MIXED, "maillog") == sendmail.sniff(MIXED, "maillog")
    assert detect(MIXED, "maillog")[0] is postfix


def _imports(path: Path) -> set[str]:
    """Sibling modules that `path` imports (relative imports, at any depth of the file)."""
    siblings = {p.stem for p in PARSERS_DIR.glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
    return (found & siblings) - {path.stem}


def test_parser_modules_import_no_cycle() -> None:
    graph = {p.stem: _imports(p) for p in PARSERS_DIR.glob("*.py")}
    done: set[str] = set()

    def visit(mod: str, path: tuple[str, ...]) -> None:
        assert mod not in path, f"import cycle: {' -> '.join((*path, mod))}"
        if mod in done:
            return
        for dep in sorted(graph[mod]):
            visit(dep, (*path, mod))
        done.add(mod)

    for mod in sorted(graph):
        visit(mod, ())
