"""Reading an HTML report without a browser: its elements, attributes and text, and what a safe report must be."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Every element the report templates write; anything else in a report came from somewhere it should not.
ALLOWED_TAGS = frozenset(
    {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "main",
        "footer",
        "nav",
        "section",
        "figure",
        "figcaption",
        "h1",
        "h2",
        "h3",
        "p",
        "span",
        "div",
        "a",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "svg",
        "g",
        "circle",
        "path",
        "polygon",
        "text",
        "line",
    }
)
VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "wbr"})
SVG_LEAVES = frozenset({"circle", "path", "polygon"})  # written self-closed (<path .../>)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    classes: tuple[str, ...]


@dataclass
class Page(HTMLParser):
    """The parsed page: every element in order, the text, and nesting errors."""

    elements: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stack: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append(Element(tag, values, tuple(values.get("class", "").split())))
        if tag not in VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append(Element(tag, values, tuple(values.get("class", "").split())))

    def handle_endtag(self, tag: str) -> None:
        if not self._stack or self._stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self._stack[-1:] or 'nothing'}")
            return
        self._stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    if page._stack:
        page.errors.append(f"unclosed: {page._stack}")
    return page


def safety_problems(html: str) -> list[str]:
    """Why this page is not a self-contained, script-free report (empty when it is one)."""
    page = parse(html)
    problems = list(page.errors)
    csp = [e for e in page.find("meta") if e.attrs.get("http-equiv", "").lower() == "content-security-policy"]
    if len(csp) != 1 or "default-src 'none'" not in csp[0].attrs.get("content", ""):
        problems.append("no Content-Security-Policy meta with default-src 'none'")
    for e in page.elements:
        if e.tag not in ALLOWED_TAGS:
            problems.append(f"element <{e.tag}>")
        for name, value in e.attrs.items():
            if name.startswith("on"):
                problems.append(f"event handler {name}= on <{e.tag}>")
            if name in ("src", "srcset", "xlink:href", "action", "formaction", "background", "poster"):
                problems.append(f"{name}= on <{e.tag}>")
            if name == "href" and not value.startswith("#"):
                problems.append(f"link out of the page: {value!r}")
            if name == "style":
                problems.append(f"style attribute on <{e.tag}>")
            if "javascript:" in value.lower().replace(" ", "") and name in ("href", "src", "action"):
                problems.append(f"javascript: URL in {name}")
    return problems
