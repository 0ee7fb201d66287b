"""The export readers, on the verbatim shapes of the Administrator's export (KB Q164628), ldifde and PowerShell."""

from __future__ import annotations

import base64
import codecs
from pathlib import Path

import pytest

from imsdiag.audit.exports import read_export
from imsdiag.audit.proxies import dn_server, dn_site, ms_site, parse_proxy, split_values, x400_site

HEADER = "Obj-Class,Display Name,Alias Name,Directory Name,Home-Server,E-Mail Addresses"


def write(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_q164628_default_order_and_changed_order_give_the_same_proxies(tmp_path: Path) -> None:
    # Q164628: by default MS, SMTP, X400, CCMAIL; after an edit e.g. CCMAIL, MS, SMTP, X.400.
    x400 = "X400:c=US;a= ;p=Company;o=West;s=Two;g=User;"
    ms, cc = "MS:COMPANY/WEST/USER2", "CCMAIL:Two, User at WEST"
    default = f"{ms}%SMTP:user2@company.com%smtp:user2@imc2.company.com%{x400}%{cc}"
    changed = f"{cc}%{ms}%smtp:user2@imc2.company.com%SMTP:user2@company.com%{x400}"
    text = (
        f'{HEADER}\r\nMailbox,User Two,user2,USER2,IMC2,"{default}"\r\n'
        f'Mailbox,User Two,user2b,USER2B,IMC2,"{changed}"\r\n'
    )
    boxes, info, issues = read_export(write(tmp_path, text))
    assert info.format == "dsexport" and issues == []
    a, b = boxes
    assert sorted(p.raw for p in a.proxies) == sorted(p.raw for p in b.proxies)
    assert a.primary is not None and a.primary.address == "user2@company.com"
    assert b.primary is not None and b.primary.address == "user2@company.com"
    assert [p.kind for p in b.proxies] == ["CCMAIL", "MS", "SMTP", "SMTP", "X400"]
    assert (a.site, a.site_source) == ("WEST", "MS address")  # the first site-bearing address of the row
    assert (b.location.line, a.home_server) == (3, "IMC2")


def test_attribute_name_header_and_home_mdb_dn(tmp_path: Path) -> None:
    text = (
        "Obj-Class,Common-Name,Display-Name,Mail-nickname,Home-MDB,Proxy-Addresses\n"
        "Mailbox,USER2,User Two,user2,/o=Company/ou=West/cn=Configuration/cn=Servers/cn=IMC2/cn=Microsoft Private MDB,"
        "SMTP:user2@company.com%smtp:user2@imc2.company.com\n"
    )
    (mb,), info, issues = read_export(write(tmp_path, text))
    assert (info.format, issues) == ("dsexport", [])
    assert (mb.mailbox, mb.display_name, mb.home_server, mb.site, mb.site_source) == (
        "user2",
        "User Two",
        "IMC2",
        "West",
        "home server DN",
    )


def test_another_multi_value_separator_by_option(tmp_path: Path) -> None:
    text = f"{HEADER}\nMailbox,Two,user2,USER2,IMC2,SMTP:user2@company.com|smtp:user2@imc2.company.com\n"
    path = write(tmp_path, text)
    (one,), _, issues = read_export(path)
    assert len(one.smtp) == 0 and [i.code for i in issues] == ["bad-proxy"]  # `|` is not the default `%`
    (mb,), _, issues = read_export(path, separator="|")
    assert [p.address for p in mb.smtp] == ["user2@company.com", "user2@imc2.company.com"] and issues == []


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings_bom_and_crlf(tmp_path: Path, encoding: str) -> None:
    text = f'{HEADER}\r\nMailbox,"Müller, Jörg",jm,JM,IMC1,SMTP:jm@company.com%smtp:jm@imc1.company.com\r\n'
    (mb,), info, issues = read_export(write(tmp_path, text, encoding=encoding))
    assert (info.format, issues, mb.display_name) == ("dsexport", [], "Müller, Jörg")


def test_tab_separated_columns(tmp_path: Path) -> None:
    row = "Mailbox\tTwo\tuser2\tUSER2\tIMC2\tSMTP:user2@company.com%smtp:u2@imc2.company.com\n"
    text = HEADER.replace(",", "\t") + "\n" + row
    (mb,), info, _ = read_export(write(tmp_path, text))
    assert info.format == "dsexport" and len(mb.smtp) == 2


def test_short_row_long_row_and_missing_columns_are_issues_with_lines(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "Mailbox,Broken\n"
        "Mailbox,Long,long,LONG,IMC1,SMTP:long@company.com,extra\n"
        "Mailbox,Cut,cut,CUT,IMC1,SMTP:cut@company.com\n"
    )
    boxes, _, issues = read_export(write(tmp_path, text))
    assert [b.mailbox for b in boxes] == ["long", "cut"]
    assert [(i.location.line, i.code) for i in issues] == [(2, "short-row"), (3, "long-row")]


def test_export_without_a_site_or_home_server_column(tmp_path: Path) -> None:
    text = "Display Name,E-mail Addresses\nOne,SMTP:one@company.com\n"
    (mb,), _, issues = read_export(write(tmp_path, text))
    assert (mb.mailbox, mb.home_server, mb.site, issues) == ("One", None, None, [])


def test_multi_line_quoted_field_keeps_the_record_start_line(tmp_path: Path) -> None:
    text = (
        f'{HEADER}\nMailbox,"Two\nLines",two,TWO,IMC1,SMTP:two@company.com\n'
        "Mailbox,Next,next,NEXT,IMC1,SMTP:n@company.com\n"
    )
    boxes, _, _ = read_export(write(tmp_path, text))
    assert [(b.mailbox, b.location.line) for b in boxes] == [("two", 2), ("next", 4)]


def test_custom_recipients_and_lists_are_skipped_and_counted(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\nRemote,P,p,P,,SMTP:p@partner.example\nDist-List,L,l,L,,SMTP:l@company.com\n"
        "Mailbox,M,m,M,IMC1,SMTP:m@company.com\n"
    )
    boxes, info, _ = read_export(write(tmp_path, text))
    assert [b.mailbox for b in boxes] == ["m"]
    assert info.skipped == (("Dist-List", 1), ("Remote", 1))


def test_ldif_base64_continuation_and_groups(tmp_path: Path) -> None:
    name = base64.b64encode("Zoë".encode()).decode()
    primary = base64.b64encode(b"SMTP:zoe@company.com").decode()
    text = (
        "version: 1\n\n"
        "dn: CN=Zoe,OU=West,DC=company,DC=com\n"
        "objectClass: top\nobjectClass: user\n"
        f"displayName:: {name}\n"
        "mailNickname: zoe\n"
        "msExchHomeServerName: /o=Company/ou=West/cn=Configuration/cn=Serv\n ers/cn=IMC2\n"
        f"proxyAddresses:: {primary}\n"
        "proxyAddresses: smtp:zoe@imc2.company.com\n\n"
        "dn: CN=Sales,OU=West,DC=company,DC=com\nobjectClass: top\nobjectClass: group\n"
        "proxyAddresses: SMTP:sales@company.com\n\n"
        "dn: CN=Partner,OU=West,DC=company,DC=com\nobjectClass: top\nobjectClass: person\n"
        "objectClass: organizationalPerson\nobjectClass: contact\nproxyAddresses: SMTP:p@partner.example\n"
    )
    (mb,), info, issues = read_export(write(tmp_path, text, "x.ldf"))
    assert (info.format, info.skipped, issues) == ("ldif", (("contact", 1), ("group", 1)), [])
    assert (mb.display_name, mb.home_server, mb.site, mb.location.line) == ("Zoë", "IMC2", "West", 3)
    assert mb.primary is not None and mb.primary.address == "zoe@company.com"


def test_ldif_bad_base64_and_bad_lines_are_issues(tmp_path: Path) -> None:
    text = "dn: CN=A,DC=x\nproxyAddresses:: !!!notbase64\nproxyAddresses: SMTP:a@company.com\nthis is not ldif\n"
    (mb,), _, issues = read_export(write(tmp_path, text, "x.ldf"))
    assert [(i.location.line, i.code) for i in issues] == [(2, "bad-base64"), (4, "bad-ldif-line")]
    assert [p.address for p in mb.smtp] == ["a@company.com"]


def test_ldif_url_value_is_an_issue_not_a_proxy(tmp_path: Path) -> None:
    # RFC 2849 `attr:< URL`: the value lives elsewhere; it must not be read as the text "< file:///...".
    text = "dn: CN=A,DC=x\nproxyAddresses:< file:///etc/x\nproxyAddresses: SMTP:a@company.com\n"
    (mb,), _, issues = read_export(write(tmp_path, text, "x.ldf"))
    assert [(i.location.line, i.code) for i in issues] == [(2, "ldif-url")]
    assert [p.address for p in mb.smtp] == ["a@company.com"] and len(mb.proxies) == 1


def test_powershell_csv_type_line_bom_and_semicolons_inside_x400(tmp_path: Path) -> None:
    text = (
        "#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n"
        '"Name","SamAccountName","proxyAddresses"\r\n'
        '"Two, User","user2","SMTP:user2@company.com;smtp:user2@imc2.company.com;'
        'X400:c=US;a= ;p=Company;o=West;s=Two;"\r\n'
    )
    (mb,), info, issues = read_export(write(tmp_path, text, encoding="utf-8-sig"))
    assert (info.format, issues, mb.mailbox, mb.display_name) == ("proxy-csv", [], "user2", "Two, User")
    assert [p.kind for p in mb.proxies] == ["SMTP", "SMTP", "X400"]
    assert (mb.site, mb.location.line) == ("West", 3)


def test_primary_from_a_mail_column_when_no_proxy_is_marked(tmp_path: Path) -> None:
    text = "Name,mail,proxyAddresses\nA,a@company.com,smtp:a@company.com;smtp:a@imc1.company.com\n"
    (mb,), _, _ = read_export(write(tmp_path, text))
    assert mb.primary is not None and mb.primary.address == "a@company.com" and len(mb.smtp) == 2


def test_unknown_and_binary_files_are_issues(tmp_path: Path) -> None:
    for name, data in (("a.csv", b"just,some,columns\n1,2,3\n"), ("b.bin", b"\x00\x01\x02" * 100)):
        (tmp_path / name).write_bytes(data)
        boxes, info, issues = read_export(str(tmp_path / name))
        assert boxes == [] and info.format is None and len(issues) == 1


def test_bom_utf16_ldif(tmp_path: Path) -> None:
    text = "dn: CN=A,DC=x\r\nproxyAddresses: SMTP:a@company.com\r\nproxyAddresses: smtp:a@imc1.company.com\r\n"
    path = tmp_path / "u.ldf"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (mb,), info, _ = read_export(str(path))
    assert info.format == "ldif" and len(mb.smtp) == 2


def test_proxy_and_dn_helpers() -> None:
    x400 = "X400:c=US;a= ;p=Company;o=West;s=Two;"
    assert split_values(f"{x400}%SMTP:a@b.com", "%")[0] == x400
    assert x400_site("c=US;a= ;p=Company;o=West;s=Two;g=User;") == "West"
    assert ms_site("COMPANY/WEST/USER2") == "WEST" and ms_site("no-slashes") is None
    assert dn_site("cn=IMC2,cn=Servers,cn=Configuration,ou=West,o=Company") == "West"
    assert dn_site("CN=Doe\\, Jane,OU=West,DC=company,DC=com") is None  # an AD OU is not an Exchange site
    assert dn_server("/o=Company/ou=West/cn=Configuration/cn=Servers/cn=IMC2") == "IMC2" and dn_server("imc2") == "IMC2"
    proxy, _ = parse_proxy("smtp:<user2@imc2.company.com>")
    assert proxy is not None and (proxy.primary, proxy.domain) == (False, "imc2.company.com")
    assert parse_proxy("SMTP:not an address")[0] is None and parse_proxy("nothing")[0] is None
