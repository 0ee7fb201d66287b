"""The HTML reports in a real browser (headless Chromium): they load nothing, log no error, and draw the loop.

Marked slow. Without Chromium they are skipped, except in CI (`CI` set), where a missing browser fails them:
.ci/run installs Debian's `chromium` when it is absent.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from imsdiag.engine import scan
from imsdiag.explain import explain
from imsdiag.reporters import ReportOptions, get_explain_reporter, get_reporter
from imsdiag.result import ScanResult
from imsdiag.settings import ScanSettings
from tools.headless import Browser, chromium, file_url, find_chromium, png_size

from ..conftest import LOG_SAMPLES, ROOT, SAMPLES

pytestmark = pytest.mark.slow

SCENARIOS = list(LOG_SAMPLES)
Q178436 = "q178436-site-connector"
WIDTH = 1100


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run should have installed the Debian package `chromium`")
        pytest.skip("no Chromium here (apt-get install chromium)")
    with chromium(binary) as b:
        yield b


@pytest.fixture(scope="module")
def results() -> dict[str, ScanResult]:
    cwd = Path.cwd()
    os.chdir(ROOT)  # paths as a user types them from the checkout's root
    try:
        return {name: scan(ScanSettings(paths=(f"sample_logs/{name}",), jobs=1)) for name in SCENARIOS}
    finally:
        os.chdir(cwd)


def _page(tmp: Path, name: str, html: str) -> str:
    path = tmp / name
    path.write_text(html, encoding="utf-8")
    return file_url(path)


def _scan_html(result: ScanResult) -> str:
    out = io.StringIO()
    get_reporter("html", ReportOptions(tool_version="test")).report(result, out)
    return out.getvalue()


def _open_clean(browser: Browser, url: str, **kw: object) -> None:
    """Open the page and check it logged no error and asked for nothing but itself."""
    browser.open(url, **kw)  # type: ignore[arg-type]
    assert browser.console_errors() == []
    assert browser.requests() == [url]
    assert browser.evaluate("document.scripts.length") == 0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sample_report_loads_cleanly(
    browser: Browser, results: dict[str, ScanResult], scenario: str, tmp_path: Path
) -> None:
    result = results[scenario]
    url = _page(tmp_path, f"{scenario}.html", _scan_html(result))
    _open_clean(browser, url)
    assert browser.evaluate("document.querySelectorAll('section.finding').length") == len(result.findings)
    rings = browser.evaluate("[...document.querySelectorAll('svg.ring')].map(s => s.querySelectorAll('g.node').length)")
    assert rings == [len(f.hosts) for f in result.findings if f.hosts]
    # Every drawing fits its box: no node or label is cut off at the edge of its SVG.
    outside = browser.evaluate(
        "[...document.querySelectorAll('svg')].flatMap(svg => { const vb = svg.viewBox.baseVal;"
        " return [...svg.querySelectorAll('circle, text')].filter(e => { const b = e.getBBox();"
        " return b.x < -1 || b.y < -1 || b.x + b.width > vb.width + 1 || b.y + b.height > vb.height + 1; })"
        ".map(e => e.textContent || e.tagName); })"
    )
    assert outside == []


def test_q178436_ring_and_pass_marks(browser: Browser, results: dict[str, ScanResult], tmp_path: Path) -> None:
    (finding,) = results[Q178436].findings
    _open_clean(browser, _page(tmp_path, "q.html", _scan_html(results[Q178436])))
    hosts = browser.evaluate("[...document.querySelectorAll('svg.ring g.node')].map(g => g.dataset.host)")
    assert hosts == list(finding.hosts) == ["imc1.company.com", "relay.company.com"]
    roles = browser.evaluate("[...document.querySelectorAll('svg.ring g.node .role')].map(t => t.textContent)")
    assert roles == ["IMS", "relay"]
    counts = browser.evaluate("[...document.querySelectorAll('svg.ring g.hop .count')].map(t => t.textContent)")
    assert counts == ["×42", "×42"]
    rows = browser.evaluate(
        "[...document.querySelectorAll('svg.timeline g.row')].map(g => g.querySelectorAll('.pass-mark').length)"
    )
    assert max(rows) == finding.passes == 42
    assert rows == [e.count for e in finding.edges]
    # The marks are drawn (a visible size), left to right in time order.
    xs = browser.evaluate(
        "[...document.querySelector('svg.timeline g.row').querySelectorAll('.pass-mark')]"
        ".map(m => m.getBoundingClientRect()).map(r => [r.x, r.height])"
    )
    assert all(h > 5 for _, h in xs) and [x for x, _ in xs] == sorted(x for x, _ in xs)


def _distinct_bytes(png: bytes) -> int:
    """How many distinct byte values the image data holds: a blank page has a handful, a report hundreds."""
    data, pos = b"", 8
    while pos < len(png):
        length = int.from_bytes(png[pos : pos + 4], "big")
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(data)))


def test_screenshot_has_the_report_in_it(browser: Browser, results: dict[str, ScanResult], tmp_path: Path) -> None:
    _open_clean(browser, _page(tmp_path, "q.html", _scan_html(results[Q178436])), width=WIDTH, height=900)
    shot = browser.screenshot()
    width, height = png_size(shot)
    assert width == WIDTH and 1500 < height < 20000
    browser.open(_page(tmp_path, "blank.html", "<!DOCTYPE html><title>x</title>"), width=WIDTH, height=900)
    blank = browser.screenshot(full_page=False)
    assert png_size(blank) == (WIDTH, 900)
    assert _distinct_bytes(blank) < 16 < 100 < _distinct_bytes(shot)
    assert len(shot) > 20 * len(blank)


def test_dark_scheme_and_print(browser: Browser, results: dict[str, ScanResult], tmp_path: Path) -> None:
    url = _page(tmp_path, "q.html", _scan_html(results[Q178436]))
    background = "getComputedStyle(document.body).backgroundColor"
    _open_clean(browser, url)
    light = browser.evaluate(background)
    _open_clean(browser, url, dark=True)
    assert browser.evaluate(background) != light
    pdf = browser.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_explain_page(browser: Browser, tmp_path: Path) -> None:
    settings = ScanSettings(paths=(str(SAMPLES / Q178436),), jobs=1)
    expl = explain("47CE0B8704CBB1EB0296855D0288EA65@imc1.company.com", settings)
    out = io.StringIO()
    get_explain_reporter("html", ReportOptions(tool_version="test")).report(expl, out)
    _open_clean(browser, _page(tmp_path, "explain.html", out.getvalue()))
    assert browser.evaluate("document.querySelectorAll('table.story tbody tr').length") == len(expl.sightings)
    marks = browser.evaluate("document.querySelectorAll('figure.story svg.timeline .pass-mark').length")
    assert marks == sum(1 for s in expl.sightings if s.event.time is not None)
    assert browser.evaluate("document.querySelectorAll('section[id^=loop] svg.ring g.node').length") == 2


def test_hostile_page_stays_text(browser: Browser, tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.reporters.conftest import Q178436_FINDING, make_result

    payload = "<script>document.title='pwned'</script>\"'><img src=x onerror=alert(1)>javascript:alert(1)\u202e"
    hostile = replace(
        Q178436_FINDING,
        title=payload,
        summary=payload,
        hosts=(payload, "relay.company.com"),
        addresses=(payload,),
        fix=(payload,),
    )
    url = _page(tmp_path, "hostile.html", _scan_html(make_result(hostile)))
    _open_clean(browser, url)
    assert browser.evaluate("document.images.length") == 0
    assert (
        browser.evaluate(
            "[...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
        )
        is False
    )
    assert "pwned" not in browser.evaluate("document.title")
    assert "<script>document.title='pwned'</script>" in browser.evaluate("document.querySelector('p.key').textContent")


@pytest.mark.parametrize("n", [3, 4, 5])
def test_bigger_rings_fit_and_labels_do_not_overlap(browser: Browser, n: int, tmp_path: Path) -> None:
    from dataclasses import replace

    from imsdiag.reporters.html_layout import LABEL_LIMIT
    from tests.reporters.conftest import Q178436_FINDING, make_result

    hosts = tuple(f"host{i}." + "x" * (LABEL_LIMIT + 5) + ".example" for i in range(n))
    _open_clean(browser, _page(tmp_path, "ring.html", _scan_html(make_result(replace(Q178436_FINDING, hosts=hosts)))))
    boxes = browser.evaluate(
        "(() => { const svg = document.querySelector('svg.ring'); const vb = svg.viewBox.baseVal;"
        " return [vb.width, vb.height, [...svg.querySelectorAll('g.node')].map(g => {"
        " const c = g.querySelector('circle').getBBox(), t = g.querySelector('text.host').getBBox();"
        " return [[c.x, c.y, c.width, c.height], [t.x, t.y, t.width, t.height]]; })]; })()"
    )
    width, height, nodes = boxes
    assert len(nodes) == n
    rects = [r for node in nodes for r in node]
    for x, y, w, h in rects:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
    labels = [node[1] for node in nodes]
    for i, (ax, ay, aw, ah) in enumerate(labels):
        for bx, by, bw, bh in labels[i + 1 :]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, "labels overlap"
