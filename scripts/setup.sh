#!/usr/bin/env bash
# One-time (and idempotent) set-up on Debian 12 as root:
#   apt packages, Open vSwitch running with the userspace datapath, and the
#   project venv at .venv/ with Ryu 4.34 and every other dependency pinned.
# Quiet when there is nothing to do; says what it does on the slow steps.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say()  { printf '[setup] %s\n' "$*" >&2; }
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (apt-get, Open vSwitch and Mininet need it)"

# --- apt packages ---------------------------------------------------------
APT_PKGS=(openvswitch-switch mininet iperf3 iputils-ping ethtool iproute2 procps
          python3-venv python3-dev sqlite3 chromium openssl
          etcd-server etcd-client)  # etcd: several controllers (intent_store = etcd://...), their tests and demo
# Prometheus for scripts/monitor.sh and tests/e2e/test_prometheus.py: the binary (and promtool) only, without
# the node exporter it recommends; its system service, which would listen on every interface, is left off.
APT_NORECOMMENDS=(prometheus)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${APT_PKGS[@]}"; do installed "$p" || missing+=("$p"); done
missing_norec=()
for p in "${APT_NORECOMMENDS[@]}"; do installed "$p" || missing_norec+=("$p"); done
if [ $(( ${#missing[@]} + ${#missing_norec[@]} )) -gt 0 ]; then
  say "installing apt packages: ${missing[*]} ${missing_norec[*]} (a minute or two)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/tmp/te-setup-apt.log 2>&1 || { cat /tmp/te-setup-apt.log >&2; fail "apt-get update failed"; }
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get install -y -qq "${missing[@]}" >>/tmp/te-setup-apt.log 2>&1 \
      || { tail -20 /tmp/te-setup-apt.log >&2; fail "apt-get install failed (log: /tmp/te-setup-apt.log)"; }
  fi
  if [ ${#missing_norec[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${missing_norec[@]}" >>/tmp/te-setup-apt.log 2>&1 \
      || { tail -20 /tmp/te-setup-apt.log >&2; fail "apt-get install failed (log: /tmp/te-setup-apt.log)"; }
    if [ -d /run/systemd/system ] && [[ " ${missing_norec[*]} " == *" prometheus "* ]]; then
      say "stopping and disabling the prometheus system service (scripts/monitor.sh runs one on 127.0.0.1)"
      systemctl disable --now prometheus.service >>/tmp/te-setup-apt.log 2>&1 || true
    fi
  fi
fi

# --- Open vSwitch (no kernel module here: userspace datapath) -------------
if ! ovs-vsctl --timeout=5 show >/dev/null 2>&1; then
  say "starting Open vSwitch"
  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/tmp/te-setup-ovs.log 2>&1 || true
  ovs-vsctl --timeout=10 show >/dev/null 2>&1 || { cat /tmp/te-setup-ovs.log >&2; fail "Open vSwitch did not start"; }
fi

# --- Python venv -----------------------------------------------------------
# Debian's python3 with system site-packages, so Debian's Mininet (and mnexec) is visible.
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the venv at .venv/"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
PIP=("$VENV/bin/pip" --disable-pip-version-check -q)
stamp="$VENV/.te-setup-stamp"
want=$(cat requirements.txt setup.cfg pyproject.toml scripts/ryu_eventlet_compat.py scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into .venv/ (a few minutes on a fresh machine)"
  log=/tmp/te-setup-pip.log
  {
    "${PIP[@]}" install "setuptools<68" pbr wheel &&
    "${PIP[@]}" install --no-build-isolation ryu==4.34 &&
    "${PIP[@]}" install -r requirements.txt &&
    "${PIP[@]}" install --no-build-isolation --no-deps -e .
  } >"$log" 2>&1 || { tail -30 "$log" >&2; fail "pip install failed (log: $log)"; }
  # Ryu 4.34 + eventlet >= 0.30.3: put eventlet.wsgi.ALREADY_HANDLED back at import time.
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cp scripts/ryu_eventlet_compat.py "$site/ryu_eventlet_compat.py"
  echo "import ryu_eventlet_compat" > "$site/ryu_eventlet_compat.pth"
  "$VENV/bin/ryu-manager" --version >/dev/null 2>&1 || fail "ryu-manager does not start in .venv/"
  echo "$want" > "$stamp"
fi
