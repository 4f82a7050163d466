"""The dashboard rendered by headless Chromium from real data: the DOM it builds and the pixels it draws.

Until the controller serves the page itself, a local HTTP server serves
controller/dashboard/index.html at /dashboard/ and the API answers captured in
tests/data/b4_snapshot.json (a real TE solve of B4, see make_b4_snapshot.py).
Screenshots are kept in results/e2e/<test>/.
"""
import json
import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "controller" / "dashboard" / "index.html"
SNAPSHOT = json.loads((REPO / "tests" / "data" / "b4_snapshot.json").read_text())
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="headless Chromium is missing (apt-get install chromium)")


class SnapshotHandler(BaseHTTPRequestHandler):
    """The page at / and /dashboard/, and GET /te/v1/<what> from the snapshot."""

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/", "/dashboard/"):
            self._send(200, "text/html; charset=utf-8", PAGE.read_bytes())
        elif path.startswith("/te/v1/") and path[len("/te/v1/"):] in SNAPSHOT:
            self._send(200, "application/json", json.dumps(SNAPSHOT[path[len("/te/v1/"):]]).encode())
        else:
            self._send(404, "application/json", b'{"error": "not found"}')

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SnapshotHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def chromium(url: str, profile: Path, *what) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--window-size=1280,900", "--virtual-time-budget=5000", *what, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("prefix", ["/", "/dashboard/"])
def test_dom_shows_every_link_and_intent(server, tmp_path, prefix):
    result = chromium(server + prefix, tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    assert "<svg" in dom, f"no DOM from chromium: {result.stderr[-2000:]}"
    links = SNAPSHOT["links"]["links"]
    drawn = re.findall(r'<line [^>]*class="link[^"]*"[^>]*data-util="([0-9.]*)"', dom)
    assert len(drawn) == len(links)
    assert sorted(float(u) for u in drawn) == pytest.approx(sorted(round(l["utilization"], 3) for l in links))
    for s in SNAPSHOT["topology"]["switches"]:
        assert f'data-dpid="{s["dpid"]}"' in dom
    rows = re.findall(r'<tr data-intent="([^"]+)">(.*?)</tr>', dom)
    allocations = SNAPSHOT["allocations"]["allocations"]
    assert [r[0] for r in rows] == [a["intent_id"] for a in allocations]
    for (_, html), a in zip(rows, allocations):
        assert a["state"] in html and (a["name"] or "") in html
    assert "12 switches, 38 links, 6 intents" in dom
    assert "max-min: optimal" in dom


def _count_near(image: np.ndarray, rgb, tolerance=18) -> int:
    return int((np.abs(image[:, :, :3].astype(int) - np.array(rgb)).max(axis=2) <= tolerance).sum())


def test_screenshot_draws_the_utilisation_colours(server, tmp_path, request):
    shot = REPO / "results" / "e2e" / request.node.name / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    result = chromium(server + "/dashboard/", tmp_path / "profile", f"--screenshot={shot}")
    assert shot.exists(), f"no screenshot: {result.stderr[-2000:]}"
    image = (matplotlib.image.imread(shot) * 255).round().astype(np.uint8)
    assert image.shape[:2] == (900, 1280)
    utilisations = [l["utilization"] for l in SNAPSHOT["links"]["links"]]
    # The page's scale: idle green rgb(26,152,80), full red rgb(215,48,39). The snapshot has idle
    # links and links at 90%, so both ends of the scale must cover real area (beyond the legend).
    assert min(utilisations) == 0 and max(utilisations) >= 0.9
    assert _count_near(image, (26, 152, 80)) > 1500
    assert _count_near(image, (205, 58, 41), tolerance=25) > 500
    # Allocated and measured bars of the six intents.
    assert _count_near(image, (0x1f, 0x77, 0xb4)) > 400  # the legend key alone has about 150
    assert _count_near(image, (0xff, 0x7f, 0x0e)) > 400


def test_unreachable_api_is_reported_on_the_page(tmp_path):
    page = tmp_path / "index.html"
    page.write_bytes(PAGE.read_bytes())
    dom = chromium(page.as_uri(), tmp_path / "profile", "--dump-dom").stdout
    assert 'class="error"' in dom and "controller unreachable" in dom
