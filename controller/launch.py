"""``te-controller``: start the TE controller with one short command.

::

    te-controller --config-file etc/te.conf [more ryu-manager options]

is Ryu's manager running :mod:`controller.app` with link discovery on (the app needs it). Where it
listens comes from the config file's ``[DEFAULT]`` section, where Ryu reads its own options:
``ofp_listen_host``, ``ofp_tcp_listen_port``, ``wsapi_host``, ``wsapi_port`` and, for OpenFlow over
TLS, ``ctl_privkey``, ``ctl_cert``, ``ca_certs`` and ``ofp_ssl_listen_port`` (``etc/te.conf`` shows
them all). Options on the command line win over the file.

Unlike ``ryu-manager``, whose listeners default to 0.0.0.0 (and open the legacy port 6633 too),
``te-controller`` listens on 127.0.0.1:6653 (OpenFlow) and 127.0.0.1:8080 (REST) unless told
otherwise: anything that reaches the OpenFlow port can pose as a switch, and the REST API changes
what the network carries.

It also carries the fix that lets Ryu 4.34 start with an eventlet from 0.30.3 on, so it works from
any install (``pip install .[controller]``), not only from the project's venv.
"""
from __future__ import annotations

import sys

APP = "controller.app"
# Ryu options whose Ryu defaults (0.0.0.0, and 6653 plus 6633 when no port is set) are replaced.
# Echo requests every 2 s, and a connection that leaves 3 unanswered is dead: Ryu's default never gives up
# on a silently dead connection, so the switch would never be held (switch_hold_time) as one that is gone.
DEFAULTS = {"ofp_listen_host": "127.0.0.1", "ofp_tcp_listen_port": 6653, "wsapi_host": "127.0.0.1",
            "echo_request_interval": 2.0, "maximum_unreplied_echo_requests": 3}


def ryu_args(argv) -> list:
    """The ``ryu-manager`` arguments for ``te-controller ARGV``.

    The app and link discovery come last, so that nothing before can turn them off.

    >>> ryu_args(["--config-file", "etc/te.conf"])
    ['--config-file', 'etc/te.conf', '--observe-links', '--app-lists', 'controller.app']
    """
    return [*argv, "--observe-links", "--app-lists", APP]


def restore_already_handled() -> None:
    """Give ``eventlet.wsgi`` back the ``ALREADY_HANDLED`` that ``ryu.app.wsgi`` imports.

    Eventlet removed it in 0.30.3, and 0.30.2 (the last that has it) crashes on Python 3.11; Ryu
    only needs the name to exist. Must run before ``ryu.app.wsgi`` is first imported.
    """
    import eventlet.wsgi

    if not hasattr(eventlet.wsgi, "ALREADY_HANDLED"):
        eventlet.wsgi.ALREADY_HANDLED = []


def main(argv=None) -> None:
    """Entry point of ``te-controller``; runs until the process is stopped (SIGTERM)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    restore_already_handled()
    # Imported here, after the fix: importing Ryu's manager imports ryu.app.wsgi and registers the
    # options whose defaults change below (it also monkey-patches the process for eventlet).
    from ryu import cfg
    from ryu.cmd import manager

    for name, value in DEFAULTS.items():
        cfg.CONF.set_default(name, value)
    manager.main(args=ryu_args(argv), prog="te-controller")


if __name__ == "__main__":
    main()
