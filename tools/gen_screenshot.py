"""Write docs/images/html-report.png: the HTML report of the Q178436 sample, from its top to the pass timeline.

`python -m tools.gen_screenshot` (needs Debian's `chromium`); the README and docs/output-formats.md show it.
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
import tempfile
from pathlib import Path

from imsdiag.engine import scan
from imsdiag.reporters import ReportOptions, get_reporter
from imsdiag.settings import ScanSettings

from .headless import chromium, file_url, find_chromium, png_size

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "sample_logs/q178436-site-connector"
OUT = ROOT / "docs" / "images" / "html-report.png"
WIDTH = 1000


def report_html(sample: str = SAMPLE) -> str:
    """The sample's HTML report, paths relative to the checkout as a user types them there."""
    result = scan(ScanSettings(paths=(str(ROOT / sample),), jobs=1, use_index=False))
    out = io.StringIO()
    get_reporter("html", ReportOptions(tool_version="")).report(result, out)
    # The scan was given an absolute path so this works from any folder; the picture shows the short one.
    return out.getvalue().replace(str(ROOT) + "/", "")


def screenshot(html: str, width: int = WIDTH) -> bytes:
    """The page from its top to the end of the first pass timeline (the whole page if it has none)."""
    with tempfile.TemporaryDirectory(prefix="imsdiag-shot-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        with chromium() as browser:
            browser.open(file_url(page), width=width, height=900)
            bottom = browser.evaluate(
                "(() => { const f = document.querySelector('svg.timeline');"
                " const box = (f ? f.closest('figure') : document.body).getBoundingClientRect();"
                " return Math.ceil(box.bottom + window.scrollY + 16); })()"
            )
            clip = {"x": 0, "y": 0, "width": width, "height": int(bottom), "scale": 1}
            shot = browser.send(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
            )
            return base64.b64decode(shot["data"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("gen_screenshot: no Chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    png = screenshot(report_html())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(png)
    width, height = png_size(png)
    print(f"gen_screenshot: wrote {args.out} ({width}x{height}, {len(png):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
