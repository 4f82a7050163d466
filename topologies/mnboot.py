"""Make the topology files usable as ``mn --custom topologies/<file>.py``.

``mn`` is a script of Debian's ``/usr/bin/python3``, which sees neither this
repository nor the venv's packages (networkx).  Each topology file calls
:func:`prepare` when it is executed by ``mn --custom`` rather than imported:
the repository goes on ``sys.path`` and, if networkx is missing, ``mn`` is
started again, with the same arguments, under the project's venv Python
(which sees Debian's Mininet through ``--system-site-packages``).

This module uses the standard library only, on purpose (under the venv it then lets
:func:`topologies.net.lenient_controller_probe` fix Mininet's probe of the controller).
"""
import importlib.util
import os
import sys


def prepare(topology_file):
    """Put the repository root on ``sys.path``; re-exec ``mn`` in the venv if needed.

    Parameters
    ----------
    topology_file : str
        Path of the topology file being executed (its parent's parent is the
        repository root).
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(topology_file)))
    if root not in sys.path:
        sys.path.insert(0, root)
    if importlib.util.find_spec("networkx") is not None:
        # In the venv now: make mn's probe of the remote controller survive its HELLO (topologies.net).
        from topologies.net import lenient_controller_probe
        lenient_controller_probe()
        return
    venv_python = os.path.join(root, ".venv", "bin", "python")
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(root, ".venv"))
    if in_venv or not os.path.exists(venv_python):
        sys.exit("topologies: networkx is missing; run scripts/setup.sh to create .venv/")
    os.execv(venv_python, [venv_python] + sys.argv)
