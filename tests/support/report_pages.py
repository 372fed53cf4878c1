"""Reading a written HTML report back: its tags parsed, and opened from disk in headless Chromium."""

import html.parser
import os
import subprocess
import urllib.parse

from tfxmodal.face2music import report


class Page(html.parser.HTMLParser):
    """Collects start tags (name, attrs) and the text of the parsed page."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag):
        return [attrs for name, attrs in self.tags if name == tag]


# ---------------------------------------------------------------- browser


def load_status(chromium, index, profile):
    """Opens `index` from disk in headless Chromium; returns #load-status's attributes."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--autoplay-policy=no-user-gesture-required",
        "--virtual-time-budget=15000",
        "--dump-dom",
        "file://" + urllib.parse.quote(os.path.abspath(index)),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    found = [attrs for name, attrs in Page(result.stdout).tags if attrs.get("id") == report.STATUS_ID]
    assert len(found) == 1, f"no #{report.STATUS_ID} in the dumped DOM: {result.stdout[:500]!r}"
    status = found[0]
    assert status.get("data-state") == "done", f"load check did not finish: {status}"
    return status
