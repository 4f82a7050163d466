"""``te-controller`` for real, without switches: it starts from a config file, serves the API and listens on
loopback only, both when the file says 127.0.0.1 and when it says nothing. (The app refuses to start
without link discovery, so an answering API also shows that te-controller turned it on.)"""
import configparser
import importlib.util
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from topologies.lab.control import free_port  # outside the ephemeral range (see there)

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ryu") is None,
                                reason="Ryu is not installed (pip install .[controller])")


def listening(port: int) -> set:
    """The local addresses of TCP sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                out.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]) if len(address) == 8
                        else address)
    return out


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, json.loads(response.read())


@pytest.mark.parametrize("hosts", [True, False], ids=["hosts-in-the-file", "hosts-left-out"])
def test_te_controller_serves_the_api_and_listens_on_loopback_only(tmp_path, hosts):
    ofp_port, api_port = free_port(), free_port()
    lines = ["[DEFAULT]", f"ofp_tcp_listen_port = {ofp_port}", f"wsapi_port = {api_port}"]
    if hosts:
        lines += ["ofp_listen_host = 127.0.0.1", "wsapi_host = 127.0.0.1"]
    conf = tmp_path / "te.conf"
    conf.write_text("\n".join(lines + ["", "[te]", "intent_store =", ""]))
    log = tmp_path / "controller.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "controller.launch", "--config-file", str(conf)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"te-controller exited with {proc.returncode}:\n{log.read_text()}"
            try:
                answer = get_json(f"http://127.0.0.1:{api_port}/te/v1/intents")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"no API within 30 s:\n{log.read_text()}"
                time.sleep(0.2)
        assert answer == (200, {"intents": []})
        assert listening(ofp_port) == {"127.0.0.1"}, log.read_text()
        assert listening(api_port) == {"127.0.0.1"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_sample_config_listens_on_loopback_with_link_discovery():
    cp = configparser.ConfigParser()
    cp.read(REPO / "etc" / "te.conf")
    ryu = cp.defaults()
    assert (ryu["ofp_listen_host"], ryu["wsapi_host"], cp.getboolean("DEFAULT", "observe_links")) == \
        ("127.0.0.1", "127.0.0.1", True)
    assert "te-controller --config-file etc/te.conf" in (REPO / "etc" / "te.conf").read_text()
