"""A single-pass, linear-time lexical parser for `Received:` header values, and IMS build recognition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..models import Hop, Location
from .mail_date import parse_date

# Token kinds produced by the scanner.
WORD = "word"
COMMENT = "comment"
LITERAL = "literal"
ANGLE = "angle"
QUOTED = "quoted"
SEMI = "semi"

KEYWORDS = frozenset({"from", "by", "with", "id", "for", "via"})

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
    clauses = _Clauses(defects)
    clauses.read(clause_tokens)
    date, date_text = _read_date(date_tokens, defects)
    if "by" not in clauses.seen:
        defects.append("no-by")
    fields = clauses.fields
    return Hop(
        raw=raw,
        from_host=fields.get("from"),
        from_helo=clauses.helo,
        from_ip=clauses.ip,
        by_host=fields.get("by"),
        with_proto=fields.get("with"),
        id=fields.get("id"),
        for_addr=_for_address(fields.get("for")),
        via=fields.get("via"),
        date=date,
        date_text=date_text,
        software=clauses.software,
        defects=tuple(dict.fromkeys(defects)),
        location=location,
        build=clauses.build,
    )


class _Clauses:
    """Reads the clause tokens (`from x (comment) by y with z id w for v via u`) in one pass.

    A keyword opens its clause; the clause takes the first value after it, and one comment right
    after that value says more (the receiver's view of the client, the receiving software).
    """

    def __init__(self, defects: list[str]) -> None:
        self.defects = defects
        self.fields: dict[str, str] = {}
        self.seen: set[str] = set()
        self.helo: str | None = None
        self.ip: str | None = None
        self.software: str | None = None
        self.build: str | None = None
        self.with_words: list[str] = []
        self.from_comment_seen = False
        self.current: str | None = None
        """The open clause; None after a `;` or a repeated keyword, `with-done` after the `with` comment."""
        self.has_value = False

    def read(self, tokens: list[Token]) -> None:
        for tok in tokens:
            if tok.kind == WORD and tok.text.lower() in KEYWORDS:
                self._keyword(tok.text.lower())
            elif tok.kind == SEMI:
                self.current = None
            elif self.current is None:
                continue
            elif tok.kind == COMMENT:
                self._comment(tok.text)
            else:
                self._value(tok)
        if self.with_words:
            self.fields["with"] = " ".join(self.with_words)
            if self.build is None:
                self._ims_build(self.fields["with"])

    def _keyword(self, key: str) -> None:
        if key in self.seen:
            if "duplicate-clause" not in self.defects:
                self.defects.append("duplicate-clause")
            self.current = None  # keep the first value: a second `from` is IBM's envelope sender
        else:
            self.seen.add(key)
            self.current, self.has_value = key, False

    def _comment(self, text: str) -> None:
        if self.current == "from" and self.has_value and not self.from_comment_seen:
            # The comment holds what the receiver saw (rDNS/HELO and the connecting IP),
            # which beats an address literal the sender put in `from [x]`.
            self.from_comment_seen = True
            c_helo, c_ip = _comment_ip_helo(text)
            self.helo, self.ip = c_helo or self.helo, c_ip or self.ip
        elif self.current == "by" and self.has_value and self.software is None:
            self.software = _by_software(text)
        elif self.current == "with":
            self._ims_build(" ".join(self.with_words) + " (" + text + ")")
            self.current = "with-done"  # words after the comment are not part of the protocol

    def _value(self, tok: Token) -> None:
        if self.current == "with":
            self.with_words.append(_value(tok))
            self.has_value = True
        elif not self.has_value and self.current in KEYWORDS:
            self.fields[self.current] = _value(tok)
            self.has_value = True
            if self.current == "from" and tok.kind == LITERAL:
                self.ip = _strip_v6(_value(tok))

    def _ims_build(self, text: str) -> None:
        """`with SMTP (Microsoft Exchange Internet Mail Service 5.5.2653.13)` names the IMS and its build."""
        name, ver = build_from_text(text)
        if ver:
            self.software, self.build = f"{name} {ver}", ver


def _read_date(date_tokens: list[Token] | None, defects: list[str]) -> tuple[datetime | None, str | None]:
    """The hop's time and the text it was read from; a missing or bad date adds its defect."""
    if date_tokens is None:
        defects.append("no-date")
        return None, None
    date_text = " ".join(t.text for t in date_tokens if t.kind not in (COMMENT, SEMI))
    date, date_defect = parse_date(date_text)
    if date_defect:
        defects.append(date_defect)
    return date, date_text or None


def _for_address(value: str | None) -> str | None:
    """The `for` clause as one address: a list (`for a b`) or Exchange's `MultipleRecipients` is none."""
    if value is not None and (" " in value.strip() or value.lower() == "multiplerecipients"):
        return None
    return value or None
