"""Headless Chromium driven over the DevTools protocol on a pipe: open a page, read its DOM, watch it, screenshot it.

Standard library only: `--remote-debugging-pipe` speaks NUL-terminated JSON on file descriptors 3 (commands)
and 4 (replies and events), so no websocket client, driver binary or browser download is needed. Used by the
browser tests (tests/browser) and by `python -m tools.gen_screenshot`.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# Root in a container needs --no-sandbox; the rest keeps Chromium from calling home (updates, sync, field
# trials), so a test that counts network requests counts only the page's.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """The Chromium binary: `$IMSDIAG_CHROMIUM`, /usr/bin/chromium, or one on PATH; None when there is none."""
    env = os.environ.get("IMSDIAG_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


class Browser:
    """One Chromium process with one page target attached; `send` a command, `events` collects the rest."""

    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self._proc = proc
        self._out = to_browser
        self._in = from_browser
        self._buffer = b""
        self._next_id = 0
        self._session: str | None = None
        self.events: list[dict[str, Any]] = []
        """Every event received so far, in order (method, params, sessionId)."""

    # --- protocol ---

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self._out, data)
            data = data[written:]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 16)
                if not chunk:
                    raise BrowserError(f"Chromium closed the pipe (exit {self._proc.poll()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0, page: bool = True) -> Any:
        """Send one command (to the page unless `page` is false) and return its result; events are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page and self._session:
            message["sessionId"] = self._session
        self._write(message)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first event named `method` (already received or the next to come)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message

    def events_named(self, *methods: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("method") in methods]

    # --- a page ---

    def attach(self) -> None:
        """Open one blank page and talk to it from now on."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, page=False)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def open(self, url: str, width: int = 1100, height: int = 900, dark: bool = False) -> None:
        """Load `url` at the given viewport and colour scheme, and wait until it has loaded."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        scheme = "dark" if dark else "light"
        self.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DevTools runs it whatever the page's CSP says)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, full_page: bool = True) -> bytes:
        """A PNG of the page (the whole page when `full_page`)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        return base64.b64decode(self.send("Page.captureScreenshot", params)["data"])

    def pdf(self) -> bytes:
        """The page printed (print media), as a PDF."""
        return base64.b64decode(self.send("Page.printToPDF", {"printBackground": False})["data"])

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (a CSP violation is one) since the load."""
        out = []
        for e in self.events_named("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"):
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(str(p.get("exceptionDetails", {}).get("text", "exception")))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(str(p["entry"].get("text", "")))
        return out

    def requests(self) -> list[str]:
        """The URLs of every request the page made since the load (the page itself included)."""
        return [e["params"]["request"]["url"] for e in self.events_named("Network.requestWillBeSent")]


@contextmanager
def chromium(binary: str | None = None) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, one page attached; closed (and its profile removed) on exit."""
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found (install the Debian package `chromium`)")
    profile = tempfile.mkdtemp(prefix="imsdiag-chromium-")
    # The pipes must sit on descriptors 3 and 4 in the child: the protocol's fixed numbers.
    cmd_read, cmd_write = os.pipe()
    reply_read, reply_write = os.pipe()

    def child_fds() -> None:
        # Moved above 10 first: either pipe end may itself be 3 or 4.
        high_cmd, high_reply = fcntl.fcntl(cmd_read, fcntl.F_DUPFD, 10), fcntl.fcntl(reply_write, fcntl.F_DUPFD, 10)
        os.dup2(high_cmd, 3)
        os.dup2(high_reply, 4)

    proc = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # subprocess closes every other descriptor *after* preexec_fn when close_fds is on, which would take 3
        # and 4 away again; off, only inheritable descriptors survive exec, and os.pipe() makes none.
        close_fds=False,
        preexec_fn=child_fds,  # safe here: neither the tests nor the tool start threads
    )
    os.close(cmd_read)
    os.close(reply_write)
    browser = Browser(proc, cmd_write, reply_read)
    try:
        browser.attach()
        yield browser
    finally:
        with suppress(BrowserError, OSError):
            browser.send("Browser.close", page=False, timeout=5)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(cmd_write)
        os.close(reply_read)
        shutil.rmtree(profile, ignore_errors=True)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
