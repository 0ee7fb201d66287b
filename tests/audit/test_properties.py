"""Property tests: the CSV and LDIF readers survive any bytes and give back what a well-formed export holds."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imsdiag.audit.exports import read_export

LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12).filter(
    lambda s: s[0].isalnum()
)
DOMAIN = st.sampled_from(["company.com", "imc2.company.com", "company.net", "sales.company.com"])
# Display names with the characters that break naive CSV: commas, quotes, %, ;, newlines, non-ASCII.
NAME = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    rows=st.lists(st.tuples(NAME, LOCAL, st.lists(st.tuples(LOCAL, DOMAIN), min_size=1, max_size=4)), max_size=8),
    sep=st.sampled_from(["%", "|", "#"]),
    delimiter=st.sampled_from([",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_csv_round_trip(
    tmp_path: Path, rows: list[tuple[str, str, list[tuple[str, str]]]], sep: str, delimiter: str, encoding: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Obj-Class", "Display Name", "Alias Name", "Home-Server", "E-mail Addresses"])
    expected = []
    for name, alias, addresses in rows:
        proxies = [f"{'SMTP' if i == 0 else 'smtp'}:{local}@{domain}" for i, (local, domain) in enumerate(addresses)]
        writer.writerow(["Mailbox", name, alias, "IMC2", sep.join(proxies)])
        expected.append((alias, len({p.lower() for p in proxies})))
    path = tmp_path / "export.csv"
    text = buffer.getvalue()
    if encoding == "cp1252":
        text = text.encode("cp1252", errors="replace").decode("cp1252")  # what an ANSI export can hold
    path.write_bytes(text.encode(encoding))
    boxes, info, issues = read_export(str(path), separator=None if sep == "%" else sep)
    assert info.format == "dsexport" and issues == []
    assert [(b.mailbox, len(b.smtp)) for b in boxes] == expected
    assert all(b.primary is not None for b in boxes)


@SETTINGS
@given(data=st.binary(max_size=2000), head=st.sampled_from([b"", b"dn: x\n", b"Display Name,E-mail Addresses\n"]))
def test_any_bytes_never_crash(tmp_path: Path, data: bytes, head: bytes) -> None:
    path = tmp_path / "junk"
    path.write_bytes(head + data)
    boxes, _, issues = read_export(str(path))
    for issue in issues:
        assert issue.location.line >= 0 and issue.code
    for b in boxes:
        assert b.location.line >= 1


@SETTINGS
@given(values=st.lists(st.tuples(LOCAL, DOMAIN, st.booleans()), min_size=1, max_size=5), fold=st.integers(2, 30))
def test_ldif_base64_and_folding_round_trip(tmp_path: Path, values: list[tuple[str, str, bool]], fold: int) -> None:
    lines = ["version: 1", "", "dn: CN=A,DC=company,DC=com", "objectClass: user"]
    for i, (local, domain, b64) in enumerate(values):
        value = f"{'SMTP' if i == 0 else 'smtp'}:{local}@{domain}"
        line = f"proxyAddresses:: {base64.b64encode(value.encode()).decode()}" if b64 else f"proxyAddresses: {value}"
        # RFC 2849 folding: a long line continues on lines that start with one space.
        lines.extend([line[:fold]] + [" " + line[j : j + fold] for j in range(fold, len(line), fold)])
    path = tmp_path / "x.ldf"
    path.write_text("\n".join(lines) + "\n")
    (mb,), _, issues = read_export(str(path))
    assert issues == []
    assert len(mb.smtp) == len({f"{loc}@{dom}".lower() for loc, dom, _ in values})  # duplicates are read once
    assert mb.primary is not None and mb.primary.address == f"{values[0][0]}@{values[0][1]}"


@SETTINGS
@given(kinds=st.lists(st.sampled_from(["good", "short", "blank"]), max_size=12), crlf=st.booleans())
def test_bad_rows_are_reported_at_their_line(tmp_path: Path, kinds: list[str], crlf: bool) -> None:
    lines = ["Obj-Class,Display Name,Alias Name,Home-Server,E-mail Addresses"]
    good_at, short_at = [], []
    for n, kind in enumerate(kinds):
        if kind == "good":
            lines.append(f"Mailbox,U{n},u{n},IMC1,SMTP:u{n}@company.com%smtp:u{n}@imc1.company.com")
            good_at.append(len(lines))
        elif kind == "short":
            lines.append("Mailbox,Cut short")
            short_at.append(len(lines))
        else:
            lines.append("")
    path = tmp_path / "export.csv"
    path.write_text(("\r\n" if crlf else "\n").join(lines) + "\n", newline="")
    boxes, _, issues = read_export(str(path))
    assert [(i.location.line, i.code) for i in issues] == [(n, "short-row") for n in short_at]
    assert [b.location.line for b in boxes] == good_at
