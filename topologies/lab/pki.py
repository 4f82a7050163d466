"""Certificates for OpenFlow over TLS in the lab: one CA, a controller certificate and a switch certificate.

Made with ``openssl`` (as ``ovs-pki`` would, without its global directory). Open vSwitch's side is
set with :func:`ovs_ssl`, which is global to the machine's ovsdb: the lab lock makes labs take turns,
and it is removed again on the way out.
"""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path


def _openssl(*args, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(dest: Path) -> dict:
    """Write ``ca.pem``, ``controller-{key,cert}.pem`` and ``switch-{key,cert}.pem`` to ``dest``; their paths."""
    dest.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sdn-te lab CA",
             "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=dest)
    for who in ("controller", "switch"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=sdn-te lab {who}",
                 "-keyout", f"{who}-key.pem", "-out", f"{who}.csr", cwd=dest)
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-days", "2", "-out", f"{who}-cert.pem", cwd=dest)
    return {name: str(dest / f"{name}.pem") for name in
            ("ca", "controller-key", "controller-cert", "switch-key", "switch-cert")}


def controller_tls(pki: dict) -> dict:
    """The ``tls`` argument of :class:`topologies.lab.Controller` for ``pki``."""
    return {"privkey": pki["controller-key"], "cert": pki["controller-cert"], "ca_certs": pki["ca"]}


@contextmanager
def ovs_ssl(pki: dict):
    """Open vSwitch presents the switch certificate and trusts the lab CA while inside; removed after."""
    subprocess.run(["ovs-vsctl", "--timeout=10", "set-ssl", pki["switch-key"], pki["switch-cert"], pki["ca"]],
                   check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["ovs-vsctl", "--timeout=10", "del-ssl"], capture_output=True)
