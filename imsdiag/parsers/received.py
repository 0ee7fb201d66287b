"""A single-pass, linear-time lexical parser for `Received:` header values, and IMS build recognition."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateparser

from ..models import Hop, Location

# Token kinds produced by the scanner.
WORD = "word"
COMMENT = "comment"
LITERAL = "literal"
ANGLE = "angle"
QUOTED = "quoted"
SEMI = "semi"

KEYWORDS = frozenset({"from", "by", "with", "id", "for", "via"})

MAX_DATE_TEXT = 200
"""Longer date text is not a date: it is reported as `bad-date` instead of feeding dateutil."""

_FOLD = re.compile(r"\r\n|\r|\n")
_SPECIALS = frozenset('()[]<>";')
_WEEKDAY = re.compile(r"(?i)(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6},?")
_MONTH = re.compile(r"(?i)(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?,?")
_DAY = re.compile(r"\d{1,2}")
_YEAR = re.compile(r"\d{2}|\d{4},?")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:T[\d:.]{1,20}Z?)?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"(?i)(?:ipv6:)?[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\d{1,3}(?:\.\d{1,3}){3})?")
# `helo=x` (Postfix, Exim) and qmail's `(HELO x)` / `(EHLO x)`.
_HELO_KV = re.compile(r"(?i)\b(?:helo=|[eh]elo\s{1,8})([^\s\[\]()]{1,255})")
_BRACKET_IP = re.compile(r"\[((?:IPv6:)?[0-9A-Fa-f:.]{2,64})\]", re.IGNORECASE)
_NUM_ZONE = re.compile(r"(?<![\w:.])([+-])(\d{2}):?(\d{2})(?!\d)")
_NAMED_ZONE = re.compile(r"\b(UT|UTC|GMT|Z|EST|EDT|CST|CDT|MST|MDT|PST|PDT)\b")
_FRACTION = re.compile(r"(\d{1,2}:\d{2}:\d{2})\.(\d{1,6})\d{0,30}")
_NAMED_OFFSETS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip

# Every IMS/IMC form from ims-reference §5: "Microsoft Exchange Internet Mail Service 5.5.2232.0",
# "Internet Mail Service (5.5.2653.19)", "Internet Mail Service Version 5.5.1960.3",
# "Microsoft Exchange (IMC 4.0.838.14)", "Internet Mail Connector Version 4.0.838.14".
_BUILD = r"(\d{1,2}\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?)"
_IMS_FORM = re.compile(r"(?i)Internet Mail (Service|Connector)[ \t]{0,5}(?:Version[ \t]{0,5})?\(?[ \t]{0,5}" + _BUILD)
_IMC_FORM = re.compile(r"(?i)\(IMC[ \t]{1,5}" + _BUILD + r"\)")
IMS_NAME = "Microsoft Exchange Internet Mail Service"
IMC_NAME = "Microsoft Exchange Internet Mail Connector"


@dataclass(frozen=True)
class Token:
    """One lexical unit of a Received value; `text` is the content without its delimiters."""

    kind: str
    text: str


def build_from_text(text: str | None) -> tuple[str | None, str | None]:
    """The (software, build) an IMS/IMC banner, X-Mailer or Received text names, else (None, None)."""
    if not text:
        return None, None
    sample = text[:4096]  # banners and headers are short; never scan hostile megabytes
    m = _IMS_FORM.search(sample)
    if m:
        name = IMC_NAME if m.group(1).lower() == "connector" else IMS_NAME
        return name, m.group(2)
    m = _IMC_FORM.search(sample)
    if m:
        return IMC_NAME, m.group(1)
    return None, None


def unfold(value: str) -> str:
    """Remove header folding (the line breaks, not the whitespace after them)."""
    return _FOLD.sub("", value)


def tokenize(text: str) -> tuple[list[Token], list[str]]:
    """Split `text` into tokens in one pass; returns the tokens and defect codes.

    Comments nest and honour backslash escapes; an unclosed comment, quote, literal or angle
    address swallows the rest of the text (so a hostile `((((` or `<<<<` stays linear).
    """
    tokens: list[Token] = []
    defects: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == ";":
            tokens.append(Token(SEMI, ";"))
            i += 1
        elif c == "(":
            end, closed = _scan_comment(text, i)
            tokens.append(Token(COMMENT, text[i + 1 : end - 1 if closed else end]))
            if not closed:
                defects.append("unclosed-comment")
            i = end
        elif c in '[<"':
            close = {"[": "]", "<": ">", '"': '"'}[c]
            kind = {"[": LITERAL, "<": ANGLE, '"': QUOTED}[c]
            end = _find_close(text, i + 1, close, escapes=c == '"')
            if end < 0:
                defects.append({"[": "unclosed-literal", "<": "unclosed-angle", '"': "unclosed-quote"}[c])
                tokens.append(Token(kind, text[i + 1 :]))
                i = n
            else:
                tokens.append(Token(kind, text[i + 1 : end]))
                i = end + 1
        elif c in ")]>":
            # A stray closer is noise (often a broken MTA); note it once and move on.
            if "stray-delimiter" not in defects:
                defects.append("stray-delimiter")
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIALS:
                j += 1
            tokens.append(Token(WORD, text[i:j]))
            i = j
    return tokens, defects


def _scan_comment(text: str, start: int) -> tuple[int, bool]:
    """End index (exclusive) of the comment opening at `start`, and whether it was closed."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1, True
        i += 1
    return n, False


def _find_close(text: str, start: int, close: str, *, escapes: bool) -> int:
    """Index of the closing delimiter from `start`, or -1; one forward pass."""
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if escapes and c == "\\":
            i += 2
            continue
        if c == close:
            return i
        i += 1
    return -1


def _is_date_start(tokens: list[Token], k: int) -> bool:
    """True when a date begins at top-level token `k` (weekday, `d Mon yyyy` or ISO date)."""
    t = tokens[k]
    if t.kind != WORD:
        return False
    if _WEEKDAY.fullmatch(t.text) and k + 1 < len(tokens) and tokens[k + 1].kind == WORD:
        return bool(_DAY.fullmatch(tokens[k + 1].text) or _MONTH.fullmatch(tokens[k + 1].text))
    if _ISO_DATE.fullmatch(t.text):
        return True
    if _DAY.fullmatch(t.text) and k + 2 < len(tokens):
        nxt, yr = tokens[k + 1], tokens[k + 2]
        return nxt.kind == WORD and yr.kind == WORD and bool(_MONTH.fullmatch(nxt.text) and _YEAR.fullmatch(yr.text))
    return False


def _split_date(tokens: list[Token]) -> tuple[list[Token], list[Token] | None, bool]:
    """(clause tokens, date tokens or None, whether a `;` separated them)."""
    last_semi = -1
    for k, t in enumerate(tokens):
        if t.kind == SEMI:
            last_semi = k
    if last_semi >= 0:
        return tokens[:last_semi], tokens[last_semi + 1 :], True
    for k in range(len(tokens)):
        if _is_date_start(tokens, k):
            return tokens[:k], tokens[k:], False
    return tokens, None, False


def parse_date(text: str) -> tuple[datetime | None, str | None]:
    """A UTC datetime from a Received/Date text, or (None, defect code).

    The zone is taken out by hand (dateutil maps `+0000` to the *local* zone when it matches);
    fractional seconds beyond microseconds and trailing junk such as SendGrid's `m=+…` are cut.
    """
    if not text.strip():
        return None, "no-date"
    if len(text) > MAX_DATE_TEXT:
        return None, "bad-date"
    offset: timedelta | None = None
    body = text
    zones = list(_NUM_ZONE.finditer(text))
    if zones:
        z = zones[-1]
        minutes = int(z.group(2)) * 60 + int(z.group(3))
        if minutes > 18 * 60:
            return None, "bad-date"
        offset = timedelta(minutes=-minutes if z.group(1) == "-" else minutes)
        body = text[: z.start()]
    else:
        named = _NAMED_ZONE.search(text)
        if named:
            offset = timedelta(hours=_NAMED_OFFSETS[named.group(1)])
            body = text[: named.start()]
    body = _FRACTION.sub(r"\1.\2", body).replace(",", " ").strip()
    if not body:
        return None, "bad-date"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateparser.parse(body, ignoretz=True, default=datetime(2000, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None, "bad-date"
    if offset is None:
        return None, "date-without-zone"
    try:
        return parsed.replace(tzinfo=timezone(offset)).astimezone(timezone.utc), None
    except (ValueError, OverflowError):
        return None, "bad-date"


def _comment_ip_helo(comment: str) -> tuple[str | None, str | None]:
    """(helo, ip) from the comment after `from host`: `(name [ip])`, `([ip] helo=x)`, `(10.0.0.1)`, ..."""
    helo: str | None = None
    ip: str | None = None
    text = comment.strip()[:512]
    m = _HELO_KV.search(text)
    if m:
        helo = m.group(1)
    b = _BRACKET_IP.search(text)
    if b:
        ip = _strip_v6(b.group(1))
    rest = _BRACKET_IP.sub(" ", _HELO_KV.sub(" ", text)).split()
    for word in rest:
        bare = word.strip(",")
        if ip is None and (_IPV4.fullmatch(bare) or (":" in bare and _IPV6.fullmatch(bare))):
            ip = _strip_v6(bare)
        elif helo is None and "=" not in bare and len(rest) <= 2 and bare:
            helo = bare
    return helo, ip


def _strip_v6(ip: str) -> str:
    return ip[5:] if ip.lower().startswith("ipv6:") else ip


def _by_software(comment: str) -> str | None:
    """Software named in the comment after `by host`: `Postfix`, `8.9.3/8.9.3`; not an IP."""
    text = comment.strip()[:256]
    if not text or _IPV4.fullmatch(text) or (":" in text and _IPV6.fullmatch(text)):
        return None
    if "=" in text:  # a TLS note such as `(version=TLSv1 cipher=...)`, not a program name
        return None
    # `(Postfix, from userid 1001)`: the part after the comma is about the submitter.
    return text.split(",", 1)[0].strip() or None


def _value(tok: Token) -> str:
    """Token text as a clause value: angle/literal content without delimiters or inner spaces."""
    if tok.kind in (ANGLE, LITERAL):
        return "".join(tok.text.split())
    return tok.text


def parse_received(value: str, location: Location | None = None) -> Hop:
    """Parse one Received value into a Hop; never raises, keeps the raw text and lists defects."""
    raw = unfold(value)
    try:
        return _parse(raw, location)
    except Exception:  # last line of defence: hostile text must never stop a scan
        return Hop(raw=raw, defects=("unparseable",), location=location)


def _parse(raw: str, location: Location | None) -> Hop:
    tokens, defects = tokenize(raw)
    clause_tokens, date_tokens, _ = _split_date(tokens)
    fields: dict[str, str] = {}
    seen: set[str] = set()
    helo: str | None = None
    ip: str | None = None
    software: str | None = None
    build: str | None = None
    with_words: list[str] = []
    from_comment_seen = False
    current: str | None = None
    has_value = False
    for tok in clause_tokens:
        if tok.kind == WORD and tok.text.lower() in KEYWORDS:
            key = tok.text.lower()
            if key in seen:
                if "duplicate-clause" not in defects:
                    defects.append("duplicate-clause")
                current = None  # keep the first value: a second `from` is IBM's envelope sender
            else:
                seen.add(key)
                current, has_value = key, False
            continue
        if current is None or tok.kind == SEMI:
            if tok.kind == SEMI:
                current = None
            continue
        if tok.kind == COMMENT:
            if current == "from" and has_value and not from_comment_seen:
                # The comment holds what the receiver saw (rDNS/HELO and the connecting IP),
                # which beats an address literal the sender put in `from [x]`.
                from_comment_seen = True
                c_helo, c_ip = _comment_ip_helo(tok.text)
                helo, ip = c_helo or helo, c_ip or ip
            elif current == "by" and has_value and software is None:
                software = _by_software(tok.text)
            elif current == "with":
                name, ver = build_from_text(" ".join(with_words) + " (" + tok.text + ")")
                if ver:
                    software, build = f"{name} {ver}", ver
                current = "with-done"  # words after the comment are not part of the protocol
            continue
        if current == "with":
            with_words.append(_value(tok))
            has_value = True
        elif not has_value and current in KEYWORDS:
            fields[current] = _value(tok)
            has_value = True
            if current == "from" and tok.kind == LITERAL:
                ip = _strip_v6(_value(tok))
    if with_words:
        fields["with"] = " ".join(with_words)
        if build is None:
            name, ver = build_from_text(fields["with"])
            if ver:
                software, build = f"{name} {ver}", ver
    date, date_text = None, None
    if date_tokens is None:
        defects.append("no-date")
    else:
        date_text = " ".join(t.text for t in date_tokens if t.kind not in (COMMENT, SEMI))
        date, date_defect = parse_date(date_text)
        if date_defect:
            defects.append(date_defect)
        date_text = date_text or None
    if "by" not in seen:
        defects.append("no-by")
    for_addr = fields.get("for")
    if for_addr is not None and (" " in for_addr.strip() or for_addr.lower() == "multiplerecipients"):
        for_addr = None
    return Hop(
        raw=raw,
        from_host=fields.get("from"),
        from_helo=helo,
        from_ip=ip,
        by_host=fields.get("by"),
        with_proto=fields.get("with"),
        id=fields.get("id"),
        for_addr=for_addr or None,
        via=fields.get("via"),
        date=date,
        date_text=date_text,
        software=software,
        defects=tuple(dict.fromkeys(defects)),
        location=location,
        build=build,
    )
