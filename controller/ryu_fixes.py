"""Fixes for Ryu 4.34 bugs that this app runs into, applied when :mod:`controller.app` is imported.

OpenFlow over TLS: Ryu's ``hub.StreamServer`` builds its TLS context from keyword arguments that it
*pops* on the first connection, so every later switch is wrapped without a certificate ("certfile
must be specified for server-side operations") and only one switch can ever connect; and a failed
handshake (a client without a valid certificate) ends in an uncaught traceback. :func:`serve_tls`
replaces the TLS branch of ``OpenFlowController.server_loop`` with one context made once, every
connection wrapped with it, and a failed handshake logged in one line.

(The other Ryu 4.34 fix, ``eventlet.wsgi.ALREADY_HANDLED``, must happen before Ryu is imported at
all: see :mod:`controller.launch`.)
"""
from __future__ import annotations

import logging
import ssl

from ryu.controller import controller as ryu_controller
from ryu.lib import hub

LOG = logging.getLogger("controller.ryu_fixes")
_original_server_loop = ryu_controller.OpenFlowController.server_loop


def tls_context(certfile: str, keyfile: str, ca_certs: str | None) -> ssl.SSLContext:
    """A server context for OpenFlow: TLS 1.2 or newer, client certificates required when ``ca_certs`` is given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    if ca_certs:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(ca_certs)
    return ctx


def check_tls(conf) -> str | None:
    """Why the TLS options of ``conf`` cannot work (one line), or None if they can (or are not set).

    Checked at start: inside Ryu's server thread a bad file would leave the controller with no
    OpenFlow listener at all, and one of the two options alone would silently mean plain TCP.
    """
    if conf.ctl_privkey is None and conf.ctl_cert is None:
        return None
    if conf.ctl_privkey is None or conf.ctl_cert is None:
        return "OpenFlow over TLS needs both ctl_privkey and ctl_cert"
    try:
        tls_context(conf.ctl_cert, conf.ctl_privkey, conf.ca_certs)
    except (OSError, ssl.SSLError) as exc:
        return f"OpenFlow over TLS: cannot use ctl_cert {conf.ctl_cert}, ctl_privkey {conf.ctl_privkey}, " \
               f"ca_certs {conf.ca_certs}: {exc}"
    return None


def serve_tls(self, ofp_tcp_listen_port, ofp_ssl_listen_port):
    conf = ryu_controller.CONF
    if conf.ctl_privkey is None or conf.ctl_cert is None:
        return _original_server_loop(self, ofp_tcp_listen_port, ofp_ssl_listen_port)
    ctx = tls_context(conf.ctl_cert, conf.ctl_privkey, conf.ca_certs)

    def handle(sock, address):
        sock.settimeout(conf.socket_timeout)  # a client that never completes the handshake is dropped
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            LOG.warning("te: TLS handshake with %s failed, connection refused: %s", address, exc)
            sock.close()
            return
        ryu_controller.datapath_connection_factory(tls, address)

    hub.StreamServer((conf.ofp_listen_host, ofp_ssl_listen_port), handle).serve_forever()


ryu_controller.OpenFlowController.server_loop = serve_tls
